"""Throughput of the agent-mode Markov kernel against plain numpy, measured in the same run.

What is measured: agent-steps per second (channels x time steps) of
`channelsim.kernels.markov.agent_step_serial` / `agent_step_parallel` and of a vectorised
numpy implementation of the same update (one uniform per agent, inverse-CDF lookup in the
row of its current state, count of agents ending in a conducting state). Both sides are
driven from Python one step at a time, as `channelsim.model.patch` does, so per-call overhead
(dispatch, stream-key hashing, `Generator.random`) is included on both sides.

Agents start from the stationary distribution. Each implementation is compiled/warmed up,
its step count sized to ~0.7 s, then timed 3 times, interleaved with the others; the median
is reported. "numba events" is the transition-only update of `channelsim.kernels.agent_events`
(cost per transition, not per agent), which the loop picks when fewer than ~1/32 of the agents
are expected to change state in a step; the rows show where each path wins. The lookups are
branch-free (a per-agent `while u >= cdf` search mispredicts
and was 2-4x slower), so the rates do not depend on how often agents change state.

Why ratios: the machines this runs on are shared and noisy, so absolute rates drift from
run to run; numba and numpy timed interleaved in the same process share that drift, and
their ratio is the number worth comparing (CPU contention still hurts the parallel kernel
most). Nothing here asserts on time. The only assertions check that every implementation,
the numpy baseline included, samples the right chain at the benchmarked sizes (so a fast but
broken implementation cannot be benchmarked silently). The kernels' correctness tests (exact
agreement with a numpy inverse-CDF update, serial = parallel bit for bit, relaxation to the
stationary occupancy) run in the default test run, at small sizes, in
tests/unit/test_markov_kernels.py and tests/unit/test_agent_events.py.

Run with `pytest tests/benchmarks -s` (the default test run ignores this directory).
"""

import math
import statistics
import time

import numba
import numpy as np
import pytest

from channelsim.kernels.agent_events import agent_step_events, group_by_state
from channelsim.kernels.markov import agent_step_parallel, agent_step_serial, cumulative_rows
from channelsim.kernels.rng import stream_key
from tests.helpers import gate_chain

SEED = 12345
SIZES = (10_000, 100_000, 1_000_000)
TARGET_SECONDS = 0.7  # per timed repeat
REPEATS = 3


def flicker(a=0.005, b=0.005):
    """Build a closed <-> open flickering channel; stationary (b, a) / (a + b)."""
    matrix = np.array([[1.0 - a, a], [b, 1.0 - b]])
    return matrix, np.array([0, 1]), np.array([b, a]) / (a + b)


def potassium(a=0.01, b=0.02):
    """HH-like K chain n0..n4 (n4 conducts): four independent gates (tests.helpers.gate_chain)."""
    matrix, stationary = gate_chain(a, b)
    return matrix, np.array([0, 0, 0, 0, 1]), stationary


MODELS = {"flicker, 2 states": flicker(), "K n0..n4, 5 states": potassium()}


def cumulative_of(matrix):
    out = np.zeros((matrix.shape[0], matrix.shape[0] + 1), dtype=np.int64)
    cumulative_rows(matrix, matrix.shape[0], out)
    return out


def numba_runner(kernel, matrix, conducting, states):
    """Return advance(n_steps) -> open count after the last step, advancing `states` in place."""
    cumulative = cumulative_of(matrix)
    conducting = conducting.astype(np.int64)
    blocked = np.zeros(states.shape[0], dtype=np.uint8)
    step = 0

    def advance(n_steps):
        nonlocal step
        for _ in range(n_steps):
            key = np.uint64(stream_key(SEED, step, 0))  # a Python int would type as int64
            n_open = kernel(states, blocked, cumulative, matrix.shape[0], conducting, key)
            step += 1
        return n_open

    return advance


def events_runner(matrix, conducting, states):
    """Run the transition-only update (agent_events), used when few agents change per step."""
    n, n_states = states.shape[0], matrix.shape[0]
    order, position = np.zeros(n, np.int64), np.zeros(n, np.int64)
    groups = np.zeros(n_states + 1, np.int64)
    group_by_state(states, n_states, order, position, groups)
    blocked, conducting = np.zeros(n, np.uint8), conducting.astype(np.int64)
    n_open = int(np.count_nonzero(conducting[states]))
    step = 0

    def advance(n_steps):
        nonlocal step, n_open
        for _ in range(n_steps):
            key = np.uint64(stream_key(SEED, step, 0))
            n_open, _ = agent_step_events(states, blocked, order, position, groups, matrix, n_states, conducting,
                                          n_open, key)
            step += 1
        return n_open

    return advance


def numpy_runner(matrix, conducting, states):
    """Plain numpy version of the same update: new state = #{j < S-1 : u >= cumulative[s, j]}.

    Vectorised over agents with preallocated buffers; the only Python loop is over the S - 1
    thresholds (the last cumulative entry is 1 > u, so it never counts).
    """
    n = states.shape[0]
    thresholds = np.ascontiguousarray(cumulative_of(matrix)[:, 1:-1].T) / 2.0**53  # (S-1, S) inner edges
    is_open = conducting.astype(bool)
    rng = np.random.default_rng(SEED)
    u, row = np.empty(n), np.empty(n)
    above, new = np.empty(n, dtype=bool), np.empty(n, dtype=np.uint8)

    def advance(n_steps):
        for _ in range(n_steps):
            rng.random(out=u)
            new.fill(0)
            for threshold in thresholds:
                np.take(threshold, states, out=row)
                np.greater_equal(u, row, out=above)
                np.add(new, above, out=new)
            states[:] = new
            n_open = np.count_nonzero(is_open[states])
        return n_open

    return advance


IMPLEMENTATIONS = {
    "numpy": numpy_runner,
    "numba serial": lambda *args: numba_runner(agent_step_serial, *args),
    "numba parallel": lambda *args: numba_runner(agent_step_parallel, *args),
    "numba events": events_runner,
}


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_relaxes_to_the_stationary_open_fraction(model, implementation):
    """From all in state 0, 1500 steps relax every mode by > e^-15.

    The snapshot of independent agents must match the stationary occupancies (and open fraction)
    within 5 standard errors.
    """
    matrix, conducting, stationary = MODELS[model]
    n = 100_000
    states = np.zeros(n, dtype=np.uint8)
    n_open = IMPLEMENTATIONS[implementation](matrix, conducting, states)(1500)
    assert n_open == np.count_nonzero(conducting[states])
    p_open = stationary @ conducting
    assert abs(n_open / n - p_open) < 5.0 * math.sqrt(p_open * (1.0 - p_open) / n)
    occupancy = np.bincount(states, minlength=len(stationary)) / n
    np.testing.assert_array_less(abs(occupancy - stationary),
                                 5.0 * np.sqrt(stationary * (1.0 - stationary) / n))


def steps_for_target(advance):
    """Warm up (compile), then return the step count that takes about TARGET_SECONDS."""
    advance(2)
    steps, elapsed = 1, 0.0
    while elapsed < 0.1:
        steps *= 4
        t0 = time.perf_counter()
        advance(steps)
        elapsed = time.perf_counter() - t0
    return max(1, round(steps * TARGET_SECONDS / elapsed))


def test_agent_kernel_throughput():
    names = list(IMPLEMENTATIONS)
    print(f"\nagent-steps/s (millions), median of {REPEATS} interleaved repeats; numba "
          f"{numba.__version__} ({numba.get_num_threads()} threads), numpy {np.__version__}")
    header = f"{'model':<20}{'N':>10}" + "".join(f"{name:>16}" for name in names)
    print(header + f"{'serial/numpy':>14}{'parallel/numpy':>16}{'events/numpy':>14}")
    for model, (matrix, conducting, stationary) in MODELS.items():
        for n in SIZES:
            start = np.random.default_rng(0).choice(len(stationary), n, p=stationary)
            runners = {name: make(matrix, conducting, start.astype(np.uint8))
                       for name, make in IMPLEMENTATIONS.items()}
            steps = {name: steps_for_target(advance) for name, advance in runners.items()}
            times = {name: [] for name in names}
            for _ in range(REPEATS):  # interleaved, so load drift hits all implementations alike
                for name, advance in runners.items():
                    t0 = time.perf_counter()
                    advance(steps[name])
                    times[name].append(time.perf_counter() - t0)
            rate = {name: n * steps[name] / statistics.median(times[name]) for name in names}
            line = f"{model:<20}{n:>10.0e}" + "".join(f"{rate[k] / 1e6:>16.1f}" for k in names)
            line += f"{rate['numba serial'] / rate['numpy']:>14.2f}"
            print(line + f"{rate['numba parallel'] / rate['numpy']:>16.2f}"
                  f"{rate['numba events'] / rate['numpy']:>14.2f}")
