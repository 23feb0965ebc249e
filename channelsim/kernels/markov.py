"""Gating updates for the three tracking modes, from tabulated transition matrices.

`table[k, iv, i, j]` is the probability of going from state i to j within one time step at
grid voltage v_min + iv * v_step: the exact matrix exponential expm(Q(v) dt), built once per
run. Between grid points the matrices are interpolated linearly (a convex combination of
stochastic matrices is stochastic).
"""

import math

import numpy as np
from numba import njit, prange

from channelsim.kernels.rng import binomial, bits53_at, next_uniform


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
    """Edges of the inverse-CDF lookup, as integers on the 53-bit grid of `bits53_at`.

    Row i's interval for destination j is [out[i, j], out[i, j + 1]): a draw r lands there
    exactly when the uniform (r + 0.5) / 2^53 falls in [C_ij, C_i(j+1)) with C the cumulative
    sums of row i, i.e. out = ceil(C 2^53 - 0.5). The last edge is exactly 2^53, so round-off
    can never send an agent past its last state; `out` needs n_states + 1 columns.
    """
    scale = 9007199254740992.0  # 2^53
    for i in range(n_states):
        total = 0.0
        out[i, 0] = 0
        for j in range(n_states - 1):
            total += matrix[i, j]
            out[i, j + 1] = min(np.int64(math.ceil(total * scale - 0.5)), np.int64(scale))
        out[i, n_states] = np.int64(scale)


@njit(cache=True, inline="always")
def _next_state(state, r, edges, n_states):
    """Look up the next state by inverse CDF.

    Most agents keep their state in a step, so that interval is tested first (a well-predicted
    branch); otherwise count the edges r passes, branch-free (a `while r >= edge` search
    mispredicts per agent and runs 2-4x slower).
    """
    if edges[state, state] <= r < edges[state, state + 1]:
        return state
    target = 0
    for j in range(1, n_states):
        target += np.int64(r >= edges[state, j])
    return target


@njit(cache=True)
def agent_step_serial(states, blocked, edges, n_states, conducting, key):
    """Advance each agent's state with one uniform; return how many end open and unblocked."""
    n_open = 0
    for i in range(states.shape[0]):
        new = _next_state(states[i], bits53_at(key, i), edges, n_states)
        states[i] = new
        n_open += conducting[new] * (1 - blocked[i])
    return n_open


@njit(cache=True, parallel=True)
def agent_step_parallel(states, blocked, edges, n_states, conducting, key):
    """As `agent_step_serial`, split over threads; identical results for any thread count."""
    n = states.shape[0]
    block = 16384
    n_blocks = (n + block - 1) // block
    n_open = 0
    for b in prange(n_blocks):
        count = 0
        for i in range(b * block, min(n, (b + 1) * block)):
            new = _next_state(states[i], bits53_at(key, i), edges, n_states)
            states[i] = new
            count += conducting[new] * (1 - blocked[i])
        n_open += count
    return n_open


@njit(cache=True, inline="always")
def other_state(matrix, source, n_states, mass):
    """Find the destination of a leaver.

    The first state j != source at which the running sum of row `source`'s off-diagonal
    probabilities exceeds `mass` (a uniform times their total).
    """
    target = source
    for j in range(n_states):
        if j != source:
            target = j
            mass -= matrix[source, j]
            if mass < 0.0:
                break
    return target


@njit(cache=True)
def population_step(counts, matrix, n_states, state, new_counts):
    """Multinomial update of state occupancy counts (exact for independent identical agents).

    For each state, the number that leave is Binomial(n_i, 1 - P_ii); up to 16 leavers each
    draw a destination, more are split by sequential conditional binomials. Leaving is rare
    in a short step, so most states cost one draw. Returns the new random-stream state;
    `counts[:n_states]` is updated in place. `new_counts`: int64 scratch of at least n_states
    entries (the caller's, so the step loop allocates nothing).
    """
    for i in range(n_states):
        new_counts[i] = 0
    for i in range(n_states):
        if counts[i] == 0:
            continue
        leave = 0.0
        for j in range(n_states):
            if j != i:
                leave += matrix[i, j]  # summed, not 1 - P_ii, to keep precision when P_ii ~ 1
        remaining, state = binomial(counts[i], min(1.0, leave), state)
        new_counts[i] += counts[i] - remaining
        if remaining <= 16:  # few leavers: a categorical draw each
            for _ in range(remaining):
                u, state = next_uniform(state)
                mass, target = u * leave, i  # other_state written out: a call increfs `matrix` per leaver
                for j in range(n_states):
                    if j != i:
                        target = j
                        mass -= matrix[i, j]
                        if mass < 0.0:
                            break
                new_counts[target] += 1
            continue
        mass_left = leave
        last = n_states - 1 if i != n_states - 1 else n_states - 2
        for j in range(n_states):
            if remaining == 0:
                break
            if j == i:
                continue
            if j == last or mass_left <= matrix[i, j]:
                moved = remaining
            else:
                moved, state = binomial(remaining, matrix[i, j] / mass_left, state)
            new_counts[j] += moved
            remaining -= moved
            mass_left -= matrix[i, j]
    for i in range(n_states):
        counts[i] = new_counts[i]
    return state


@njit(cache=True)
def mean_field_step(occupancy, matrix, n_states, new):
    """Deterministic occupancy update: occupancy <- occupancy @ matrix (leading block).

    `new`: float64 scratch of at least n_states entries (the caller's, so the step loop allocates nothing).
    """
    for j in range(n_states):
        new[j] = 0.0
    for i in range(n_states):
        for j in range(n_states):
            new[j] += occupancy[i] * matrix[i, j]
    for j in range(n_states):
        occupancy[j] = new[j]
