"""The switch `run.flux_noise = false`: the ions through open channels move at their mean.

They move as whole ions with the fraction carried, so the shot noise of single ions (the thermal
noise kT/C at equilibrium) is gone, gating noise stays, and every ion is still accounted for.
"""

import math

import numpy as np

from tests.helpers import ion_quantum, make_config, simulate, thermal_sigma

SETTLE = 100  # records (10 ms): > 5 membrane time constants


def k_leak_cell(tracking, flux_noise, open_probability=1.0, duration="200 ms"):
    """Run a 5 um cell with 4000 K+ leaks (from 0 mV to E_K) with or without shot noise."""
    config = make_config(
        [{"kind": "k_leak", "count": 4000, "tracking": tracking, "open_probability": open_probability}],
        [f'run.duration="{duration}"', f"run.flux_noise={str(flux_noise).lower()}"])
    return config, simulate(config)


def test_always_open_channels_with_mean_fluxes_are_the_mean_field_exactly():
    """Always-open leaks without shot noise: an agent run is the mean_field run, ion for ion.

    They have no gating noise, so without shot noise an agent run is deterministic.
    """
    _, agent = k_leak_cell("agent", flux_noise=False)
    _, mean_field = k_leak_cell("mean_field", flux_noise=True)  # mean_field ignores the switch
    np.testing.assert_array_equal(agent["ions_inside"], mean_field["ions_inside"])
    np.testing.assert_array_equal(agent["membrane_potential"], mean_field["membrane_potential"])


def test_mean_fluxes_remove_the_thermal_noise_and_keep_every_ion():
    """Mean fluxes hold V within an ion's step of E_K; Poisson fluxes scatter it by ~sqrt(kT/C).

    (test_equilibrium checks the value of the thermal scatter.) Ions inside + outside never change.
    """
    config, noisy = k_leak_cell("population", flux_noise=True)
    _, quiet = k_leak_cell("population", flux_noise=False)
    capacitance, temperature = config.cell.capacitance_F, config.cell.temperature
    sigma, quantum = thermal_sigma(capacitance, temperature), ion_quantum(capacitance)
    assert sigma > 30 * quantum  # the two noises are far apart, so the test separates them
    assert noisy["membrane_potential"][SETTLE:].std() > 0.5 * sigma
    assert quiet["membrane_potential"][SETTLE:].std() < 2 * quantum
    for out in (noisy, quiet):
        total = out["ions_inside"] + out["ions_outside"]
        assert np.all(total == total[0])


def test_gating_noise_stays_when_the_fluxes_are_mean():
    """Flickering leaks (p = 0.5, 1 ms) with mean fluxes: the open count still scatters binomially."""
    _, out = k_leak_cell("agent", flux_noise=False, open_probability=0.5, duration="1 s")
    counts = out["open_channels"][SETTLE:, 0][::20]  # 2 ms apart: correlation exp(-4) = 0.02
    variance = 4000 * 0.25
    assert abs(counts.var(ddof=1) - variance) < 5 * variance * math.sqrt(2 / (len(counts) - 1))
