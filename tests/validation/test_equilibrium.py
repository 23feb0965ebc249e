"""A single permeant ion: the cell relaxes to that ion's Nernst potential.

It moves C |dV| / e ions to get there, and then fluctuates with the thermal variance kT/C.
"""

import math

import numpy as np
import pytest

from channelsim.constants import VALENCE
from channelsim.physics import ions_for_voltage_change, nernst_potential
from tests.helpers import batch_mean_and_error, ion_quantum, make_config, simulate, thermal_sigma

KIND_ION = {"k_leak": "K", "na_leak": "Na", "cl_leak": "Cl"}
INSIDE = {"K": 140.0, "Na": 10.0, "Cl": 10.0}
OUTSIDE = {"K": 5.0, "Na": 145.0, "Cl": 110.0}
SETTLE = 100  # records (10 ms) before averaging: > 5 membrane time constants in every case


def nernst_run(kind, tracking, count=2000, open_probability=0.5, duration="400 ms", seed=1):
    config = make_config(
        [{"kind": kind, "count": count, "tracking": tracking, "open_probability": open_probability}],
        [f'run.duration="{duration}"', f"run.seed={seed}"])
    return config, simulate(config)


@pytest.mark.parametrize("tracking", ["agent", "population"])
@pytest.mark.parametrize("kind", ["k_leak", "na_leak", "cl_leak"])
def test_single_ion_settles_at_its_nernst_potential(kind, tracking):
    config, out = nernst_run(kind, tracking)
    ion = KIND_ION[kind]
    i = ["K", "Na", "Cl", "Ca"].index(ion)
    v = out["membrane_potential"][SETTLE:]
    mean, error = batch_mean_and_error(v)
    # the Nernst potential of the concentrations at the end (they change by ~1e-5 relative)
    volume = config.cell.volume_m3
    c_in = out["ions_inside"][-1, i] / (6.02214076e23 * volume)
    expected = nernst_potential(VALENCE[ion], c_in, OUTSIDE[ion], config.cell.temperature)
    assert abs(expected) > 0.05  # far from the 0 mV start
    assert abs(mean - expected) < 5 * error + ion_quantum(config.cell.capacitance_F)
    assert error < 1e-5  # the test is sharp: microvolts against tens of millivolts


@pytest.mark.parametrize("tracking", ["agent", "population"])
def test_ions_moved_to_reach_ek_equal_c_dv_over_e(tracking):
    config, out = nernst_run("k_leak", tracking, open_probability=1.0, duration="40 ms")
    capacitance = config.cell.capacitance_F
    moved = out["ions_moved"]
    # only K+ moved, and the voltage is exactly the charge it carried divided by C
    assert np.all(moved[:, 1:] == 0)
    dv = out["membrane_potential"] - out["membrane_potential"][0]
    np.testing.assert_allclose(moved[:, 0] * ion_quantum(capacitance), dv, rtol=1e-12, atol=1e-15)
    # ... and the number that moved is C |E_K| / e, a tiny fraction of the cell's K+
    e_k = nernst_potential(1, INSIDE["K"], OUTSIDE["K"], config.cell.temperature)
    expected = ions_for_voltage_change(capacitance, e_k)
    noise = thermal_sigma(capacitance, config.cell.temperature) * capacitance / 1.602176634e-19
    assert abs(-moved[-1, 0] - expected) < 5 * noise + expected * 1e-4  # 1e-4: E_K drift as K leaves
    assert -moved[-1, 0] / out["ions_inside"][0, 0] < 1e-4


@pytest.mark.parametrize("tracking", ["agent", "population"])
def test_equilibrium_voltage_variance_is_kt_over_c(tracking):
    """Shot noise of the two unidirectional fluxes at equilibrium gives <dV^2> = kT/C.

    kT/C is equipartition on the membrane capacitor; it is multiplied by 2x/(1-exp(-2x)) for a
    step of x = dt G/C.
    """
    config, out = nernst_run("k_leak", tracking, count=4000, open_probability=1.0, duration="2 s")
    v = out["membrane_potential"][SETTLE:]
    capacitance, temperature = config.cell.capacitance_F, config.cell.temperature
    # slope conductance at E_K of the GHK channel: g = P F^2/(RT) c_in c_out ln(c_in/c_out)/(c_in - c_out)
    entry = config.channels[0]
    c_in, c_out = INSIDE["K"], OUTSIDE["K"]
    faraday, rt = 96485.33212, 8.314462618 * temperature
    g = entry.count * entry.permeability * faraday**2 / rt * c_in * c_out * math.log(c_in / c_out) / (c_in - c_out)
    x = g * config.run.dt / capacitance
    expected = thermal_sigma(capacitance, temperature) ** 2 * 2 * x / -math.expm1(-2 * x)
    # variance of the sample variance of an AR(1) series with lag-one correlation rho
    rho = math.exp(-g * config.run.record_every / capacitance)
    error = expected * math.sqrt(2 / len(v) * (1 + rho**2) / (1 - rho**2))
    assert abs(v.var() - expected) < 5 * error
    assert error < 0.05 * expected
