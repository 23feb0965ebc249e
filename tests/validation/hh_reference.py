"""Independent reference for the HH validation: the Hodgkin-Huxley (1952) equations as an ODE.

Solved with scipy LSODA, tight tolerances; written here from the paper, not from channelsim's
code.

Units as in HH: mV, ms, uA/cm^2, mS/cm^2, uF/cm^2; modern convention, rest near -65 mV, 6.3 degC.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

E_NA, E_K, E_L = 50.0, -77.0, -54.387
G_NA, G_K, G_L = 120.0, 36.0, 0.3


def rates(v: float) -> tuple[float, ...]:
    """alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n in 1/ms."""
    x_m, x_n = v + 40.0, v + 55.0
    alpha_m = 1.0 if abs(x_m) < 1e-9 else 0.1 * x_m / -math.expm1(-x_m / 10.0)
    alpha_n = 0.1 if abs(x_n) < 1e-9 else 0.01 * x_n / -math.expm1(-x_n / 10.0)
    return (alpha_m, 4.0 * math.exp(-(v + 65.0) / 18.0), 0.07 * math.exp(-(v + 65.0) / 20.0),
            1.0 / (1.0 + math.exp(-(v + 35.0) / 10.0)), alpha_n, 0.125 * math.exp(-(v + 65.0) / 80.0))


def steady_gates(v: float) -> tuple[float, float, float]:
    am, bm, ah, bh, an, bn = rates(v)
    return am / (am + bm), ah / (ah + bh), an / (an + bn)


def ionic_current(v, m, h, n) -> float:
    return G_NA * m**3 * h * (v - E_NA) + G_K * n**4 * (v - E_K) + G_L * (v - E_L)


def resting_potential() -> float:
    return brentq(lambda v: ionic_current(v, *steady_gates(v)), -70.0, -60.0, xtol=1e-12)


def run(amplitude: float, start: float, duration: float, t_end: float) -> dict:
    """Simulate a current step (uA/cm^2) from `start` for `duration` (ms).

    From rest at -65 mV with steady gates; returns spike times (upward 0 mV crossings) and
    voltage maxima.
    """

    def rhs(t, y, current):
        v, m, h, n = y
        am, bm, ah, bh, an, bn = rates(v)
        return [current - ionic_current(v, m, h, n), am * (1 - m) - bm * m, ah * (1 - h) - bh * h,
                an * (1 - n) - bn * n]

    def crossing(t, y, current):
        return y[0]

    def maximum(t, y, current):
        return rhs(t, y, current)[0]

    crossing.direction, maximum.direction = 1, -1
    y = [-65.0, *steady_gates(-65.0)]
    spikes, maxima = [], []
    for a, b, current in ((0.0, start, 0.0), (start, start + duration, amplitude), (start + duration, t_end, 0.0)):
        if b <= a:
            continue
        solution = solve_ivp(rhs, (a, b), y, method="LSODA", rtol=1e-9, atol=1e-11, args=(current,),
                             events=(crossing, maximum))
        y = solution.y[:, -1]
        spikes.extend(solution.t_events[0])
        maxima.extend(v for v, *_ in solution.y_events[1])
    return {"spikes": np.array(spikes), "maxima": np.array(maxima)}
