"""The Na+/K+-ATPase.

Exact 3:2 stoichiometry, the pump-leak steady state, its electrogenic share, ouabain's binomial
block, run-down against the mean field and into the Donnan equilibrium, and exact conservation
over more than 1e9 ion transfers.
"""

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq

from channelsim.config import load_config, parse_config
from channelsim.constants import AVOGADRO, ELEMENTARY_CHARGE, IONS
from channelsim.physics import donnan_equilibrium, ghk_current, glycoside_blocked_fraction, pump_cycle_rate
from tests.helpers import batch_mean_and_error, make_config, simulate

NEURON = Path(__file__).parents[2] / "experiments/neuron_rest.toml"
K, NA, CL = 0, 1, 2


def neuron(*overrides):
    return load_config(NEURON, list(overrides))


def zero_current_potential(config, c_in, c_out, pumps_active):
    """V at which the leaks' GHK currents and the pump current cancel (closed form, root-found)."""
    temperature = config.cell.temperature
    ions = {"k_leak": K, "na_leak": NA, "cl_leak": CL}
    valence = {K: 1, NA: 1, CL: -1}
    pump = config.pumps[0]

    def current(v):
        total = sum(e.count * ghk_current(e.permeability, valence[ions[e.kind]], c_in[ions[e.kind]],
                                          c_out[ions[e.kind]], v, temperature) for e in config.channels)
        rate = pump_cycle_rate(pump.max_turnover, pump.half_saturation_na, pump.half_saturation_k,
                               c_in[NA], c_out[NA], c_out[K], v, temperature)
        return total + pumps_active * rate * ELEMENTARY_CHARGE

    return brentq(current, -0.15, 0.1, xtol=1e-12)


@pytest.mark.parametrize("tracking", ["agent", "population", "mean_field"])
def test_each_cycle_moves_three_na_out_and_two_k_in(tracking):
    config = make_config([], ['run.duration="20 ms"', 'cell.initial_voltage="-70 mV"'])
    config = parse_config(config.model_dump(mode="json") | {
        "pumps": [{"kind": "na_k_atpase", "count": 50_000, "tracking": tracking}]})
    out = simulate(config)
    cycles = out["pump_cycles"][:, -1]
    change = out["ions_inside"] - out["ions_inside"][0]
    assert cycles[-1] > 1000
    np.testing.assert_array_equal(change[:, NA], -3 * cycles)
    np.testing.assert_array_equal(change[:, K], 2 * cycles)
    np.testing.assert_array_equal(change[:, [CL, 3]], 0)
    # one net charge out per cycle: V falls by e / C per cycle
    dv = out["membrane_potential"] - out["membrane_potential"][0]
    np.testing.assert_allclose(dv, -cycles * ELEMENTARY_CHARGE / config.cell.capacitance_F, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("tracking", ["population", "mean_field"])
def test_pump_leak_steady_state_holds_for_an_hour(tracking):
    config = neuron(*(f"channels.{k}.tracking={tracking}" for k in ("k_leak", "na_leak", "cl_leak")),
                    f"pumps.na_k_atpase.tracking={tracking}")
    out = simulate(config)
    c_in = out["ions_inside"] / (AVOGADRO * config.cell.volume_m3)
    c_out = np.array([getattr(config.outside, ion) for ion in IONS])
    active = config.pumps[0].count
    # V is the zero-current potential of the pump-leak membrane at the concentrations of the moment
    predicted = np.array([zero_current_potential(config, row, c_out, active) for row in c_in[::60]])
    deviation = out["membrane_potential"][::60] - predicted
    if tracking == "mean_field":
        assert np.abs(deviation[1:]).max() < 2e-6
    else:
        mean, error = batch_mean_and_error(deviation[1:], n_batches=10)
        assert abs(mean) < 5 * error + 2e-6
    # the designed state: about -70 mV, concentrations constant to < 1% over the hour
    assert abs(out["membrane_potential"][-1] + 0.070) < 0.5e-3
    np.testing.assert_allclose(c_in[-1, :3], [140.0, 10.0, 8.015], rtol=0.01)


def test_blocking_the_pump_depolarises_by_its_own_current_at_once():
    """The electrogenic share: V jumps to the zero-current potential without the pump.

    It does so within ~5 membrane time constants, while the concentrations have not moved.
    """
    config = neuron('run.duration="1.2 s"', 'run.dt="0.1 ms"', 'run.record_every="10 ms"',
                    *(f"channels.{k}.tracking=mean_field" for k in ("k_leak", "na_leak", "cl_leak")),
                    "pumps.na_k_atpase.tracking=mean_field")
    config = parse_config(config.model_dump(mode="json") | {
        "protocol": [{"action": "block", "at": "1 s", "target": "na_k_atpase", "fraction": 1.0}]})
    out = simulate(config)
    c_out = np.array([getattr(config.outside, ion) for ion in IONS])
    before, after = out["membrane_potential"][100], out["membrane_potential"][-1]
    c_in = out["ions_inside"][-1] / (AVOGADRO * config.cell.volume_m3)
    expected_shift = (zero_current_potential(config, c_in, c_out, 0)
                      - zero_current_potential(config, c_in, c_out, config.pumps[0].count))
    assert 0.002 < expected_shift < 0.01  # a few mV
    assert abs((after - before) - expected_shift) < 1e-5


@pytest.mark.parametrize("tracking", ["agent", "population"])
def test_ouabain_block_is_binomial_and_competes_with_outside_potassium(tracking):
    """Each pump bound with probability c / (c + IC50), IC50 = 3 nM (1 + [K]o / 0.333 mM).

    45 nM at [K]o 3 mM: IC50 30 nM, ten times the 3 nM without K+ (Moller et al. 1990), so p = 0.6.
    Stepping [K]o to 12 mM frees pumps: IC50 111 nM, p = 45 / 156. Each count within 5 binomial
    standard deviations of n p; the agents' flags agree with the active count.
    """
    n, concentration = 200_000, 45e-6  # mM
    config = parse_config(make_config([], ['run.duration="1 ms"', 'outside.K="3 mM"']).model_dump(mode="json") | {
        "pumps": [{"kind": "na_k_atpase", "count": n, "tracking": tracking}],
        "protocol": [{"action": "ouabain", "at": "0 ms", "concentration": f"{concentration} mM"},
                     {"action": "set_outside", "at": "0.5 ms", "ion": "K", "concentration": "12 mM"}]})
    entry = config.pumps[0]
    assert (entry.ouabain_ic50, entry.ouabain_k_competition) == (3e-6, 1 / 3)
    out = simulate(config)
    for row, k_out in ((4, 3.0), (-1, 12.0)):
        p = glycoside_blocked_fraction(concentration, k_out, entry.ouabain_ic50, 1.0, entry.ouabain_k_competition)
        blocked = out["blocked_fraction"][row, 0] * n
        assert abs(blocked - n * p) < 5 * math.sqrt(n * p * (1 - p)), (k_out, blocked / n, p)
    assert p == pytest.approx(45 / (45 + 3 * (1 + 36)))
    patch = out["patch"]
    assert patch.pumps.active[0] == n - round(blocked)
    if tracking == "agent":
        assert patch.pump_populations[0].blocked.sum() == round(blocked)


def test_glycoside_block_closed_form():
    """Half block at IC50([K]o); ten-fold rise from 0 to 3 mM [K]o; hypokalaemia potentiates the block."""
    ic50, k_i = 3e-6, 1 / 3
    assert glycoside_blocked_fraction(3e-6, 0.0, ic50, 1.0, k_i) == pytest.approx(0.5)
    assert glycoside_blocked_fraction(30e-6, 3.0, ic50, 1.0, k_i) == pytest.approx(0.5)
    assert glycoside_blocked_fraction(0.0, 3.0, ic50, 1.0, k_i) == 0.0
    shares = [glycoside_blocked_fraction(50e-6, k, ic50, 1.0, k_i) for k in (3.0, 5.4, 8.0)]
    assert shares[0] > shares[1] > shares[2]


def test_stochastic_run_down_follows_the_mean_field():
    """Ten minutes after ouabain: population runs (4 seeds) scatter around the mean field."""
    overrides = ['run.duration="600 s"', 'run.record_every="60 s"']
    base = load_config(NEURON.parent / "ouabain.toml", overrides)
    mean_field = load_config(NEURON.parent / "ouabain.toml", overrides + [
        *(f"channels.{k}.tracking=mean_field" for k in ("k_leak", "na_leak", "cl_leak")),
        "pumps.na_k_atpase.tracking=mean_field"])
    reference = simulate(mean_field)
    runs = [simulate(base, seed=s) for s in range(4)]
    for name, column in (("membrane_potential", None), ("ions_inside", K), ("ions_inside", NA)):
        values = np.array([r[name] if column is None else r[name][:, column] for r in runs], dtype=float)
        ref = reference[name] if column is None else reference[name][:, column]
        error = values.std(axis=0, ddof=1) / 2
        assert np.all(np.abs(values.mean(axis=0) - ref)[1:] < 5 * error[1:] + 1e-12 * np.abs(ref[1:])), name
    assert runs[0]["ions_inside"][-1, K] < 0.9 * runs[0]["ions_inside"][0, K]  # it did run down


def test_run_down_ends_in_the_donnan_equilibrium_and_conserves_every_ion():
    """A small cell with its pumps blocked from the start relaxes to the Gibbs-Donnan state.

    The state of its K+, Na+ and Cl- leaks and impermeant anions; it moves > 1e9 ions without losing one.
    """
    channels = [{"kind": k, "count": 3000, "tracking": "population"} for k in ("k_leak", "na_leak", "cl_leak")]
    config = make_config(channels, ['run.duration="1200 s"', 'run.dt="1 ms"', 'run.record_every="10 s"',
                                    'cell.radius="3 um"', 'inside.Cl="8 mM"'])
    out = simulate(config)
    inside, outside = out["ions_inside"], out["ions_outside"]
    np.testing.assert_array_equal(inside + outside, np.broadcast_to(inside[0] + outside[0], inside.shape))
    assert out["efflux"][-1].sum() + out["influx"][-1].sum() > 1e9
    volume = config.cell.volume_m3
    c_in = inside[-1] / (AVOGADRO * volume)
    impermeant = -out["patch"].impermeant_count / (AVOGADRO * volume)
    v, expected = donnan_equilibrium({"K": 5.0, "Na": 145.0, "Cl": 110.0}, {"Ca": c_in[3]}, impermeant,
                                     config.cell.temperature)
    # samples 10 s apart are independent; at dt >> C/G each step's shot noise is not damped
    # within the step, so V scatters by sqrt(2x) x sqrt(kT/C) (x = G dt / C): use the scatter
    late = out["membrane_potential"][-40:]
    assert abs(late.mean() - v) < 5 * late.std(ddof=1) / math.sqrt(len(late))
    np.testing.assert_allclose(c_in[:3], [expected["K"], expected["Na"], expected["Cl"]], rtol=2e-3)


@pytest.mark.parametrize("dt", ["2 ms", "10 ms"])
def test_large_steps_agree_with_small_steps(dt):
    """Minutes of run-down at dt = 2 and 10 ms against dt = 0.2 ms, in mean_field.

    2 and 10 ms are 0.1 and 0.5 membrane time constants: the exponential update stays stable and
    first-order close.
    """
    mean_field = [*(f"channels.{k}.tracking=mean_field" for k in ("k_leak", "na_leak", "cl_leak")),
                  "pumps.na_k_atpase.tracking=mean_field", 'run.duration="120 s"', 'run.record_every="10 s"']
    fine = simulate(load_config(NEURON.parent / "ouabain.toml", mean_field + ['run.dt="0.2 ms"']))
    coarse = simulate(load_config(NEURON.parent / "ouabain.toml", mean_field + [f'run.dt="{dt}"']))
    dt_s = float(dt.split()[0]) * 1e-3
    # error ~ dt: the membrane lags the pump block by ~dt; gradients follow V's integral
    assert np.abs(coarse["membrane_potential"] - fine["membrane_potential"]).max() < 2e-4 * dt_s / 1e-3
    np.testing.assert_allclose(coarse["ions_inside"][:, :3], fine["ions_inside"][:, :3], rtol=1e-4 * dt_s / 1e-3)
