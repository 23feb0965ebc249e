"""Transition tables expm(Q(v) dt) and stationary occupancies, against independent references.

References: `scipy.linalg.expm` (Pade scaling and squaring, Al-Mohy & Higham 2009), the null
space of Q^T (`scipy.linalg.null_space`, from the SVD), and, for the Hodgkin-Huxley schemes, the
closed form of independent gates: the stationary occupancy of m{i}h{j} is
Binomial(3, m_inf)(i) * Bernoulli(h_inf)(j), that of n{i} is Binomial(4, n_inf)(i).

Tolerance of a matrix exponential. The relative condition number of exp at A is at least
||A|| (Higham 2008, Functions of Matrices, SIAM, section 10.2), so any two double-precision
implementations may differ by about eps ||Q dt||. `tables.expm` scales a whole voltage stack
by its largest norm, so that is the norm that counts: the tests allow 16 eps max(1, ||Q dt||)
with ||.|| the largest infinity norm over the voltage grid (measured errors are 1-3 eps ||Q dt||
for the raw exponential and below that for the renormalised tables).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.linalg import expm as scipy_expm
from scipy.linalg import null_space

from channelsim.channels.hh import alpha_h, alpha_m, alpha_n, beta_h, beta_m, beta_n, potassium_scheme, sodium_scheme
from channelsim.channels.leak import leak_scheme
from channelsim.constants import ZERO_CELSIUS
from channelsim.model.tables import V_MIN, V_POINTS, V_STEP, expm, stationary_distribution, transition_table

EPS = np.finfo(float).eps
GRID = V_MIN + V_STEP * np.arange(V_POINTS)
VOLTAGES_MV = (-200.0, -100.0, -65.0, -40.0, -20.0, 0.0, 30.0, 60.0, 200.0)  # on the grid, both edges included
SCHEMES = {
    "hh_na": sodium_scheme(),
    "hh_k": potassium_scheme(),
    "flicker": leak_scheme(0.3, 1e-3),  # closed <-> open, p_open 0.3, mean open time 1 ms
    "flicker_rare": leak_scheme(1e-4, 2e-4),  # rarely open: k_open 0.5 /s, k_close 5000 /s
}
TEMPERATURES_K = (ZERO_CELSIUS + 6.3, ZERO_CELSIUS + 37.0)
DTS = (1e-6, 1e-5, 1e-4, 1e-3)


def grid_index(v_mV: float) -> int:
    index = round((v_mV * 1e-3 - V_MIN) / V_STEP)
    assert abs(GRID[index] - v_mV * 1e-3) < 1e-12
    return index


def expm_tolerance(q_dt: np.ndarray) -> float:
    """16 eps max(1, ||Q dt||_inf), the norm taken over the whole stack (see the module notes)."""
    return 16.0 * EPS * max(1.0, float(np.abs(q_dt).sum(axis=-1).max()))


@pytest.mark.parametrize("temperature_K", TEMPERATURES_K, ids=["6.3degC", "37degC"])
@pytest.mark.parametrize("dt", DTS)
@pytest.mark.parametrize("name", SCHEMES)
def test_table_is_the_matrix_exponential_and_stochastic(name, dt, temperature_K):
    scheme = SCHEMES[name]
    table = transition_table(scheme, temperature_K, dt)
    n = len(scheme.states)
    assert table.shape == (V_POINTS, n, n)
    # stochastic: non-negative rows summing to 1 at every grid voltage
    assert table.min() >= 0.0
    np.testing.assert_allclose(table.sum(axis=-1), 1.0, rtol=0, atol=4 * n * EPS)
    indices = [grid_index(v) for v in VOLTAGES_MV]
    q = scheme.rate_matrix(GRID[indices], temperature_K)
    tolerance = expm_tolerance(scheme.rate_matrix(GRID, temperature_K) * dt)
    for index, rates in zip(indices, q, strict=True):
        np.testing.assert_allclose(table[index], scipy_expm(rates * dt), rtol=0, atol=tolerance,
                                   err_msg=f"{name} at {GRID[index] * 1e3:.1f} mV")


@pytest.mark.parametrize("name", SCHEMES)
def test_table_steps_compose(name):
    """expm(Q 2dt) = expm(Q dt)^2 (the semigroup property), at every grid voltage at once."""
    scheme, temperature = SCHEMES[name], ZERO_CELSIUS + 20.0
    one, two = transition_table(scheme, temperature, 1e-5), transition_table(scheme, temperature, 2e-5)
    tolerance = 4 * expm_tolerance(scheme.rate_matrix(GRID, temperature) * 2e-5)
    np.testing.assert_allclose(one @ one, two, rtol=0, atol=tolerance)


def test_always_open_leak_has_the_trivial_table():
    table = transition_table(leak_scheme(1.0, 1e-3), ZERO_CELSIUS + 37.0, 1e-3)
    assert table.shape == (V_POINTS, 1, 1) and np.all(table == 1.0)


def random_generators(n_states: int, count: int, scale: float, seed: int) -> np.ndarray:
    """Random rate matrices (log-uniform off-diagonal rates over six decades, rows summing to 0)."""
    rng = np.random.default_rng(seed)
    q = scale * 10.0 ** rng.uniform(-6.0, 0.0, size=(count, n_states, n_states))
    q *= rng.random((count, n_states, n_states)) < 0.6  # some transitions absent
    idx = np.arange(n_states)
    q[:, idx, idx] = 0.0
    q[:, idx, idx] = -q.sum(axis=-1)
    return q


@pytest.mark.parametrize("scale", [1e-3, 0.4, 3.0, 1e3, 1e6])
def test_expm_of_random_generators(scale):
    """`tables.expm` on its own, on random generators (each a stack of one, with its own norm)."""
    for n_states in (2, 5, 8):
        for q in random_generators(n_states, 20, scale, seed=n_states):
            result = expm(q)
            assert np.all(np.isfinite(result))
            np.testing.assert_allclose(result, scipy_expm(q), rtol=0, atol=expm_tolerance(q), equal_nan=False)


def test_expm_of_scalars_is_exp():
    """1 x 1 matrices: expm([[x]]) = e^x to a relative 16 eps max |x|.

    The condition number of exp at x is |x|, and the stack is scaled by its largest, 100: the
    scaling must not spoil the entries far smaller than the largest.
    """
    x = np.concatenate([-np.logspace(-8, 2, 41), np.logspace(-8, 1, 37)])
    result = expm(x[:, None, None])[:, 0, 0]
    np.testing.assert_allclose(result, np.exp(x), rtol=16 * EPS * 100.0, atol=0)


def test_expm_of_zero_is_the_identity():
    np.testing.assert_array_equal(expm(np.zeros((3, 4, 4))), np.broadcast_to(np.eye(4), (3, 4, 4)))


# --- stationary occupancies --------------------------------------------------------------------------


def null_space_occupancy(q: np.ndarray) -> np.ndarray:
    """Return the left null vector of Q (pi Q = 0), normalised to sum 1; an irreducible chain has one."""
    basis = null_space(q.T)
    assert basis.shape[1] == 1
    pi = basis[:, 0]
    return pi / pi.sum()


@pytest.mark.parametrize("temperature_K", TEMPERATURES_K, ids=["6.3degC", "37degC"])
@pytest.mark.parametrize("name", SCHEMES)
def test_stationary_distribution_is_the_null_space_of_q(name, temperature_K):
    scheme = SCHEMES[name]
    for v_mV in VOLTAGES_MV[1:-1]:  # the grid edges have rates spanning ~20 decades
        v = v_mV * 1e-3
        q = scheme.rate_matrix(np.array([v]), temperature_K)[0]
        pi = stationary_distribution(scheme, v, temperature_K)
        assert pi.min() >= 0.0 and abs(pi.sum() - 1.0) < 4 * EPS * len(pi)
        # a residual of pi Q at double precision: eps times the largest rate times len(pi)
        scale = np.abs(q).max()
        assert np.abs(pi @ q).max() <= 64 * EPS * scale, (name, v_mV)
        np.testing.assert_allclose(pi, null_space_occupancy(q), rtol=0, atol=1e-12, err_msg=f"{name} {v_mV} mV")


@pytest.mark.parametrize("name", SCHEMES)
def test_one_table_step_leaves_the_stationary_occupancy_unchanged(name):
    scheme, temperature = SCHEMES[name], ZERO_CELSIUS + 6.3
    table = transition_table(scheme, temperature, 1e-4)
    for v_mV in VOLTAGES_MV[1:-1]:
        pi = stationary_distribution(scheme, v_mV * 1e-3, temperature)
        np.testing.assert_allclose(pi @ table[grid_index(v_mV)], pi, rtol=0, atol=1e-12)


@pytest.mark.parametrize("temperature_K", TEMPERATURES_K, ids=["6.3degC", "37degC"])
@pytest.mark.parametrize("v_mV", [-100.0, -65.0, -40.0, -20.0, 0.0, 30.0])
def test_hh_stationary_occupancy_is_that_of_independent_gates(v_mV, temperature_K):
    v = v_mV * 1e-3
    m = alpha_m(v, temperature_K) / (alpha_m(v, temperature_K) + beta_m(v, temperature_K))
    h = alpha_h(v, temperature_K) / (alpha_h(v, temperature_K) + beta_h(v, temperature_K))
    n = alpha_n(v, temperature_K) / (alpha_n(v, temperature_K) + beta_n(v, temperature_K))
    m_gates = [math.comb(3, i) * m**i * (1 - m) ** (3 - i) for i in range(4)]
    sodium = np.array([m_gates[i] * (h if j else 1 - h) for j in (0, 1) for i in range(4)])  # m{i}h{j}
    potassium = np.array([math.comb(4, i) * n**i * (1 - n) ** (4 - i) for i in range(5)])
    na, k = sodium_scheme(), potassium_scheme()
    np.testing.assert_allclose(stationary_distribution(na, v, temperature_K), sodium, rtol=0, atol=1e-12)
    np.testing.assert_allclose(stationary_distribution(k, v, temperature_K), potassium, rtol=0, atol=1e-12)
    # the open states carry m^3 h and n^4
    assert na.states[np.flatnonzero(na.conducting_mask)[0]] == "m3h1"
    assert sodium[na.conducting_mask.astype(bool)][0] == pytest.approx(m**3 * h, rel=1e-12)
    assert potassium[k.conducting_mask.astype(bool)][0] == pytest.approx(n**4, rel=1e-12)


def test_flicker_stationary_occupancy_is_its_open_probability():
    for p in (1e-4, 0.3, 0.9):
        pi = stationary_distribution(leak_scheme(p, 1e-3), 0.0, ZERO_CELSIUS + 37.0)
        np.testing.assert_allclose(pi, [1 - p, p], rtol=0, atol=1e-14)
