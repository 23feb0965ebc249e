"""Textbook results in SI units: Nernst, Goldman-Hodgkin-Katz, chord conductance, Q = C V.

References: Hille, *Ion Channels of Excitable Membranes*, 3rd ed. (2001), chapters 1 and 14;
Goldman (1943) J Gen Physiol 27:37; Hodgkin & Katz (1949) J Physiol 108:37.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from channelsim.constants import BOLTZMANN, ELEMENTARY_CHARGE, FARADAY, GAS_CONSTANT, VALENCE


def thermal_voltage(temperature_K: float) -> float:
    """RT/F in volts (26.7 mV at 37 degC)."""
    return GAS_CONSTANT * temperature_K / FARADAY


def nernst_potential(valence: int, inside_M: float, outside_M: float, temperature_K: float) -> float:
    """Equilibrium potential E = (RT/zF) ln(c_out/c_in) in volts (any common concentration unit)."""
    return thermal_voltage(temperature_K) / valence * math.log(outside_M / inside_M)


def ghk_potential(permeability: Mapping[str, float], inside: Mapping[str, float],
                  outside: Mapping[str, float], temperature_K: float) -> float:
    """Zero-current GHK voltage for monovalent ions (K, Na, Cl), in volts.

    V = (RT/F) ln[(sum_cations P c_out + sum_anions P c_in) / (sum_cations P c_in + sum_anions P c_out)]
    """
    numerator = denominator = 0.0
    for ion, p in permeability.items():
        if abs(VALENCE[ion]) != 1:
            raise ValueError(f"the GHK voltage equation holds for monovalent ions, not {ion}")
        if VALENCE[ion] > 0:
            numerator += p * outside[ion]
            denominator += p * inside[ion]
        else:
            numerator += p * inside[ion]
            denominator += p * outside[ion]
    return thermal_voltage(temperature_K) * math.log(numerator / denominator)


def ghk_current(permeability_m3_per_s: float, valence: int, inside_mM: float, outside_mM: float,
                v: float, temperature_K: float) -> float:
    """Outward GHK current (A) through a permeability P (m^3/s); concentrations in mol/m^3."""
    xi = valence * v / thermal_voltage(temperature_K)
    if abs(xi) < 1e-12:
        return permeability_m3_per_s * valence * FARADAY * (inside_mM - outside_mM)
    return (permeability_m3_per_s * valence * FARADAY * xi
            * (inside_mM - outside_mM * math.exp(-xi)) / (1.0 - math.exp(-xi)))


def ghk_zero_current_potential(permeability: Mapping[str, float], inside: Mapping[str, float],
                               outside: Mapping[str, float], temperature_K: float) -> float:
    """Potential (V) at which the GHK currents of ions of any valence cancel (e.g. with Ca2+).

    sum_i I_i(V) = 0 with I_i the GHK current of permeability P_i (`ghk_current`); every I_i
    rises with V, so the root is unique. For monovalent ions alone it is `ghk_potential`.
    """
    from scipy.optimize import brentq

    def outward(v: float) -> float:
        return sum(ghk_current(p, VALENCE[ion], inside[ion], outside[ion], v, temperature_K)
                   for ion, p in permeability.items())

    return brentq(outward, -0.5, 0.5, xtol=1e-12)


def chord_conductance_potential(conductance: Mapping[str, float], reversal: Mapping[str, float]) -> float:
    """Steady voltage of ohmic conductances: V = sum g_i E_i / sum g_i."""
    total = sum(conductance.values())
    return sum(g * reversal[ion] for ion, g in conductance.items()) / total


def charge_for_voltage(capacitance_F: float, voltage_V: float) -> float:
    """Q = C V, in coulombs."""
    return capacitance_F * voltage_V


def ions_for_voltage_change(capacitance_F: float, delta_v: float, valence: int = 1) -> float:
    """Count the ions of valence z whose transfer changes V by delta_v: C |dV| / (|z| e)."""
    return capacitance_F * abs(delta_v) / (abs(valence) * ELEMENTARY_CHARGE)


def thermal_voltage_noise(capacitance_F: float, temperature_K: float) -> float:
    """Compute the standard deviation of V at equilibrium, sqrt(kT/C) (equipartition on the capacitor)."""
    return math.sqrt(BOLTZMANN * temperature_K / capacitance_F)


def donnan_equilibrium(outside_mM: Mapping[str, float], fixed_inside_mM: Mapping[str, float],
                       impermeant_charge_mM: float, temperature_K: float) -> tuple[float, dict[str, float]]:
    """Gibbs-Donnan equilibrium of a cell with impermeant charge, against a fixed bath.

    Every permeant ion (the keys of `outside_mM`) is at its Nernst equilibrium with one V:
    c_in = c_out r^z with r = exp(-V F / RT). Ions that cannot cross keep `fixed_inside_mM`.
    Electroneutrality inside, sum z c + impermeant_charge = 0 (capacitive charge neglected:
    ~1e-5 of the ions), fixes r. The cell volume is held constant (no osmotic swelling).
    Returns V (volts) and the inside concentrations of the permeant ions.
    """
    from scipy.optimize import brentq

    fixed = sum(VALENCE[ion] * c for ion, c in fixed_inside_mM.items()) + impermeant_charge_mM

    def net_charge(log_r: float) -> float:
        return fixed + sum(VALENCE[ion] * c * math.exp(VALENCE[ion] * log_r) for ion, c in outside_mM.items())

    log_r = brentq(net_charge, -50.0, 50.0, xtol=1e-14)
    inside = {ion: c * math.exp(VALENCE[ion] * log_r) for ion, c in outside_mM.items()}
    return -thermal_voltage(temperature_K) * log_r, inside


def pump_cycle_rate(max_rate: float, km_na_mM: float, km_k_mM: float, na_in_mM: float, na_out_mM: float,
                    k_out_mM: float, v: float, temperature_K: float) -> float:
    """Compute the Na+/K+-ATPase cycles per second per pump, Luo & Rudy (1994) Circ Res 74:1071.

    A reference copy of the kernel's law; see channelsim/channels/pump.py for the parameters'
    sources.
    """
    sigma = (math.exp(na_out_mM / 67.3) - 1.0) / 7.0
    u = v / thermal_voltage(temperature_K)
    voltage_factor = 1.0 / (1.0 + 0.1245 * math.exp(-0.1 * u) + 0.0365 * sigma * math.exp(-u))
    return max_rate * voltage_factor / (1.0 + (km_na_mM / na_in_mM) ** 1.5) * k_out_mM / (k_out_mM + km_k_mM)


def glycoside_blocked_fraction(concentration_mM: float, k_out_mM: float, ic50_mM: float, hill: float,
                               k_competition_mM: float) -> float:
    """Share of Na+/K+ pumps a cardiac glycoside (ouabain, digoxin) binds at equilibrium.

    c^n / (c^n + IC50^n) with IC50 = IC50_0 (1 + [K]o / K_i): K+ competes with the glycoside
    for the pump (Moller, Vaag & Johansen 1990, Br J Clin Pharmacol 29:93; see
    channelsim/channels/pump.py).
    """
    if concentration_mM <= 0.0:
        return 0.0
    ic50 = ic50_mM * (1.0 + k_out_mM / k_competition_mM)
    return concentration_mM**hill / (concentration_mM**hill + ic50**hill)


def exchanger_cycle_rates(rate_constant: float, km_na_mM: float, km_ca_mM: float, k_sat: float, eta: float,
                          na_in_mM: float, na_out_mM: float, ca_in_mM: float, ca_out_mM: float, v: float,
                          temperature_K: float) -> tuple[float, float]:
    """Compute the Na+/Ca2+ exchanger's forward (Ca2+ out) and reverse cycles per second, Luo & Rudy (1994).

    A reference copy of the kernel's law; see channelsim/channels/pump.py. Their ratio is
    exp(-u) [Na]o^3 [Ca]i / ([Na]i^3 [Ca]o), 1 at the exchanger's reversal 3 E_Na - 2 E_Ca.
    """
    u = v / thermal_voltage(temperature_K)
    backward = math.exp((eta - 1.0) * u)
    scale = rate_constant / ((km_na_mM**3 + na_out_mM**3) * (km_ca_mM + ca_out_mM) * (1.0 + k_sat * backward))
    return scale * backward * na_out_mM**3 * ca_in_mM, scale * math.exp(eta * u) * na_in_mM**3 * ca_out_mM


def exchanger_reversal_potential(na_in_mM: float, na_out_mM: float, ca_in_mM: float, ca_out_mM: float,
                                 temperature_K: float) -> float:
    """Return the reversal potential (V) of a 3 Na+ : 1 Ca2+ exchanger, 3 E_Na - 2 E_Ca."""
    return (3 * nernst_potential(1, na_in_mM, na_out_mM, temperature_K)
            - 2 * nernst_potential(2, ca_in_mM, ca_out_mM, temperature_K))


def pump_leak_channel_counts(v: float, inside_mM: Mapping[str, float], outside_mM: Mapping[str, float],
                             pump_cycles_per_s: float, permeability: Mapping[str, float],
                             temperature_K: float) -> dict[str, float]:
    """K+ and Na+ leak channel numbers that make (v, inside) a pump-leak steady state.

    At steady state each ion's leak flux balances the pump: J_K,out = 2 J_pump and
    J_Na,in = 3 J_pump (Tosteson & Hoffman 1960, J Gen Physiol 44:169), with GHK single-channel
    fluxes of the given permeabilities (m^3/s). The net current is then zero automatically.
    """
    def outward_ions_per_s(ion: str) -> float:
        current = ghk_current(permeability[ion], VALENCE[ion], inside_mM[ion], outside_mM[ion], v, temperature_K)
        return current / (VALENCE[ion] * ELEMENTARY_CHARGE)

    return {"K": 2 * pump_cycles_per_s / outward_ions_per_s("K"),
            "Na": 3 * pump_cycles_per_s / -outward_ions_per_s("Na")}
