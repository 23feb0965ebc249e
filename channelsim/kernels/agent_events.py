"""Agent tracking at the cost of the transitions, not of the agents.

In a short step most channels keep their state, so sweeping every agent with a uniform is
mostly wasted. Here the agents of each state are kept grouped: `order[group_start[s]:
group_start[s + 1]]` lists the agents in state s, and `position[a]` is agent a's index in
`order`. A step draws how many leave each state, Binomial(n_s, 1 - P_ss), picks that many of
its agents uniformly without replacement, and gives each a destination drawn from the rest of
the row. Agents in one state are exchangeable, so this is exactly the distribution of
independent per-agent draws, at a cost proportional to the number of transitions.
"""

import numpy as np
from numba import njit

from channelsim.kernels.markov import other_state
from channelsim.kernels.rng import binomial, next_uniform


@njit(cache=True)
def group_by_state(states, n_states, order, position, group_start):
    """Rebuild the grouping from the states (a counting sort, stable in agent index)."""
    group_start[: n_states + 1] = 0
    for i in range(states.shape[0]):
        group_start[states[i] + 1] += 1
    for s in range(n_states):
        group_start[s + 1] += group_start[s]
    fill = group_start[:n_states].copy()
    for i in range(states.shape[0]):
        s = states[i]
        order[fill[s]] = i
        position[i] = fill[s]
        fill[s] += 1


@njit(cache=True, inline="always")
def _swap(order, position, i, j):
    a, b = order[i], order[j]
    order[i], order[j] = b, a
    position[b], position[a] = i, j


@njit(cache=True)
def _relocate(order, position, group_start, agent, source, target):
    """Move an agent's entry from group `source` to group `target`, one boundary at a time."""
    if target > source:
        for g in range(source, target):
            last = group_start[g + 1] - 1
            _swap(order, position, position[agent], last)
            group_start[g + 1] -= 1  # the agent is now the first of group g + 1
    else:
        for g in range(source, target, -1):
            first = group_start[g]
            _swap(order, position, position[agent], first)
            group_start[g] += 1  # the agent is now the last of group g - 1


@njit(cache=True)
def expected_transitions(group_start, matrix, n_states):
    """Compute the expected number of agents that leave their state in one step.

    sum_s n_s sum_{t != s} P[s, t], n_s being the size of state group s; the loop draws only the
    transitions (`agent_step_events`) when this is small against the number of agents.
    """
    total = 0.0
    for s in range(n_states):
        n = group_start[s + 1] - group_start[s]
        for t in range(n_states):
            if t != s:
                total += n * matrix[s, t]
    return total


@njit(cache=True)
def agent_step_events(states, blocked, order, position, group_start, matrix, n_states, conducting, n_open, state):
    """Advance the agents one step by drawing only the transitions.

    Returns (open, unblocked count, new random-stream state). `n_open` is the count before the
    step.
    """
    leavers = np.zeros(n_states, dtype=np.int64)
    leave = np.zeros(n_states)
    total = 0
    for s in range(n_states):
        for t in range(n_states):
            if t != s:
                leave[s] += matrix[s, t]  # summed, not 1 - P_ss, to keep precision
        n = group_start[s + 1] - group_start[s]
        if n > 0 and leave[s] > 0.0:
            leavers[s], state = binomial(n, min(1.0, leave[s]), state)
            total += leavers[s]
    movers = np.empty(total, dtype=np.int64)
    targets = np.empty(total, dtype=np.int64)
    m = 0
    for s in range(n_states):
        first, n = group_start[s], group_start[s + 1] - group_start[s]
        for j in range(leavers[s]):
            u, state = next_uniform(state)
            _swap(order, position, first + np.int64(u * (n - j)), first + n - 1 - j)  # chosen to the end
            u, state = next_uniform(state)
            movers[m] = order[first + n - 1 - j]
            targets[m] = other_state(matrix, s, n_states, u * leave[s])
            m += 1
    for q in range(total):  # apply after choosing, so that no agent moves twice in a step
        agent, target = movers[q], targets[q]
        source = states[agent]
        n_open += (conducting[target] - conducting[source]) * (1 - blocked[agent])
        states[agent] = target
        _relocate(order, position, group_start, agent, source, target)
    return n_open, state
