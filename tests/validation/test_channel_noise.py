"""Channel noise against an exact reference (issue #15; docs/channel-noise.md).

The reference, `tests/reference/gillespie_hh.py`, simulates the stochastic HH patch event by event
with no time step (written independently of channelsim's kernels). Here: the reference's own checks,
channelsim's per-step gating against the closed forms, the bias of the peers' first-order rule, and
channelsim's spontaneous spikes, ISIs and subthreshold voltage against the reference. Small patches
run in the default test run; 30 and 100 um^2 take minutes and are marked `long` (and `slow`), which the
default run leaves out (``pytest -m long`` runs them).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg

from channelsim.channels.hh import potassium_scheme, sodium_scheme
from channelsim.kernels.markov import transition_matrix
from channelsim.model.tables import V_MIN, V_STEP, transition_table
from tests.helpers import simulate
from tests.reference import channel_noise_data as data
from tests.reference import gillespie_hh as ref
from tests.reference.channel_noise_data import batch_autocovariance, channelsim_config
from tests.reference.spike_statistics import SpikeStatistics, detect_spikes

TEMPERATURE_K = ref.ZERO_CELSIUS + 6.3


def stationary_of(p: np.ndarray) -> np.ndarray:
    """Stationary distribution of a one-step matrix (left eigenvector of eigenvalue 1)."""
    values, vectors = np.linalg.eig(p.T)
    pi = np.real(vectors[:, np.argmin(abs(values - 1))])
    return pi / pi.sum()


# -- the reference's per-step rules -------------------------------------------------------------


@pytest.mark.parametrize("dt", [1e-6, 1e-5, 1e-4, 1e-3])
@pytest.mark.parametrize("v_mV", [-90.0, -65.0, -40.0, 0.0, 40.0])
def test_exact_rule_is_the_matrix_exponential(v_mV, dt):
    """The reference's closed form from independent gates equals scipy's expm(Q dt)."""
    q_na, q_k = ref.rate_matrices(v_mV * 1e-3)
    p_na, p_k = ref.one_step_matrices(v_mV * 1e-3, dt, "exact")
    assert np.abs(p_na - scipy.linalg.expm(q_na * dt)).max() < 1e-14
    assert np.abs(p_k - scipy.linalg.expm(q_k * dt)).max() < 1e-14


@pytest.mark.parametrize("dt", [2.5e-6, 1e-5])
def test_channelsim_tables_between_grid_points_are_the_matrix_exponential(dt):
    """Channelsim's step (expm tables on the 0.1 mV grid, interpolated) is the exact step.

    At 2000 random voltages: within 1e-6 absolute, and every transition probability above 1e-9
    within 2e-4 relative (the interpolation error, h^2/8 times the curvature of the rates).
    """
    rng = np.random.default_rng(0)
    voltages = rng.uniform(-0.1, 0.05, 2000)
    for scheme, index in ((sodium_scheme(), 0), (potassium_scheme(), 1)):
        table = transition_table(scheme, TEMPERATURE_K, dt)[None]
        n = table.shape[-1]
        step = np.zeros((n, n))
        worst_absolute = worst_relative = 0.0
        for v in voltages:
            transition_matrix(table, 0, n, v, V_MIN, V_STEP, step)
            exact = ref.one_step_matrices(v, dt, "exact")[index]
            worst_absolute = max(worst_absolute, np.abs(step - exact).max())
            large = exact > 1e-9
            worst_relative = max(worst_relative, (np.abs(step - exact)[large] / exact[large]).max())
        assert worst_absolute < 1e-6
        assert worst_relative < 2e-4


@pytest.mark.parametrize("dt", [20e-6, 10e-6, 2.5e-6])
def test_first_order_rule_makes_short_lived_states_too_likely(dt):
    """The peers' first-order rule inflates the open Na+ channels by R dt / 2: 5% at 10 us.

    The rule (leave with probability 1 - exp(-R dt), one transition per step) is a reversible chain
    whose stationary occupancy is pi_i R_i dt / (1 - exp(-R_i dt)), normalised: states left quickly
    (the open m3h1, R ~ 12.5/ms at rest) gain ~R dt / 2 over the exact pi. At -65 mV and 10 us, open
    Na+ channels are 5% too many; exact steps keep pi exactly.
    """
    q_na, _ = ref.rate_matrices(-0.065)
    pi = ref.stationary(q_na)
    exit_rate = -np.diag(q_na)
    predicted = pi * exit_rate * dt / -np.expm1(-exit_rate * dt)
    predicted /= predicted.sum()
    first_order = stationary_of(ref.one_step_matrices(-0.065, dt, "first_order")[0])
    np.testing.assert_allclose(first_order, predicted, rtol=1e-9)
    excess = first_order[ref.NA_OPEN] / pi[ref.NA_OPEN] - 1
    assert 0.9 * 5.4 * dt / 1e-5 < excess * 100 < 1.1 * 5.4 * dt / 1e-5  # 5.4% per 10 us, linear in dt
    exact = stationary_of(ref.one_step_matrices(-0.065, dt, "exact")[0])
    np.testing.assert_allclose(exact, pi, rtol=1e-9)


# -- the event-driven reference -----------------------------------------------------------------


def test_reference_voltage_relaxes_exactly_without_gated_channels():
    """With the leak alone, V(t) = E_L + (V0 - E_L) exp(-t g_L / C) at every sample."""
    patch = ref.Patch(area_um2=10.0, na_density_per_um2=0.0, k_density_per_um2=0.0, initial_V=-0.080)
    run = ref.gillespie(patch, 0.01, seed=1, sample_dt=1e-4)
    t = np.arange(len(run.v)) * 1e-4
    e_leak = patch.reversal_V[2]
    expected = e_leak + (patch.initial_V - e_leak) * np.exp(-t * patch.leak_S / patch.capacitance_F)
    np.testing.assert_allclose(run.v, expected, rtol=0, atol=1e-12)
    assert run.work == 0 and run.n_spikes == 0


CLAMP_V = -0.040
LAG_SAMPLES = np.array([0, 1, 2, 5, 10, 20, 50])  # x 0.1 ms


def _check_open_count_autocovariance(open_na, open_k, sample_dt, n_na, n_k):
    """Open-count autocovariances of both kinds within 5 SE of the closed form at every lag."""
    q_na, q_k = ref.rate_matrices(CLAMP_V)
    for counts, q, state, n in ((open_na, q_na, ref.NA_OPEN, n_na), (open_k, q_k, ref.K_OPEN, n_k)):
        expected = ref.open_autocovariance(q, state, n, LAG_SAMPLES * sample_dt)
        measured, error = batch_autocovariance(np.asarray(counts, dtype=float), LAG_SAMPLES)
        assert np.all(np.abs(measured - expected) < 5 * error), (measured, expected, error)
        assert error[0] < 0.1 * expected[0]  # sharp enough to see a 50% error


def test_reference_open_counts_at_a_held_voltage_follow_the_closed_form():
    """The reference's open counts at a held V have the closed-form autocovariance.

    A capacitance of 10^6 F/m^2 holds V within 0.1 mV for the run, so the open counts must have the
    autocovariance of independent channels at fixed V (checks the propensities and the choice of
    transition).
    """
    patch = ref.Patch(area_um2=10.0, capacitance_F_per_m2=1e6, initial_V=CLAMP_V)
    run = ref.gillespie(patch, 3.0, seed=3, sample_dt=1e-4)
    assert np.abs(run.v - CLAMP_V).max() < 1e-4
    _check_open_count_autocovariance(run.open_na[500:], run.open_k[500:], 1e-4, patch.n_na, patch.n_k)


def test_reference_follows_the_master_equation_along_a_relaxing_voltage():
    """With V changing between events, the reference's open counts follow the master equation.

    Channels of 10^-24 S do not move V, so V relaxes from +20 mV to E_L exactly (tau = 3.3 ms) through
    the range where every gate changes; the mean open counts of 12 replicas (30000 Na+, 9000 K+) must
    match N p_open(t), p from dp/dt = p Q(V(t)) (scipy LSODA, rtol 1e-10), within 5 SE at every 0.1 ms:
    this checks the thinning with its voltage-dependent bounds.
    """
    patch = ref.Patch(area_um2=500.0, unitary_S=1e-24, initial_V=0.020)
    e_leak, tau = patch.reversal_V[2], patch.capacitance_F / patch.leak_S
    times = np.arange(0, 81) * 1e-4

    def voltage(t):
        return e_leak + (patch.initial_V - e_leak) * np.exp(-t / tau)

    def master(t, p):
        q_na, q_k = ref.rate_matrices(voltage(t))
        return np.r_[p[:8] @ q_na, p[8:] @ q_k]

    q_na, q_k = ref.rate_matrices(patch.initial_V)
    p0 = np.r_[ref.stationary(q_na), ref.stationary(q_k)]
    solution = scipy.integrate.solve_ivp(master, (0, times[-1]), p0, t_eval=times, rtol=1e-10, atol=1e-12,
                                         method="LSODA")
    runs = [ref.gillespie(patch, times[-1], seed, sample_dt=1e-4) for seed in range(1, 13)]
    assert max(np.abs(r.v - voltage(times)).max() for r in runs) < 1e-12
    for counts, expected in ((np.array([r.open_na for r in runs]), patch.n_na * solution.y[ref.NA_OPEN]),
                             (np.array([r.open_k for r in runs]), patch.n_k * solution.y[8 + ref.K_OPEN])):
        mean, error = counts.mean(axis=0)[1:], counts.std(axis=0, ddof=1)[1:] / math.sqrt(len(runs))
        assert np.all(np.abs(mean - expected[1:]) < 5 * error), np.abs(mean - expected[1:]) / error
        assert np.all(error < 0.1 * expected[1:])


# -- channelsim under voltage clamp ---------------------------------------------------------------


@pytest.mark.parametrize("dt_us", [10.0, 100.0])
@pytest.mark.parametrize("tracking", ["agent", "population"])
def test_channelsim_clamped_open_count_autocovariance_is_the_closed_form(tracking, dt_us):
    """Clamped at -40 mV, channelsim's open counts have the closed-form autocovariance, for any dt.

    100 um^2 (6000 Na+, 1800 K+): N pi_o (P_oo(tau) - pi_o), a sum of exponentials over the
    eigenvalues of the rate matrix, at lags 0-5 ms (channelsim's steps are exact matrix exponentials).
    """
    config = channelsim_config(100.0, dt_us, tracking, 2.0)
    config = config.model_validate(config.model_dump(mode="json") | {"protocol": [
        {"action": "voltage_clamp", "at": "0 ms", "potential": f"{CLAMP_V * 1e3:g} mV"}]})
    out = simulate(config, seed=5)
    kinds = out["patch"].kind_names
    skip = 500  # 50 ms from the -65 mV start
    _check_open_count_autocovariance(out["open_channels"][skip:, kinds.index("hh_na")],
                                     out["open_channels"][skip:, kinds.index("hh_k")], 1e-4, 6000, 1800)


# -- spontaneous spikes: channelsim against the exact reference -----------------------------------


def _spikes_of_channelsim(area_um2, tracking, dt_us, duration_s, seed):
    """Spike statistics of one channelsim run of the patch."""
    out = simulate(channelsim_config(area_um2, dt_us, tracking, duration_s), seed=seed)
    return SpikeStatistics.of(out["spike_time"], duration_s)


def _assert_same_spike_statistics(a: SpikeStatistics, b: SpikeStatistics, sharpness: float):
    """Assert rate, mean ISI and ISI CV agree within 5 combined standard errors.

    The rate's and the mean ISI's errors must be below `sharpness` relative, the CV's below twice that.
    """
    for name in ("rate", "isi_mean", "cv"):
        error_name = "isi_mean_se" if name == "isi_mean" else f"{name}_se"
        x, y = getattr(a, name), getattr(b, name)
        error = math.hypot(getattr(a, error_name), getattr(b, error_name))
        assert abs(x - y) < 5 * error, (name, x, y, error)
        assert error < (2 if name == "cv" else 1) * sharpness * abs(y), (name, error, y)


@pytest.mark.parametrize("area_um2, duration_s, sharpness", [(1.0, 10.0, 0.05), (10.0, 6.0, 0.07)])
def test_spontaneous_spikes_of_small_patches_match_the_exact_reference(area_um2, duration_s, sharpness):
    """Channelsim's spontaneous spikes at 1 and 10 um^2 match the exact reference.

    60 Na+ + 18 K+, and 600 + 180 channels, fire at ~50 and ~40 spikes/s: channelsim at dt = 10 us,
    agent and population, against the event-driven reference (rate, mean ISI, CV).
    """
    exact = ref.gillespie(ref.Patch(area_um2=area_um2), duration_s, seed=21)
    reference = SpikeStatistics.of(exact.spike_times, exact.duration)
    for tracking, seed in (("agent", 22), ("population", 23)):
        _assert_same_spike_statistics(_spikes_of_channelsim(area_um2, tracking, 10.0, duration_s, seed), reference,
                                      sharpness)


@pytest.mark.parametrize("area_um2", [1.0, 10.0])
def test_spike_detector_sampled_every_10_us_counts_the_exact_crossings(area_um2):
    """The spike detector, sampled every 10 us on exact trajectories, counts the exact crossings.

    The detector looks at V at the end of each step; a spike stays above 0 mV for ~1 ms.
    """
    run = ref.gillespie(ref.Patch(area_um2=area_um2), 2.0, seed=7, sample_dt=1e-5)
    assert run.n_spikes > 50
    assert detect_spikes(run.v) == run.n_spikes


# -- long: 30 and 100 um^2 (pytest -m long; minutes) -----------------------------------------------


@pytest.mark.slow
@pytest.mark.long
def test_spontaneous_spikes_at_30_um2_match_the_exact_reference():
    """30 um^2 (1800 Na+, 540 K+) fires at ~28 spikes/s: channelsim at 10 us against a live exact run."""
    exact = ref.gillespie(ref.Patch(area_um2=30.0), 40.0, seed=41)
    reference = SpikeStatistics.of(exact.spike_times, exact.duration)
    for tracking, seed in (("agent", 42), ("population", 43)):
        _assert_same_spike_statistics(_spikes_of_channelsim(30.0, tracking, 10.0, 40.0, seed), reference, 0.03)


@pytest.mark.slow
@pytest.mark.long
def test_stored_exact_replica_at_100_um2_is_reproduced():
    """The first exact replica at 100 um^2 in data/channel_noise/runs_exact.csv, rerun, is the same row."""
    row, _ = data.run_row(data.Job(100.0, "exact", 0.0, 1))
    stored = data.load_runs(("exact",))
    stored = stored[(stored.area_um2 == 100.0) & (stored.seed == 1)].iloc[0]
    assert row["spikes"] == stored.spikes
    assert float(row["isi_s1"]) == pytest.approx(stored.isi_s1, rel=1e-9)


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.parametrize("tracking", ["agent", "population"])
def test_spontaneous_rate_at_100_um2_matches_the_stored_exact_rate(tracking):
    """Channelsim's W2 patch at 10 us fires at the stored exact rate.

    100 um^2, 6000 Na+ and 1800 K+: channelsim at dt = 10 us over 100 s against the pooled exact
    replicas of data/channel_noise/runs_exact.csv (rate, mean ISI, CV within 5 SE).
    """
    reference = data.spike_statistics(data.load_runs(("exact",)), 100.0, "exact")
    _assert_same_spike_statistics(_spikes_of_channelsim(100.0, tracking, 10.0, 100.0, 44), reference, 0.04)


@pytest.mark.slow
@pytest.mark.long
def test_first_order_rule_fires_too_often_at_10_us_and_converges_by_2_5_us():
    """The peers' rule at 100 um^2: over 4 SE above the exact rate at 10 us, within 5 SE of it at 2.5 us.

    At 10 us it gives the issue's ~11.7 spikes/s.
    """
    reference = data.spike_statistics(data.load_runs(("exact",)), 100.0, "exact")
    patch = ref.Patch(area_um2=100.0)
    coarse = ref.stepped(patch, 200.0, 10e-6, seed=45)
    fine = ref.stepped(patch, 60.0, 2.5e-6, seed=46)
    coarse_stats = SpikeStatistics.of(coarse.spike_times, coarse.duration)
    fine_stats = SpikeStatistics.of(fine.spike_times, fine.duration)
    assert coarse_stats.rate - reference.rate > 4 * math.hypot(coarse_stats.rate_se, reference.rate_se)
    assert abs(fine_stats.rate - reference.rate) < 5 * math.hypot(fine_stats.rate_se, reference.rate_se)
