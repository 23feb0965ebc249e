"""The transition-only agent update: exact statistics and consistent grouping."""

import math

import numpy as np

from channelsim.kernels.agent_events import agent_step_events, group_by_state
from channelsim.kernels.rng import stream_key
from tests.helpers import gate_chain

# 4 independent gates: stationary occupancy Binomial(4, a / (a + b)) over the active gates
MATRIX, STATIONARY = gate_chain(0.01, 0.02)
CONDUCTING = np.array([0, 0, 0, 0, 1], dtype=np.int64)


def test_relaxes_to_the_stationary_occupancy_with_consistent_groups():
    n = 50_000
    states = np.zeros(n, dtype=np.uint8)
    blocked = np.zeros(n, dtype=np.uint8)
    blocked[::10] = 1
    order, position, groups = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(6, np.int64)
    group_by_state(states, 5, order, position, groups)
    n_open = 0
    for step in range(1500):  # relaxation time 1/(a + b) = 33 steps: 45 of them
        n_open, _ = agent_step_events(states, blocked, order, position, groups, MATRIX, 5, CONDUCTING, n_open,
                                      np.uint64(stream_key(7, step, 1)))
    occupancy = np.bincount(states, minlength=5) / n
    np.testing.assert_array_less(np.abs(occupancy - STATIONARY), 5 * np.sqrt(STATIONARY * (1 - STATIONARY) / n))
    assert n_open == np.count_nonzero((states == 4) & (blocked == 0))
    # the grouping matches the states exactly
    assert np.array_equal(position[order], np.arange(n))
    assert np.array_equal(groups, np.concatenate([[0], np.cumsum(np.bincount(states, minlength=5))]))
    for s in range(5):
        assert np.all(states[order[groups[s]:groups[s + 1]]] == s)


def test_one_step_transition_counts_are_multinomial():
    """From all agents in state 2, one step: the counts moving to 1 and 3 are multinomial.

    Their means are n P_21, n P_23 (checked over many independent steps).
    """
    n, trials = 2000, 400
    moved = np.zeros((trials, 5))
    for trial in range(trials):
        states = np.full(n, 2, dtype=np.uint8)
        order, position, groups = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(6, np.int64)
        group_by_state(states, 5, order, position, groups)
        agent_step_events(states, np.zeros(n, np.uint8), order, position, groups, MATRIX, 5, CONDUCTING, 0,
                          np.uint64(stream_key(3, trial, 0)))
        moved[trial] = np.bincount(states, minlength=5)
    for target in (1, 3):
        p = MATRIX[2, target]
        assert abs(moved[:, target].mean() - n * p) < 5 * math.sqrt(n * p * (1 - p) / trials)
