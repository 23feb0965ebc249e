"""Gating updates for the three tracking modes, from tabulated transition matrices.

`table[k, iv, i, j]` is the probability of going from state i to j within one time step at
grid voltage v_min + iv * v_step: the exact matrix exponential expm(Q(v) dt), built once per
run. Between grid points the matrices are interpolated linearly (a convex combination of
stochastic matrices is stochastic).
"""

import numpy as np
from numba import njit, prange

from channelsim.kernels.rng import binomial, uniform_at


@njit(cache=True)
def transition_matrix(table, kind, n_states, v, v_min, v_step, out):
    """Write into `out[:n_states, :n_states]` the one-step transition matrix of `kind` at v."""
    n_grid = table.shape[1]
    position = (v - v_min) / v_step
    if position <= 0.0:
        low, weight = 0, 0.0
    elif position >= n_grid - 1:
        low, weight = n_grid - 2, 1.0
    else:
        low = int(position)
        weight = position - low
    for i in range(n_states):
        for j in range(n_states):
            out[i, j] = (1.0 - weight) * table[kind, low, i, j] + weight * table[kind, low + 1, i, j]


@njit(cache=True)
def cumulative_rows(matrix, n_states, out):
    """Row-wise cumulative sums of the leading n_states block, last entry exactly 1 (so
    round-off can never send an agent past its last state)."""
    for i in range(n_states):
        total = 0.0
        for j in range(n_states):
            total += matrix[i, j]
            out[i, j] = total
        out[i, n_states - 1] = 1.0


@njit(cache=True, inline="always")
def _next_state(state, u, cumulative, n_states):
    """Inverse-CDF lookup, branch-free: the number of thresholds of the row that u passes.
    (A `while u >= cdf` search mispredicts per agent and runs 2-4x slower.)"""
    target = 0
    for j in range(n_states - 1):
        target += np.int64(u >= cumulative[state, j])
    return target


@njit(cache=True)
def agent_step_serial(states, blocked, cumulative, n_states, conducting, key):
    """Advance each agent's state with one uniform; return how many end open and unblocked."""
    n_open = 0
    for i in range(states.shape[0]):
        new = _next_state(states[i], uniform_at(key, i), cumulative, n_states)
        states[i] = new
        n_open += conducting[new] * (1 - blocked[i])
    return n_open


@njit(cache=True, parallel=True)
def agent_step_parallel(states, blocked, cumulative, n_states, conducting, key):
    """As `agent_step_serial`, split over threads; identical results for any thread count."""
    n = states.shape[0]
    block = 16384
    n_blocks = (n + block - 1) // block
    n_open = 0
    for b in prange(n_blocks):
        count = 0
        for i in range(b * block, min(n, (b + 1) * block)):
            new = _next_state(states[i], uniform_at(key, i), cumulative, n_states)
            states[i] = new
            count += conducting[new] * (1 - blocked[i])
        n_open += count
    return n_open


@njit(cache=True)
def population_step(counts, matrix, n_states, state):
    """Multinomial update of state occupancy counts (exact for independent identical agents).

    Each state's occupants are split over destinations by sequential conditional binomials.
    Returns the new random-stream state; `counts[:n_states]` is updated in place.
    """
    new_counts = np.zeros(n_states, dtype=np.int64)
    for i in range(n_states):
        remaining = counts[i]
        mass_left = 1.0
        for j in range(n_states):
            if remaining == 0:
                break
            if j == n_states - 1 or mass_left <= 0.0:
                moved = remaining
            else:
                p = min(1.0, max(0.0, matrix[i, j] / mass_left))
                moved, state = binomial(remaining, p, state)
            new_counts[j] += moved
            remaining -= moved
            mass_left -= matrix[i, j]
    counts[:n_states] = new_counts
    return state


@njit(cache=True)
def mean_field_step(occupancy, matrix, n_states):
    """Deterministic occupancy update: occupancy <- occupancy @ matrix (leading block)."""
    new = np.zeros(n_states)
    for i in range(n_states):
        for j in range(n_states):
            new[j] += occupancy[i] * matrix[i, j]
    occupancy[:n_states] = new
