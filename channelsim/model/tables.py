"""Per-step transition matrices expm(Q(v) dt) over a voltage grid, and stationary states."""

from __future__ import annotations

import numpy as np

from channelsim.channels.scheme import MarkovScheme

#: Voltage grid of the tables: -200 mV to +200 mV in 0.1 mV steps (V beyond it uses the edge).
V_MIN = -0.2
V_STEP = 1e-4
V_POINTS = 4001


def expm(q: np.ndarray) -> np.ndarray:
    """Matrix exponential of a stack of matrices by scaling and squaring of a Taylor series.

    The matrices are scaled by 2^-s until their infinity norm is below 1/2; 20 Taylor terms
    then have a truncation error below 2^-20 / 20! (far under double precision).
    """
    norm = np.abs(q).sum(axis=-1).max()
    squarings = max(0, int(np.ceil(np.log2(norm / 0.5)))) if norm > 0.5 else 0
    a = q / 2.0**squarings
    result = np.broadcast_to(np.eye(q.shape[-1]), q.shape).copy()
    term = result.copy()
    for order in range(1, 21):
        term = term @ a / order
        result = result + term
    for _ in range(squarings):
        result = result @ result
    return result


def transition_table(scheme: MarkovScheme, temperature_K: float, dt: float, transmitter: float = 0.0) -> np.ndarray:
    """P[iv, i, j] = probability of i -> j within dt at grid voltage iv; shape (V_POINTS, S, S).

    `transmitter` (mol/m^3) is the concentration the scheme's ligand transitions see during the step.
    """
    v = V_MIN + V_STEP * np.arange(V_POINTS)
    p = expm(scheme.rate_matrix(v, temperature_K, transmitter) * dt)
    p = np.clip(p, 0.0, 1.0)
    return p / p.sum(axis=-1, keepdims=True)


def stationary_distribution(scheme: MarkovScheme, v: float, temperature_K: float,
                            transmitter: float = 0.0) -> np.ndarray:
    """Occupancy pi with pi Q(v) = 0 and sum(pi) = 1 (at transmitter concentration `transmitter`, mol/m^3)."""
    q = scheme.rate_matrix(np.array([v]), temperature_K, transmitter)[0]
    n = q.shape[0]
    system = np.vstack([q.T, np.ones(n)])
    rhs = np.zeros(n + 1)
    rhs[-1] = 1.0
    pi = np.linalg.lstsq(system, rhs, rcond=None)[0]
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()
