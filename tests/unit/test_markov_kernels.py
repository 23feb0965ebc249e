"""Correctness of the gating kernels of `channelsim.kernels.markov`, small and fast.

The agent-kernel checks used to run only with the benchmarks (tests/benchmarks/
test_agent_kernel.py, not part of the default run); here they run by default, at sizes that take
a fraction of a second. Statistical checks are at 5 standard errors with fixed seeds; the rest
are exact.

- `agent_step_serial` is exactly the inverse-CDF update written in numpy with the same
  counter-based uniforms; `agent_step_parallel` equals it bit for bit;
- agents relax to the stationary occupancy of the chain (serial and parallel; the
  transition-only kernel has its own tests in test_agent_events.py);
- `population_step` moves Binomial / multinomial numbers of channels in one step, through both
  of its branches (up to 16 leavers drawn one by one, more split by conditional binomials),
  conserves the count and relaxes to the stationary occupancy;
- `mean_field_step` is occupancy @ matrix; `transition_matrix` interpolates the table linearly
  between grid voltages and holds the edge values beyond the grid; `cumulative_rows` gives
  monotone integer edges ending exactly at 2^53.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from channelsim.kernels.markov import (
    agent_step_parallel,
    agent_step_serial,
    cumulative_rows,
    mean_field_step,
    population_step,
    transition_matrix,
)
from channelsim.kernels.rng import stream_key
from tests.helpers import gate_chain

SEED = 12345
SIGMAS = 5.0
GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)


def flicker(a: float = 0.02, b: float = 0.03):
    """Build a closed <-> open step: opens with probability a, closes with b; stationary (b, a)/(a + b)."""
    matrix = np.array([[1.0 - a, a], [b, 1.0 - b]])
    return matrix, np.array([0, 1], dtype=np.int64), np.array([b, a]) / (a + b), a + b


def potassium(a: float = 0.01, b: float = 0.02):
    """Four independent gates n0..n4 (n4 conducts), stationary Binomial(4, a / (a + b))."""
    matrix, stationary = gate_chain(a, b)
    return matrix, np.array([0, 0, 0, 0, 1], dtype=np.int64), stationary, a + b


#: name -> (one-step matrix, conducting mask, stationary occupancy, slowest relaxation rate per step)
MODELS = {"flicker": flicker(), "potassium": potassium()}


def edges_of(matrix: np.ndarray) -> np.ndarray:
    out = np.zeros((matrix.shape[0], matrix.shape[0] + 1), dtype=np.int64)
    cumulative_rows(matrix, matrix.shape[0], out)
    return out


def key_of(step: int, stream: int = 0) -> np.uint64:
    return np.uint64(stream_key(SEED, step, stream))  # uint64, as the loop passes it


def mix64(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser in numpy (uint64 arithmetic wraps modulo 2^64)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def numpy_agent_step(states: np.ndarray, edges: np.ndarray, key: np.uint64) -> np.ndarray:
    """Update the agents as written independently of the kernel.

    Agent i draws r_i (its counter-based 53-bit integer) and goes to the destination j whose
    interval [edges[s, j], edges[s, j + 1]) holds r_i.
    """
    index = np.arange(states.size, dtype=np.uint64)
    r = (mix64(np.full(states.size, key, dtype=np.uint64) + (index + np.uint64(1)) * GOLDEN_GAMMA)
         >> np.uint64(11)).astype(np.int64)
    return ((r[:, None] >= edges[states][:, 1:-1]).sum(axis=1)).astype(states.dtype)


# --- agents -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_agent_step_is_the_inverse_cdf_update_exactly(model):
    matrix, conducting, stationary, _ = MODELS[model]
    edges = edges_of(matrix)
    states = np.random.default_rng(1).choice(len(stationary), 30_000, p=stationary).astype(np.uint8)
    blocked = (np.random.default_rng(2).random(states.size) < 0.1).astype(np.uint8)
    for step in range(5):
        expected = numpy_agent_step(states, edges, key_of(step))
        n_open = agent_step_serial(states, blocked, edges, len(stationary), conducting, key_of(step))
        np.testing.assert_array_equal(states, expected)
        assert n_open == np.count_nonzero(conducting[states] * (1 - blocked))


def test_serial_and_parallel_kernels_agree_exactly():
    """50,000 agents span four of the parallel kernel's 16,384-agent blocks."""
    matrix, conducting, _, _ = MODELS["potassium"]
    edges = edges_of(matrix)
    start = np.random.default_rng(1).integers(0, 5, 50_000).astype(np.uint8)
    blocked = (np.random.default_rng(2).random(start.size) < 0.3).astype(np.uint8)
    a, b = start.copy(), start.copy()
    for step in range(20):
        n_a = agent_step_serial(a, blocked, edges, 5, conducting, key_of(step))
        n_b = agent_step_parallel(b, blocked, edges, 5, conducting, key_of(step))
        assert n_a == n_b
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, start)


@pytest.mark.parametrize("kernel", [agent_step_serial, agent_step_parallel], ids=["serial", "parallel"])
@pytest.mark.parametrize("model", MODELS)
def test_agents_relax_to_the_stationary_occupancy(model, kernel):
    """From all in state 0, 20 slowest relaxation times (bias e^-20).

    The snapshot of independent agents matches the stationary occupancies within 5 standard
    errors.
    """
    matrix, conducting, stationary, rate = MODELS[model]
    n = 20_000
    states = np.zeros(n, dtype=np.uint8)
    blocked = np.zeros(n, dtype=np.uint8)
    edges = edges_of(matrix)
    for step in range(math.ceil(20.0 / rate)):
        n_open = kernel(states, blocked, edges, len(stationary), conducting, key_of(step))
    assert n_open == np.count_nonzero(conducting[states])
    occupancy = np.bincount(states, minlength=len(stationary)) / n
    np.testing.assert_array_less(np.abs(occupancy - stationary), SIGMAS * np.sqrt(stationary * (1 - stationary) / n))


def test_agents_never_leave_the_scheme_at_probability_edges():
    """Rows with zeros and ones: agents go only where the row allows.

    Round-off cannot send an agent past its last state, nor into a zero-probability state.
    """
    matrix = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.0, 0.5]])
    edges = edges_of(matrix)
    states = np.random.default_rng(4).integers(0, 3, 20_000).astype(np.uint8)
    before = states.copy()
    agent_step_serial(states, np.zeros(states.size, np.uint8), edges, 3, np.array([0, 0, 1]), key_of(0))
    assert np.all(states[before == 0] == 1) and np.all(states[before == 1] == 2)
    assert set(np.unique(states[before == 2])) == {0, 2}


# --- populations --------------------------------------------------------------------------------------


def one_step_counts(matrix: np.ndarray, start: np.ndarray, trials: int) -> np.ndarray:
    n_states = matrix.shape[0]
    out = np.zeros((trials, n_states), dtype=np.int64)
    for trial in range(trials):
        counts = start.astype(np.int64).copy()
        population_step(counts, matrix, n_states, key_of(trial, 3), np.zeros(n_states, dtype=np.int64))
        out[trial] = counts
    return out


@pytest.mark.parametrize("n", [40, 5000], ids=["few_leavers", "many_leavers"])
def test_population_step_is_multinomial(n):
    """All n channels of a 5-state chain start in state 2; after one step the counts are Multinomial(n, row 2).

    Means n P_2j, variances n P_2j (1 - P_2j). With n = 40 about 1.2 leave (drawn one by one);
    with n = 5000 about 150 (split by conditional binomials).
    """
    matrix, _ = gate_chain(0.01, 0.02)  # row 2: to 1 with 0.04, to 3 with 0.02
    matrix = matrix.copy()
    matrix[2] = [0.003, 0.017, 0.97, 0.006, 0.004]  # all four exits, so every split is used
    trials = 4000
    start = np.array([0, 0, n, 0, 0])
    counts = one_step_counts(matrix, start, trials)
    assert np.all(counts.sum(axis=1) == n) and counts.min() >= 0
    p = matrix[2]
    mean, variance = n * p, n * p * (1 - p)
    np.testing.assert_array_less(np.abs(counts.mean(axis=0) - mean), SIGMAS * np.sqrt(variance / trials))
    # the variance of a sample variance: (mu4 - sigma^4 (T - 3)/(T - 1)) / T, binomial mu4
    mu4 = variance * (1 + 3 * (n - 2) * p * (1 - p))
    variance_error = np.sqrt((mu4 - variance**2 * (trials - 3) / (trials - 1)) / trials)
    np.testing.assert_array_less(np.abs(counts.var(axis=0, ddof=1) - variance), SIGMAS * variance_error)
    if n == 5000:
        assert counts[:, 2].min() < n - 16  # the conditional-binomial branch was taken


@pytest.mark.parametrize("model", MODELS)
def test_population_relaxes_to_the_stationary_occupancy(model):
    """Many independent replicate populations relax to the stationary occupancy.

    Each is advanced from all-closed for 20 relaxation times: the final counts average to n pi
    within 5 standard errors of multinomial counts.
    """
    matrix, _, stationary, rate = MODELS[model]
    n, replicas, n_states = 200, 300, len(stationary)
    finals = np.zeros((replicas, n_states))
    for replica in range(replicas):
        counts = np.zeros(n_states, dtype=np.int64)
        counts[0] = n
        for step in range(math.ceil(20.0 / rate)):
            population_step(counts, matrix, n_states, np.uint64(stream_key(SEED + replica, step, 5)),
                            np.zeros(n_states, dtype=np.int64))
        assert counts.sum() == n
        finals[replica] = counts
    error = np.sqrt(n * stationary * (1 - stationary) / replicas)
    np.testing.assert_array_less(np.abs(finals.mean(axis=0) - n * stationary), SIGMAS * error)


def test_population_step_is_reproducible_and_returns_an_advanced_stream():
    matrix, _, _, _ = MODELS["potassium"]
    first, second = np.array([100, 200, 300, 200, 100]), np.array([100, 200, 300, 200, 100])
    state_1 = population_step(first, matrix, 5, key_of(9), np.zeros(5, dtype=np.int64))
    state_2 = population_step(second, matrix, 5, key_of(9), np.zeros(5, dtype=np.int64))
    np.testing.assert_array_equal(first, second)
    assert state_1 == state_2 and state_1 != key_of(9)


# --- mean field, interpolation, edges ---------------------------------------------------------------


def test_mean_field_step_is_the_matrix_product():
    matrix, _, _, _ = MODELS["potassium"]
    occupancy = np.zeros(8)  # a longer buffer: only the leading n_states entries change
    occupancy[:5] = [0.1, 0.2, 0.3, 0.25, 0.15]
    expected = occupancy[:5] @ matrix
    mean_field_step(occupancy, matrix, 5, np.zeros(5))
    np.testing.assert_allclose(occupancy[:5], expected, rtol=1e-15, atol=0)
    assert np.all(occupancy[5:] == 0.0)


def test_transition_matrix_interpolates_linearly_and_holds_the_edges():
    rng = np.random.default_rng(6)
    n_grid, v_min, v_step = 11, -0.05, 0.01
    table = rng.random((2, n_grid, 3, 3))
    table /= table.sum(axis=-1, keepdims=True)
    out = np.zeros((4, 4))
    for v, expected in [(v_min + 3 * v_step, table[1, 3]),
                        (v_min + 3.25 * v_step, 0.75 * table[1, 3] + 0.25 * table[1, 4]),
                        (v_min - 1.0, table[1, 0]),
                        (v_min + (n_grid - 1) * v_step + 1.0, table[1, -1])]:
        transition_matrix(table, 1, 3, v, v_min, v_step, out)
        np.testing.assert_allclose(out[:3, :3], expected, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(out[:3, :3].sum(axis=1), 1.0, rtol=0, atol=1e-15)


def test_cumulative_rows_are_monotone_and_end_at_two_to_the_53():
    matrix, _, _, _ = MODELS["potassium"]
    edges = edges_of(matrix)
    assert np.all(edges[:, 0] == 0) and np.all(edges[:, -1] == 2**53)
    assert np.all(np.diff(edges, axis=1) >= 0)
    # each interval's width is the transition probability to within one grid unit of 2^-53
    np.testing.assert_array_less(np.abs(np.diff(edges, axis=1) / 2.0**53 - matrix), 2.0 ** -52)
