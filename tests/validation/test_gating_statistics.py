"""Flickering channels: the open count is Binomial(N, p) in agent and population tracking alike.

Its autocorrelation decays at the scheme's relaxation rate.
"""

import math

import pytest

from tests.helpers import make_config, simulate

N, P, MEAN_OPEN_TIME = 1000, 0.3, 1e-3
RELAXATION_RATE = 1 / MEAN_OPEN_TIME / (1 - P)  # k_open + k_close


def open_counts(tracking, seed=1, record_every="5 ms", duration="10 s"):
    # dt = 0.1 ms: the transition matrices are exact matrix exponentials, valid for any dt
    config = make_config(
        [{"kind": "k_leak", "count": N, "tracking": tracking, "open_probability": P,
          "mean_open_time": f"{MEAN_OPEN_TIME * 1e3} ms"}],
        ['run.dt="0.1 ms"', f'run.record_every="{record_every}"', f'run.duration="{duration}"', f"run.seed={seed}"])
    return simulate(config)["open_channels"][:, 0]


@pytest.mark.parametrize("tracking", ["agent", "population"])
def test_open_count_has_binomial_mean_and_variance(tracking):
    # records 5 ms apart: correlation exp(-5 ms * 1429/s) < 1e-3, so samples are independent
    counts = open_counts(tracking)
    n = len(counts)
    mean, variance = N * P, N * P * (1 - P)
    assert abs(counts.mean() - mean) < 5 * math.sqrt(variance / n)
    # standard error of a sample variance: variance * sqrt(2/(n-1) + excess kurtosis/n)
    excess_kurtosis = (1 - 6 * P * (1 - P)) / variance
    assert abs(counts.var(ddof=1) - variance) < 5 * variance * math.sqrt(2 / (n - 1) + excess_kurtosis / n)


def test_agent_and_population_open_counts_agree():
    a, b = open_counts("agent", seed=3), open_counts("population", seed=4)
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    assert abs(a.mean() - b.mean()) < 5 * se
    # the whole distribution: two-sample Kolmogorov-Smirnov at the 0.1% level
    from scipy.stats import ks_2samp

    assert ks_2samp(a, b).pvalue > 1e-3


@pytest.mark.parametrize("tracking", ["agent", "population"])
def test_open_count_autocorrelation_decays_at_the_relaxation_rate(tracking):
    counts = open_counts(tracking, record_every="0.5 ms", duration="5 s")
    x = counts - counts.mean()
    lag_one = float(x[:-1] @ x[1:] / (x @ x))
    expected = math.exp(-RELAXATION_RATE * 0.5e-3)  # 0.49
    assert abs(lag_one - expected) < 5 * math.sqrt((1 - expected**2) / len(x))
