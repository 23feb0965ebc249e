"""Exact event-driven reference for the stochastic Hodgkin-Huxley patch, and fixed-step rules beside it.

Written for the tests from the model's definition, independently of channelsim's kernels and
tables: it shares no code with `channelsim` (it imports nothing from it).

The model
---------
A membrane patch of capacitance C with N_Na Hodgkin-Huxley Na+ channels (8 states m_i h_j: i of
3 m gates and j of 1 h gate activated, open in m3h1) and N_K K+ channels (5 states n_i, open in
n4), each of unitary conductance g, and a deterministic ohmic leak g_L. Between two gating events
the open counts are constant, so the membrane is linear and its potential relaxes exactly:

    C dV/dt = -(G V - I_rev),  G = g o_Na + g o_K + g_L,  I_rev = g o_Na E_Na + g o_K E_K + g_L E_L
    V(t0 + s) = V_inf + (V(t0) - V_inf) exp(-s G / C),  V_inf = I_rev / G.

Rate laws: Hodgkin & Huxley (1952) J Physiol 117:500 in the modern convention (rest -65 mV),
times Q10 = 3 per 10 degC from 6.3 degC; gate counts move up at (gates - i) alpha and down at
i beta (Skaugen & Walloe 1979; Goldwyn & Shea-Brown 2011, PLoS Comput Biol 7:e1002247).

`gillespie` simulates this jump process exactly. The propensities depend on V(t), which changes
between events, so the next event is found by thinning (Lewis & Shedler 1979, Naval Res Logist Q
26:403): over a window [t0, t0 + h] V moves monotonically from V(t0) to V(t0 + h), and each of the
six rate laws is monotone in V (alpha_m, beta_h, alpha_n increase; beta_m, alpha_h, beta_n decrease),
so evaluating each law at the end of the window where it is largest bounds every propensity over
the window. Candidate times are drawn from a Poisson process of the bound's total rate B; a
candidate at time s is accepted with probability a(V(s)) / B, a the true total propensity, and the
transition is then chosen in proportion to the propensities at V(s). A candidate past the window
ends it without an event (the Poisson process is memoryless). No time step enters anywhere: V is
the closed form above, spike times are the exact upward crossings of the threshold, and the
sampled voltage and open counts are the trajectory's values at the sample times.

`stepped` advances the same model in fixed steps of dt with one of two per-step gating rules, as
population counts (multinomial updates, the same law as one draw per channel):

- ``rule="exact"``: the transition probabilities of a step at frozen V, expm(Q(V) dt), written
  here in closed form from the independence of the gates (a gate with rates alpha, beta stays
  or flips with the two-state propagator; a gate count's step is the sum of two binomials);
- ``rule="first_order"``: a channel leaves its state with probability 1 - exp(-R dt), R its total
  exit rate, to an exit chosen in proportion to its rate: at most one transition per step, so
  every visit to a state lasts at least one step. This is the rule of the NEURON, numpy and
  Brian2 peer scripts (and of many published Markov-chain simulators).

and one of two orders within a step:

- ``order="gate_first"`` (the peers'): gate at the step's starting V, then pass the current of the
  new open counts, V by forward Euler;
- ``order="current_first"`` (channelsim's): pass the current of the starting open counts (V by the
  exact exponential of the linear membrane, which is what channelsim's step-averaged voltage gives
  for ohmic channels), then gate at the step's starting V.

Spikes are upward crossings of 0 mV, re-armed below -30 mV; in `stepped` they are looked for at
the end of every step, as channelsim and the peers do. Units: SI (V, s, S, F) at the interface;
the rate laws are evaluated in mV and 1/ms internally and returned in 1/s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

#: CODATA 2018 exact values.
GAS_CONSTANT = 8.314462618  # J / (mol K)
FARADAY = 96485.33212  # C / mol
ZERO_CELSIUS = 273.15
#: Hodgkin & Huxley (1952): the rate laws' reference temperature and their Q10.
REFERENCE_CELSIUS = 6.3
Q10 = 3.0
#: Spike detector (as channelsim's and the peers').
THRESHOLD_V = 0.0
REARM_V = -0.030
NA_OPEN, K_OPEN = 7, 4
RULES = {"exact": 0, "first_order": 1}
ORDERS = {"current_first": 0, "gate_first": 1}
GATE_VOLTAGES = {"start": 0, "mean": 1, "end": 2}
UPDATES = {"exponential": 0, "euler": 1}


def nernst(valence: int, inside_mM: float, outside_mM: float, temperature_K: float) -> float:
    """Reversal potential (V) of an ion: (RT / zF) ln(c_out / c_in)."""
    return GAS_CONSTANT * temperature_K / (valence * FARADAY) * math.log(outside_mM / inside_mM)


@dataclass(frozen=True)
class Patch:
    """The membrane of `experiments/stochastic_patch.toml`, in SI units.

    Defaults: 60 Na+ and 18 K+ channels per um^2 of 20 pS (120 and 36 mS/cm^2, as in Goldwyn &
    Shea-Brown's 2011 code, ModelDB 138950), leak 0.3 mS/cm^2, 1 uF/cm^2, 6.3 degC; reversal
    potentials from the experiment's concentrations (Na 55.17 / 440 mM, K 400 / 16.35 mM, Cl 58.52 /
    560 mM inside / outside), which are HH's +50, -77 and -54.4 mV.
    """

    area_um2: float = 100.0
    na_density_per_um2: float = 60.0
    k_density_per_um2: float = 18.0
    unitary_S: float = 20e-12
    leak_S_per_m2: float = 3.0  # 0.3 mS/cm^2
    capacitance_F_per_m2: float = 0.01  # 1 uF/cm^2
    celsius: float = 6.3
    initial_V: float = -0.065

    @property
    def temperature_K(self) -> float:
        """Temperature (K)."""
        return ZERO_CELSIUS + self.celsius

    @property
    def n_na(self) -> int:
        """Number of Na+ channels."""
        return round(self.na_density_per_um2 * self.area_um2)

    @property
    def n_k(self) -> int:
        """Number of K+ channels."""
        return round(self.k_density_per_um2 * self.area_um2)

    @property
    def area_m2(self) -> float:
        """Membrane area (m^2)."""
        return self.area_um2 * 1e-12

    @property
    def capacitance_F(self) -> float:
        """Membrane capacitance (F)."""
        return self.capacitance_F_per_m2 * self.area_m2

    @property
    def leak_S(self) -> float:
        """Leak conductance (S)."""
        return self.leak_S_per_m2 * self.area_m2

    @property
    def reversal_V(self) -> tuple[float, float, float]:
        """E_Na, E_K, E_leak (V)."""
        t = self.temperature_K
        return nernst(1, 55.17, 440.0, t), nernst(1, 400.0, 16.35, t), nernst(-1, 58.52, 560.0, t)

    @property
    def rate_factor(self) -> float:
        """Q10 factor of every rate at this temperature."""
        return Q10 ** ((self.celsius - REFERENCE_CELSIUS) / 10.0)

    def parameters(self) -> np.ndarray:
        """Return the kernels' parameter vector: g, g_L, E_Na, E_K, E_L, C, rate factor."""
        e_na, e_k, e_l = self.reversal_V
        return np.array([self.unitary_S, self.leak_S, e_na, e_k, e_l, self.capacitance_F, self.rate_factor])


# -- rate laws ---------------------------------------------------------------------------------


@njit(cache=True)
def _linear_over_exp(x, scale):
    """Return x / (1 - exp(-x / scale)), continuous at x = 0."""
    if abs(x) < 1e-7 * scale:
        return scale + 0.5 * x
    return x / -math.expm1(-x / scale)


@njit(cache=True)
def hh_rates(v, factor):
    """Return alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n (1/s) at V (volts)."""
    u = v * 1e3
    s = 1e3 * factor
    return (s * 0.1 * _linear_over_exp(u + 40.0, 10.0), s * 4.0 * math.exp(-(u + 65.0) / 18.0),
            s * 0.07 * math.exp(-(u + 65.0) / 20.0), s / (1.0 + math.exp(-(u + 35.0) / 10.0)),
            s * 0.01 * _linear_over_exp(u + 55.0, 10.0), s * 0.125 * math.exp(-(u + 65.0) / 80.0))


def rate_matrices(v: float, celsius: float = REFERENCE_CELSIUS) -> tuple[np.ndarray, np.ndarray]:
    """Return the generators Q_Na (8 x 8, state i + 4 j) and Q_K (5 x 5) at V (volts): Q[a, b] = rate a -> b."""
    am, bm, ah, bh, an, bn = hh_rates(v, Q10 ** ((celsius - REFERENCE_CELSIUS) / 10.0))
    q_na = np.zeros((8, 8))
    for j in (0, 1):
        for i in range(4):
            s = i + 4 * j
            if i < 3:
                q_na[s, s + 1] = (3 - i) * am
            if i > 0:
                q_na[s, s - 1] = i * bm
            q_na[s, s + 4 if j == 0 else s - 4] = ah if j == 0 else bh
    q_k = np.zeros((5, 5))
    for i in range(5):
        if i < 4:
            q_k[i, i + 1] = (4 - i) * an
        if i > 0:
            q_k[i, i - 1] = i * bn
    for q in (q_na, q_k):
        q[np.diag_indices_from(q)] = -q.sum(axis=1)
    return q_na, q_k


def stationary(q: np.ndarray) -> np.ndarray:
    """Return pi with pi Q = 0 and sum 1 (least squares on the stacked system)."""
    n = q.shape[0]
    pi = np.linalg.lstsq(np.vstack([q.T, np.ones(n)]), np.r_[np.zeros(n), 1.0], rcond=None)[0]
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


def open_autocovariance(q: np.ndarray, open_state: int, count: int, lags: np.ndarray) -> np.ndarray:
    """Return the closed-form autocovariance of the open count of independent channels.

    `count` channels with generator q, at lags (s): N pi_o [P_oo(tau) - pi_o], with P(tau) =
    expm(Q tau) from the eigendecomposition Q = U diag(lambda) U^-1, a sum of exponentials
    exp(lambda_k tau).
    """
    pi = stationary(q)
    eigenvalues, u = np.linalg.eig(q)
    u_inv = np.linalg.inv(u)
    weights = (u[open_state, :] * u_inv[:, open_state]).real  # P_oo(tau) = sum_k w_k exp(lambda_k tau)
    p_oo = (weights[None, :] * np.exp(np.outer(lags, eigenvalues.real))).sum(axis=1)
    return count * pi[open_state] * (p_oo - pi[open_state])


def initial_counts(patch: Patch, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """State counts drawn from the stationary occupancy at the initial voltage."""
    q_na, q_k = rate_matrices(patch.initial_V, patch.celsius)
    return (rng.multinomial(patch.n_na, stationary(q_na)).astype(np.int64),
            rng.multinomial(patch.n_k, stationary(q_k)).astype(np.int64))


# -- the exact event-driven simulation ---------------------------------------------------------


def _destinations() -> tuple[np.ndarray, np.ndarray]:
    """Where each state's exits lead: Na (8, 3) m up, m down, h flip; K (5, 2) n up, n down."""
    na = np.array([[s + 1, s - 1, s + 4 if s < 4 else s - 4] for s in range(8)], dtype=np.int64)
    k = np.array([[i + 1, i - 1] for i in range(5)], dtype=np.int64)
    return na, k


NA_DESTINATIONS, K_DESTINATIONS = _destinations()


@njit(cache=True)
def _exit_rates(am, bm, ah, bh, an, bn, r_na, r_k):
    """Per-channel rates of every exit of every state (0 where the exit does not exist)."""
    for s in range(8):
        i = s % 4
        r_na[s, 0] = (3 - i) * am
        r_na[s, 1] = i * bm
        r_na[s, 2] = ah if s < 4 else bh
    for i in range(5):
        r_k[i, 0] = (4 - i) * an
        r_k[i, 1] = i * bn


@njit(cache=True)
def _exit_rate_na(s, am, bm, ah, bh):
    i = s % 4
    return (3 - i) * am + i * bm + (ah if s < 4 else bh)


@njit(cache=True)
def _exit_rate_k(i, an, bn):
    return (4 - i) * an + i * bn


@njit(cache=True)
def _total_propensity(na, k, r_na, r_k):
    total = 0.0
    for s in range(8):
        total += na[s] * (r_na[s, 0] + r_na[s, 1] + r_na[s, 2])
    for i in range(5):
        total += k[i] * (r_k[i, 0] + r_k[i, 1])
    return total


@njit(cache=True)
def _fire_one(na, k, target, r_na, r_k, na_to, k_to):
    """Apply the transition that the cumulative propensity `target` (< the total) points at."""
    last_kind, last_state, last_destination = -1, 0, 0
    for s in range(8):
        for e in range(3):
            part = na[s] * r_na[s, e]
            if part > 0.0:
                last_kind, last_state, last_destination = 0, s, na_to[s, e]
                if target < part:
                    na[s] -= 1
                    na[na_to[s, e]] += 1
                    return
                target -= part
    for i in range(5):
        for e in range(2):
            part = k[i] * r_k[i, e]
            if part > 0.0:
                last_kind, last_state, last_destination = 1, i, k_to[i, e]
                if target < part:
                    k[i] -= 1
                    k[k_to[i, e]] += 1
                    return
                target -= part
    # round-off carried `target` past the last transition: that one it is
    if last_kind == 0:
        na[last_state] -= 1
        na[last_destination] += 1
    elif last_kind == 1:
        k[last_state] -= 1
        k[last_destination] += 1


@njit(cache=True)
def _relax(v0, v_inf, tau, s):
    return v_inf + (v0 - v_inf) * math.exp(-s / tau)


@njit(cache=True)
def _advance(t0, v0, v_inf, tau, s, sample_dt, next_sample, samples_v, samples_na, samples_k, n_samples,
             o_na, o_k, armed, spikes, n_spikes):
    """Move the deterministic flow from t0 by s.

    Fills the samples that fall in (t0, t0 + s] and looks for an upward threshold crossing (V is
    monotone over the piece). Returns V, the next sample, the detector's state and the spike count.
    """
    t1 = t0 + s
    while next_sample < samples_v.shape[0] and next_sample * sample_dt <= t1:
        samples_v[next_sample] = _relax(v0, v_inf, tau, next_sample * sample_dt - t0)
        samples_na[next_sample] = o_na
        samples_k[next_sample] = o_k
        next_sample += 1
    v1 = _relax(v0, v_inf, tau, s)
    if armed == 1 and v0 < THRESHOLD_V <= v1:
        crossing = t0 + tau * math.log((v0 - v_inf) / (THRESHOLD_V - v_inf))
        if n_spikes < spikes.shape[0]:
            spikes[n_spikes] = crossing
        n_spikes += 1
        armed = 0
    elif armed == 0 and v1 < REARM_V:
        armed = 1
    return v1, next_sample, armed, n_spikes


@njit(cache=True)
def _gillespie(na, k, v, parameters, t_end, sample_dt, seed, max_spikes, na_to, k_to):
    np.random.seed(seed)
    r_na, r_k = np.zeros((8, 3)), np.zeros((5, 2))
    g, g_leak, e_na, e_k, e_leak, capacitance, factor = (parameters[0], parameters[1], parameters[2],
                                                         parameters[3], parameters[4], parameters[5], parameters[6])
    n_samples = int(math.floor(t_end / sample_dt + 1e-9)) + 1
    samples_v = np.empty(n_samples)
    samples_na = np.empty(n_samples, dtype=np.int64)
    samples_k = np.empty(n_samples, dtype=np.int64)
    spikes = np.empty(max_spikes)
    n_spikes = 0
    armed = 1 if v < THRESHOLD_V else 0
    next_sample = 0
    t = 0.0
    events = 0
    candidates = 0
    while t < t_end:
        o_na, o_k = na[NA_OPEN], k[K_OPEN]
        conductance = g * (o_na + o_k) + g_leak
        v_inf = (g * (o_na * e_na + o_k * e_k) + g_leak * e_leak) / conductance
        tau = capacitance / conductance
        # window: V moves at most ~0.5 mV, and no further than the end of the run
        gap = abs(v - v_inf)
        h = tau if gap < 5e-4 else tau * 5e-4 / gap
        h = min(h, t_end - t)
        v_h = _relax(v, v_inf, tau, h)
        low, high = min(v, v_h), max(v, v_h)
        am, _, _, bh, an, _ = hh_rates(high, factor)
        _, bm, ah, _, _, bn = hh_rates(low, factor)
        _exit_rates(am, bm, ah, bh, an, bn, r_na, r_k)
        bound = _total_propensity(na, k, r_na, r_k)
        s = 0.0
        fired = False
        while bound > 0.0:  # no channel that can move: the window passes without an event
            s += np.random.exponential(1.0) / bound
            if s >= h:
                break
            candidates += 1
            v_s = _relax(v, v_inf, tau, s)
            am, bm, ah, bh, an, bn = hh_rates(v_s, factor)
            _exit_rates(am, bm, ah, bh, an, bn, r_na, r_k)
            total = _total_propensity(na, k, r_na, r_k)
            u = np.random.random() * bound
            if u < total:
                v, next_sample, armed, n_spikes = _advance(
                    t, v, v_inf, tau, s, sample_dt, next_sample, samples_v, samples_na, samples_k, n_samples,
                    o_na, o_k, armed, spikes, n_spikes)
                t += s
                _fire_one(na, k, u, r_na, r_k, na_to, k_to)  # u is uniform on [0, total) here
                events += 1
                fired = True
                break
        if not fired:
            v, next_sample, armed, n_spikes = _advance(
                t, v, v_inf, tau, h, sample_dt, next_sample, samples_v, samples_na, samples_k, n_samples,
                o_na, o_k, armed, spikes, n_spikes)
            t += h
    while next_sample < n_samples:  # the last sample at t_end exactly
        samples_v[next_sample] = v
        samples_na[next_sample] = na[NA_OPEN]
        samples_k[next_sample] = k[K_OPEN]
        next_sample += 1
    return spikes[:min(n_spikes, max_spikes)], n_spikes, samples_v, samples_na, samples_k, events, candidates


@dataclass(frozen=True)
class Run:
    """A simulated patch.

    Spike times (s), V (V) and open counts sampled every `sample_dt` from t = 0, the duration (s),
    and the work done (events, or steps).
    """

    spike_times: np.ndarray
    n_spikes: int
    v: np.ndarray
    open_na: np.ndarray
    open_k: np.ndarray
    sample_dt: float
    duration: float
    work: int

    @property
    def rate(self) -> float:
        """Spikes per second."""
        return self.n_spikes / self.duration


def gillespie(patch: Patch, duration: float, seed: int, sample_dt: float = 1e-4) -> Run:
    """Simulate `patch` exactly for `duration` (s) from its stationary state at the initial V."""
    na, k = initial_counts(patch, np.random.default_rng([seed, 1]))
    spikes, n_spikes, v, o_na, o_k, events, _ = _gillespie(
        na, k, patch.initial_V, patch.parameters(), duration, sample_dt, seed, int(duration * 2000) + 10,
        NA_DESTINATIONS, K_DESTINATIONS)
    return Run(spikes, int(n_spikes), v, o_na, o_k, sample_dt, duration, int(events))


# -- fixed-step rules -------------------------------------------------------------------------


@njit(cache=True)
def _gate_propagator(alpha, beta, dt):
    """One gate over dt at frozen rates: P(closed -> open), P(open -> closed)."""
    total = alpha + beta
    relaxed = -math.expm1(-total * dt)
    return alpha / total * relaxed, beta / total * relaxed


@njit(cache=True)
def _binomial_pmf(n, p, k):
    ways = 1.0
    for i in range(k):
        ways = ways * (n - i) / (i + 1)
    return ways * p**k * (1.0 - p) ** (n - k)


@njit(cache=True)
def _count_step_matrix(gates, p_up, p_down, out):
    """Write out[i, i'] = P(a count of i active gates among `gates` becomes i').

    Each gate is independent: i' = (actives that stay) + (inactives that activate), two binomials.
    """
    for i in range(gates + 1):
        for target in range(gates + 1):
            out[i, target] = 0.0
        for stay in range(i + 1):
            p_stay = _binomial_pmf(i, 1.0 - p_down, stay)
            for rise in range(gates - i + 1):
                out[i, stay + rise] += p_stay * _binomial_pmf(gates - i, p_up, rise)


@njit(cache=True)
def _exact_matrices(v, factor, dt, p_na, p_k, m_part, h_part):
    """Write the step's transition matrices at frozen V, expm(Q dt), from the gates' propagators."""
    am, bm, ah, bh, an, bn = hh_rates(v, factor)
    up, down = _gate_propagator(am, bm, dt)
    _count_step_matrix(3, up, down, m_part)
    up, down = _gate_propagator(ah, bh, dt)
    h_part[0, 0], h_part[0, 1], h_part[1, 0], h_part[1, 1] = 1.0 - up, up, down, 1.0 - down
    for s in range(8):
        for d in range(8):
            p_na[s, d] = m_part[s % 4, d % 4] * h_part[s // 4, d // 4]
    up, down = _gate_propagator(an, bn, dt)
    _count_step_matrix(4, up, down, p_k)


@njit(cache=True)
def _first_order_matrices(v, factor, dt, p_na, p_k):
    """Leave with probability 1 - exp(-R dt), to an exit in proportion to its rate."""
    am, bm, ah, bh, an, bn = hh_rates(v, factor)
    p_na[:, :] = 0.0
    for s in range(8):
        i, j = s % 4, s // 4
        rate = _exit_rate_na(s, am, bm, ah, bh)
        leave = -math.expm1(-rate * dt) / rate
        if i < 3:
            p_na[s, s + 1] = (3 - i) * am * leave
        if i > 0:
            p_na[s, s - 1] = i * bm * leave
        p_na[s, s + 4 if j == 0 else s - 4] = (ah if j == 0 else bh) * leave
        p_na[s, s] = math.exp(-rate * dt)
    p_k[:, :] = 0.0
    for i in range(5):
        rate = _exit_rate_k(i, an, bn)
        leave = -math.expm1(-rate * dt) / rate
        if i < 4:
            p_k[i, i + 1] = (4 - i) * an * leave
        if i > 0:
            p_k[i, i - 1] = i * bn * leave
        p_k[i, i] = math.exp(-rate * dt)


@njit(cache=True)
def _multinomial_step(counts, p, new):
    """Each state's channels move to the row's destinations: sequential conditional binomials."""
    n = counts.shape[0]
    new[:] = 0
    for s in range(n):
        left, mass = counts[s], 1.0
        for d in range(n):
            if left == 0:
                break
            if d == n - 1 or mass <= p[s, d]:
                moved = left
            else:
                moved = np.random.binomial(left, min(1.0, p[s, d] / mass))
            new[d] += moved
            left -= moved
            mass -= p[s, d]
    counts[:] = new


@njit(cache=True)
def _step_matrices(rule, v, factor, dt, p_na, p_k, m_part, h_part):
    if rule == 0:
        _exact_matrices(v, factor, dt, p_na, p_k, m_part, h_part)
    else:
        _first_order_matrices(v, factor, dt, p_na, p_k)


@njit(cache=True)
def _stepped(na, k, v, parameters, dt, n_steps, record_every, rule, order, gate_voltage, update, seed):
    np.random.seed(seed)
    g, g_leak, e_na, e_k, e_leak, capacitance, factor = (parameters[0], parameters[1], parameters[2],
                                                         parameters[3], parameters[4], parameters[5], parameters[6])
    p_na, p_k = np.zeros((8, 8)), np.zeros((5, 5))
    m_part, h_part = np.zeros((4, 4)), np.zeros((2, 2))
    new_na, new_k = np.zeros(8, dtype=np.int64), np.zeros(5, dtype=np.int64)
    n_rows = n_steps // record_every + 1
    samples_v = np.empty(n_rows)
    samples_na = np.empty(n_rows, dtype=np.int64)
    samples_k = np.empty(n_rows, dtype=np.int64)
    samples_v[0], samples_na[0], samples_k[0] = v, na[NA_OPEN], k[K_OPEN]
    spikes = np.empty(n_steps // 2 + 1)
    n_spikes = 0
    armed = 1 if v < THRESHOLD_V else 0
    for step in range(n_steps):
        if order == 1:  # gate first, at the starting V
            _step_matrices(rule, v, factor, dt, p_na, p_k, m_part, h_part)
            _multinomial_step(na, p_na, new_na)
            _multinomial_step(k, p_k, new_k)
        o_na, o_k = na[NA_OPEN], k[K_OPEN]
        conductance = g * (o_na + o_k) + g_leak
        v_inf = (g * (o_na * e_na + o_k * e_k) + g_leak * e_leak) / conductance
        x = dt * conductance / capacitance
        if update == 0:  # the exact relaxation of the linear membrane over the step
            v_next = v_inf + (v - v_inf) * math.exp(-x)
        else:  # forward Euler
            v_next = v - x * (v - v_inf)
        if order == 0:  # current first (done), then gate at the starting, step-averaged or end V
            if gate_voltage == 0:
                v_gate = v
            elif gate_voltage == 1:
                v_gate = v_inf + (v - v_inf) * -math.expm1(-x) / x
            else:
                v_gate = v_next
            _step_matrices(rule, v_gate, factor, dt, p_na, p_k, m_part, h_part)
            _multinomial_step(na, p_na, new_na)
            _multinomial_step(k, p_k, new_k)
        v = v_next
        if armed == 1 and v >= THRESHOLD_V:
            spikes[n_spikes] = (step + 1) * dt
            n_spikes += 1
            armed = 0
        elif armed == 0 and v < REARM_V:
            armed = 1
        if (step + 1) % record_every == 0:
            row = (step + 1) // record_every
            samples_v[row], samples_na[row], samples_k[row] = v, na[NA_OPEN], k[K_OPEN]
    return spikes[:n_spikes], samples_v, samples_na, samples_k


def stepped(patch: Patch, duration: float, dt: float, seed: int, rule: str = "first_order",
            order: str = "gate_first", gate_voltage: str = "start", update: str = "euler",
            sample_dt: float = 1e-4) -> Run:
    """Advance `patch` in fixed steps of dt (see the module docstring).

    Parameters
    ----------
    patch : Patch
        The membrane and its channels.
    duration, dt : float
        Simulated time and time step (s).
    seed : int
        Seed of the initial states and of the transitions.
    rule : {"first_order", "exact"}
        Per-step gating rule.
    order : {"gate_first", "current_first"}
        Gate then pass the current of the new open counts (the peers'), or pass the current of the
        starting open counts then gate (channelsim's).
    gate_voltage : {"start", "mean", "end"}
        With ``current_first``: gate at the step's starting V, at its mean over the step's exact
        relaxation (channelsim's step-averaged V_bar), or at its end.
    update : {"euler", "exponential"}
        Voltage update: forward Euler (the peers') or the exact relaxation of the linear membrane of
        the step's open counts (what channelsim's step-averaged voltage moves for ohmic channels).
    sample_dt : float
        Sampling interval of V and the open counts (s), a whole number of steps.

    Returns
    -------
    Run
        Spikes detected at the end of every step, samples, and the number of steps as the work.
    """
    n_steps = round(duration / dt)
    record_every = max(1, round(sample_dt / dt))
    na, k = initial_counts(patch, np.random.default_rng([seed, 1]))
    spikes, v, o_na, o_k = _stepped(na, k, patch.initial_V, patch.parameters(), dt, n_steps, record_every,
                                    RULES[rule], ORDERS[order], GATE_VOLTAGES[gate_voltage], UPDATES[update], seed)
    return Run(spikes, len(spikes), v, o_na, o_k, record_every * dt, n_steps * dt, n_steps)


def one_step_matrices(v: float, dt: float, rule: str, celsius: float = REFERENCE_CELSIUS):
    """Return the per-step transition matrices (Na 8 x 8, K 5 x 5) a rule uses at V (for tests)."""
    factor = Q10 ** ((celsius - REFERENCE_CELSIUS) / 10.0)
    p_na, p_k = np.zeros((8, 8)), np.zeros((5, 5))
    if RULES[rule] == 0:
        _exact_matrices(v, factor, dt, p_na, p_k, np.zeros((4, 4)), np.zeros((2, 2)))
    else:
        _first_order_matrices(v, factor, dt, p_na, p_k)
    return p_na, p_k
