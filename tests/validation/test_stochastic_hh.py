"""Stochastic HH channels.

Exact binomial open counts under voltage clamp, equal spontaneous spike rates in agent and
population tracking, 1/N noise towards the mean field, and the ion ledger against the integral
of the Na+ current.
"""

import math

import numpy as np
import pytest

from channelsim.config import apply_overrides
from tests.helpers import batch_mean_and_error, open_of, simulate
from tests.validation import hh_reference as hh
from tests.validation.test_hodgkin_huxley import hh_config

CLAMP_MV = -30.0


@pytest.mark.parametrize("tracking", ["agent", "population"])
def test_open_counts_under_clamp_are_binomial_m3h_and_n4(tracking):
    """At -30 mV, independent channels are open with p = m^3 h and n^4 (HH's steady gates).

    N_open ~ Binomial(N, p). Samples 20 ms apart are independent (tau_h, tau_n < 3 ms).
    """
    config = hh_config(100, 10_000, tracking=tracking)  # dt = 0.1 ms: exact matrix exponentials
    config = config.model_validate(apply_overrides(config.model_dump(mode="json"), [
        'run.record_every="20 ms"']) | {"protocol": [
            {"action": "voltage_clamp", "at": "0 ms", "potential": f"{CLAMP_MV} mV"}]})
    out = simulate(config)
    m, h, n = hh.steady_gates(CLAMP_MV)
    for kind, count, p in (("hh_na", 6000, m**3 * h), ("hh_k", 1800, n**4)):
        samples = open_of(out, kind)[5:]  # skip 100 ms of relaxation from -65 mV
        mean, variance = count * p, count * p * (1 - p)
        k = len(samples)
        assert abs(samples.mean() - mean) < 5 * math.sqrt(variance / k)
        excess_kurtosis = (1 - 6 * p * (1 - p)) / variance
        assert abs(samples.var(ddof=1) - variance) < 5 * variance * math.sqrt(2 / (k - 1) + excess_kurtosis / k)


def test_agent_and_population_fire_spontaneously_at_the_same_rate():
    """100 um^2, 6000 Na + 1800 K channels, no input: channel noise alone fires the patch."""
    seconds = 6
    counts = {tracking: len(simulate(hh_config(10, seconds * 1000, tracking=tracking))["spike_time"])
              for tracking in ("agent", "population")}
    # spike trains are more regular than Poisson (refractoriness), so Poisson errors are conservative
    assert abs(counts["agent"] - counts["population"]) < 5 * math.sqrt(counts["agent"] + counts["population"])
    assert all(count > 2 * seconds for count in counts.values())  # several spikes per second


def test_voltage_noise_shrinks_as_one_over_root_n_towards_the_mean_field():
    """At fixed density, V's variance at rest scales as 1/area (linear noise approximation).

    The mean settles on the mean-field resting potential.
    """
    rest = simulate(hh_config(10, 50))["membrane_potential"][-1]
    spread = {}
    for area in (1000, 4000):
        v = simulate(hh_config(10, 1000, tracking="population", area=f"{area} um^2"))["membrane_potential"][1000:]
        mean, error = batch_mean_and_error(v)
        assert abs(mean - rest) < 5 * error + 1e-6
        # standard error of the standard deviation from 20 batch estimates of it
        stds = np.array([b.std() for b in np.array_split(v, 20)])
        spread[area] = (v.std(), stds.std(ddof=1) / math.sqrt(20))
    ratio = spread[1000][0] / spread[4000][0]
    ratio_error = ratio * math.hypot(spread[1000][1] / spread[1000][0], spread[4000][1] / spread[4000][0])
    assert abs(ratio - 2.0) < 5 * ratio_error
    assert ratio_error < 0.2


def test_na_ions_entering_in_a_spike_match_the_integral_of_the_na_current():
    """The Na+ ledger of one evoked spike against the integral of g N_open (V - E_Na) / e.

    Per step the kernel draws ions with the open count at the start of the step and the
    step-averaged voltage, so the ledger must equal that quadrature within shot noise; the
    trapezoid integral differs from it by O(dt) terms of the size of the half-step shift.
    """
    config = hh_config(10, 12, amplitude=20.0, start=2.0, length=1.0, tracking="agent", area="1000 um^2")
    out = simulate(config)
    v, n_open = out["membrane_potential"], open_of(out, "hh_na")
    per_volt = 20e-12 / 1.602176634e-19 * config.run.dt  # ions per step per open channel per volt
    inward = -per_volt * n_open * (v - hh.E_NA * 1e-3)  # per step, at each recording
    step_quadrature = -per_volt * np.sum(n_open[:-1] * (0.5 * (v[:-1] + v[1:]) - hh.E_NA * 1e-3))
    trapezoid = 0.5 * np.sum(inward[:-1] + inward[1:])
    half_step_shift = abs(step_quadrature - np.sum(inward[:-1]))
    entered = out["ions_moved"][-1, 1] - out["ions_moved"][0, 1]
    assert np.max(v) > 0.03 and entered > 1e7  # a spike, moving tens of millions of Na+
    shot_noise = math.sqrt(out["influx"][-1, 1] + out["efflux"][-1, 1])
    assert abs(entered - step_quadrature) < 5 * shot_noise
    assert abs(entered - trapezoid) < 2 * half_step_shift + 5 * shot_noise
    assert half_step_shift < 0.005 * entered
