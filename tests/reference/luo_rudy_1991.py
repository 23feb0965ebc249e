"""Independent ODE of the Luo & Rudy (1991) ventricular action potential, for the tests.

Luo CH, Rudy Y (1991) A model of the ventricular cardiac action potential: depolarization,
repolarization, and their interaction. Circ Res 68:1501-1526. Written here from the paper's
equations, independently of channelsim (it imports nothing from it), and integrated with scipy's
stiff solver at tight tolerances, so it is the deterministic reference the mean-field myocyte is
compared with.

Six currents (uA/cm^2, V in mV, t in ms, concentrations in mM, C_m = 1 uF/cm^2):

    I_Na = 23 m^3 h j (V - E_Na)                                  fast Na+
    I_si = 0.09 d f (V - E_si),  E_si = 7.7 - 13.0287 ln[Ca]_i    slow inward (Ca2+)
    I_K  = 0.282 sqrt([K]o/5.4) X Xi (V - E_K)                    time-dependent K+,
           E_K with P_Na/P_K = 0.01833
    I_K1 = 0.6047 sqrt([K]o/5.4) K1_inf (V - E_K1)                inward rectifier
    I_Kp = 0.0183 Kp (V - E_Kp),  E_Kp = E_K1                     plateau K+
    I_b  = 0.03921 (V + 59.87)                                    background

and d[Ca]_i/dt = -1e-4 I_si + 0.07 (1e-4 - [Ca]_i). The paper's g_Na is 23 mS/cm^2; many later
implementations (the authors' own code among them) use 16, which shortens nothing but lowers the
upstroke velocity: `G_NA_MS_CM2` is the paper's value, and `simulate` takes another. The
concentrations are the paper's: [K]o 5.4, [K]i 145, [Na]o 140, [Na]i 18, [Ca]o 1.8 mM, 37 degC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

R_J_PER_MOL_K = 8.314
FARADAY_C_PER_MOL = 96485.0
TEMPERATURE_K = 310.0
RT_F_MV = 1e3 * R_J_PER_MOL_K * TEMPERATURE_K / FARADAY_C_PER_MOL

G_NA_MS_CM2 = 23.0
G_SI_MS_CM2 = 0.09
G_K_MAX_MS_CM2 = 0.282
G_K1_MAX_MS_CM2 = 0.6047
G_KP_MS_CM2 = 0.0183
G_B_MS_CM2 = 0.03921
E_B_MV = -59.87
P_NA_K = 0.01833

CONCENTRATIONS_MM = {"K_o": 5.4, "K_i": 145.0, "Na_o": 140.0, "Na_i": 18.0, "Ca_o": 1.8}


def _m_rates(v):
    a = 3.2 if abs(v + 47.13) < 1e-9 else 0.32 * (v + 47.13) / (1.0 - math.exp(-0.1 * (v + 47.13)))
    return a, 0.08 * math.exp(-v / 11.0)


def _h_rates(v):
    if v >= -40.0:
        return 0.0, 1.0 / (0.13 * (1.0 + math.exp((v + 10.66) / -11.1)))
    return 0.135 * math.exp((80.0 + v) / -6.8), 3.56 * math.exp(0.079 * v) + 3.1e5 * math.exp(0.35 * v)


def _j_rates(v):
    if v >= -40.0:
        return 0.0, 0.3 * math.exp(-2.535e-7 * v) / (1.0 + math.exp(-0.1 * (v + 32.0)))
    alpha = (
        (-1.2714e5 * math.exp(0.2444 * v) - 3.474e-5 * math.exp(-0.04391 * v))
        * (v + 37.78)
        / (1.0 + math.exp(0.311 * (v + 79.23)))
    )
    beta = 0.1212 * math.exp(-0.01052 * v) / (1.0 + math.exp(-0.1378 * (v + 40.14)))
    return alpha, beta


def _d_rates(v):
    return (
        0.095 * math.exp(-0.01 * (v - 5.0)) / (1.0 + math.exp(-0.072 * (v - 5.0))),
        0.07 * math.exp(-0.017 * (v + 44.0)) / (1.0 + math.exp(0.05 * (v + 44.0))),
    )


def _f_rates(v):
    return (
        0.012 * math.exp(-0.008 * (v + 28.0)) / (1.0 + math.exp(0.15 * (v + 28.0))),
        0.0065 * math.exp(-0.02 * (v + 30.0)) / (1.0 + math.exp(-0.2 * (v + 30.0))),
    )


def _x_rates(v):
    return (
        0.0005 * math.exp(0.083 * (v + 50.0)) / (1.0 + math.exp(0.057 * (v + 50.0))),
        0.0013 * math.exp(-0.06 * (v + 20.0)) / (1.0 + math.exp(-0.04 * (v + 20.0))),
    )


def xi_factor(v):
    """Instantaneous rectification of I_K (dimensionless); 1 below -100 mV."""
    if v <= -100.0:
        return 1.0
    if abs(v + 77.0) < 1e-9:
        return 2.837 * 0.04 / math.exp(0.04 * (v + 35.0))
    return 2.837 * (math.exp(0.04 * (v + 77.0)) - 1.0) / ((v + 77.0) * math.exp(0.04 * (v + 35.0)))


def k1_inf(v, e_k1_mV):
    """Steady-state open fraction of the inward rectifier at V (mV), given E_K1."""
    alpha = 1.02 / (1.0 + math.exp(0.2385 * (v - e_k1_mV - 59.215)))
    beta = (0.49124 * math.exp(0.08032 * (v - e_k1_mV + 5.476)) + math.exp(0.06175 * (v - e_k1_mV - 594.31))) / (
        1.0 + math.exp(-0.5143 * (v - e_k1_mV + 4.753))
    )
    return alpha / (alpha + beta)


def kp_factor(v):
    """Voltage dependence of the plateau K+ current (dimensionless)."""
    return 1.0 / (1.0 + math.exp((7.488 - v) / 5.98))


@dataclass(frozen=True)
class Beat:
    """Membrane potential and [Ca]i of a paced run, sampled every `dt_ms`."""

    t_ms: np.ndarray
    v_mV: np.ndarray
    ca_i_mM: np.ndarray
    currents: dict[str, np.ndarray]


def lr1_si_reversal(ca_i_mM):
    """LR1's E_si (mV) at [Ca]i (mM)."""
    return 7.7 - 13.0287 * math.log(ca_i_mM)


def _currents(v, gates, ca_i, conc, g_na, si_reversal=lr1_si_reversal):
    m, h, j, d, f, x = gates
    e_na = RT_F_MV * math.log(conc["Na_o"] / conc["Na_i"])
    e_k = RT_F_MV * math.log((conc["K_o"] + P_NA_K * conc["Na_o"]) / (conc["K_i"] + P_NA_K * conc["Na_i"]))
    e_k1 = RT_F_MV * math.log(conc["K_o"] / conc["K_i"])
    e_si = si_reversal(ca_i)
    k_scale = math.sqrt(conc["K_o"] / 5.4)
    return {
        "I_Na": g_na * m**3 * h * j * (v - e_na),
        "I_si": G_SI_MS_CM2 * d * f * (v - e_si),
        "I_K": G_K_MAX_MS_CM2 * k_scale * x * xi_factor(v) * (v - e_k),
        "I_K1": G_K1_MAX_MS_CM2 * k_scale * k1_inf(v, e_k1) * (v - e_k1),
        "I_Kp": G_KP_MS_CM2 * kp_factor(v) * (v - e_k1),
        "I_b": G_B_MS_CM2 * (v - E_B_MV),
    }


_GATE_RATES = (_m_rates, _h_rates, _j_rates, _d_rates, _f_rates, _x_rates)


def steady_gates(v):
    """Gate values at their steady state for a voltage held at v (mV)."""
    return [a / (a + b) for a, b in (rates(v) for rates in _GATE_RATES)]


def simulate(
    duration_ms=1000.0,
    *,
    period_ms=1000.0,
    stimulus_uA_cm2=-80.0,
    stimulus_ms=0.5,
    first_stimulus_ms=10.0,
    v0_mV=-84.5,
    ca0_mM=2e-4,
    concentrations=None,
    g_na=G_NA_MS_CM2,
    dt_ms=0.1,
    si_reversal=lr1_si_reversal,
    ca_per_charge=1e-4,
    ca_uptake_per_ms=0.07,
):
    """Pace the LR1 cell (stimulus pulses every `period_ms` from `first_stimulus_ms`) and sample it.

    The defaults are the paper's. For a variant, `si_reversal(ca_i_mM) -> mV` replaces E_si,
    `ca_per_charge` the 1e-4 mM/ms per uA/cm^2 of I_si in d[Ca]i/dt and `ca_uptake_per_ms` the 0.07 /ms
    of its uptake term.
    """
    conc = dict(CONCENTRATIONS_MM, **(concentrations or {}))

    def rhs(t, y, stimulus_now):
        v, ca_i, gates = y[0], y[1], y[2:]
        i = _currents(v, gates, ca_i, conc, g_na, si_reversal)
        dgates = [a * (1.0 - g) - b * g for g, (a, b) in zip(gates, (r(v) for r in _GATE_RATES), strict=True)]
        return [-(sum(i.values()) + stimulus_now), -ca_per_charge * i["I_si"] + ca_uptake_per_ms * (1e-4 - ca_i),
                *dgates]

    # Integrate between stimulus edges, so the solver never steps over one.
    onsets = np.arange(first_stimulus_ms, duration_ms, period_ms)
    edges = np.unique(np.clip(np.concatenate(([0.0, duration_ms], onsets, onsets + stimulus_ms)), 0.0, duration_ms))
    t_eval = np.arange(0.0, duration_ms + dt_ms / 2, dt_ms)
    y0 = [v0_mV, ca0_mM, *steady_gates(v0_mV)]
    ys = []
    for start, stop in zip(edges[:-1], edges[1:], strict=True):
        pulsing = np.any((onsets <= start) & (start < onsets + stimulus_ms))
        sol = solve_ivp(
            rhs,
            (start, stop),
            y0,
            args=(stimulus_uA_cm2 if pulsing else 0.0,),
            method="LSODA",
            rtol=1e-8,
            atol=1e-10,
            max_step=0.5,
            dense_output=True,
        )
        inside = t_eval[(t_eval >= start) & ((t_eval < stop) | (stop == duration_ms))]
        ys.append(sol.sol(inside))
        y0 = sol.y[:, -1]
    y = np.concatenate(ys, axis=1)
    currents = [_currents(v, g, c, conc, g_na, si_reversal) for v, c, g in zip(y[0], y[1], y[2:].T, strict=True)]
    return Beat(
        t_ms=t_eval,
        v_mV=y[0],
        ca_i_mM=y[1],
        currents={name: np.array([c[name] for c in currents]) for name in currents[0]},
    )


def beat_measures(t_ms, v_mV):
    """Rest (V at the start), peak, dV/dt max (V/s = mV/ms) and APD90 of one beat.

    APD90: from the time of dV/dt max to the first return below 90 % repolarisation (the minimum
    plus a tenth of the amplitude) after the peak.
    """
    t_ms, v_mV = np.asarray(t_ms), np.asarray(v_mV)
    slope = np.diff(v_mV) / np.diff(t_ms)
    upstroke = t_ms[np.argmax(slope)]
    peak = int(np.argmax(v_mV))
    level = v_mV.min() + 0.1 * (v_mV.max() - v_mV.min())
    below = np.flatnonzero((t_ms > t_ms[peak]) & (v_mV < level))
    apd90 = float(t_ms[below[0]] - upstroke) if len(below) else float("nan")
    return {"rest_mV": float(v_mV[0]), "peak_mV": float(v_mV[peak]), "dvdt_max_V_per_s": float(slope.max()),
            "apd90_ms": apd90}
