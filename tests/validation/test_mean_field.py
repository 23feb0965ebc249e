"""mean_field tracking is the deterministic limit.

It reproduces the closed forms exactly (up to one ion of rounding), and the voltage update stays
exact for dt up to several C/G.
"""

import math

import numpy as np
import pytest

from channelsim.constants import AVOGADRO, IONS
from channelsim.physics import ghk_potential, nernst_potential
from tests.helpers import ion_quantum, make_config, simulate

G_UNITARY = 14e-12


@pytest.mark.parametrize("steps_per_tau", [11.2, 1.0, 1 / 3])
def test_ohmic_k_cell_relaxes_exponentially_to_ek(steps_per_tau):
    """C dV/dt = -G (V - E_K): V = E_K + (V0 - E_K) exp(-t G / C), for dt << tau and dt >= tau."""
    count = 2000
    config = make_config([{"kind": "k_leak", "count": count, "tracking": "mean_field", "permeation": "ohmic"}])
    capacitance = config.cell.capacitance_F
    tau = capacitance / (count * G_UNITARY)  # 0.11 ms
    dt = tau / steps_per_tau
    config = make_config(config.model_dump(mode="json")["channels"],
                         [f'run.dt="{dt} s"', f'run.record_every="{dt} s"', f'run.duration="{40 * dt} s"'])
    out = simulate(config)
    temperature = config.cell.temperature
    c_in = out["ions_inside"][:, 0] / (AVOGADRO * config.cell.volume_m3)
    e_k = np.array([nernst_potential(1, c, config.outside.K, temperature) for c in c_in])
    v = out["membrane_potential"]
    expected = e_k[0] + (v[0] - e_k[0]) * np.exp(-out["time"] / tau)
    # allowed: the drift of E_K as K+ leaves (~1 uV) and one ion of rounding per direction
    tolerance = np.abs(e_k - e_k[0]).max() + 2 * ion_quantum(capacitance)
    assert np.abs(v - expected).max() < tolerance
    # monotone (no overshoot, no oscillation) up to the one-ion jitter of the rounded fluxes
    assert np.all(np.diff(v) <= 2 * ion_quantum(capacitance))


def test_mean_field_open_count_is_exactly_n_p():
    config = make_config([{"kind": "na_leak", "count": 777, "tracking": "mean_field", "open_probability": 0.25}])
    out = simulate(config)
    np.testing.assert_allclose(out["open_channels"][:, 0], 777 * 0.25, rtol=1e-12)


def test_mean_field_three_leaks_reach_the_ghk_potential():
    channels = [{"kind": k, "count": n, "tracking": "mean_field"}
                for k, n in (("k_leak", 2000), ("na_leak", 80), ("cl_leak", 900))]
    config = make_config(channels, ['run.duration="20 ms"'])
    out = simulate(config)
    c_in = out["ions_inside"][-1] / (AVOGADRO * config.cell.volume_m3)
    permeability = {ion: e.count * e.permeability for ion, e in zip(("K", "Na", "Cl"), config.channels, strict=True)}
    expected = ghk_potential(permeability, dict(zip(IONS, c_in, strict=True)),
                             {ion: getattr(config.outside, ion) for ion in IONS}, config.cell.temperature)
    # at steady state the drift of the concentrations moves V by far less than this per step
    assert abs(out["membrane_potential"][-1] - expected) < 3 * ion_quantum(config.cell.capacitance_F) + 1e-8


def test_stochastic_mean_approaches_mean_field():
    """Agent and population runs scatter around the mean-field trajectory.

    The standard error comes from several seeds; here for the relaxation of a flickering K+ cell
    from 0 mV.
    """
    channels = [{"kind": "k_leak", "count": 2000, "open_probability": 0.5}]
    overrides = ['run.duration="5 ms"']
    reference = simulate(make_config([{**channels[0], "tracking": "mean_field"}], overrides))["membrane_potential"]
    for tracking in ("agent", "population"):
        runs = np.array([simulate(make_config([{**channels[0], "tracking": tracking}], overrides), seed=s)
                         ["membrane_potential"] for s in range(8)])
        mean = runs.mean(axis=0)
        error = runs.std(axis=0, ddof=1) / math.sqrt(len(runs))
        late = slice(10, None)  # from 1 ms on, when runs have spread
        assert np.all(np.abs(mean[late] - reference[late]) < 5 * error[late] + 5e-6), tracking
