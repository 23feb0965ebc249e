"""Counter-based random numbers: a draw is a pure function of (seed, step, stream, index).

A stream key is hashed from (seed, step, stream); the i-th number of a stream is the
splitmix64 output for key + (i + 1) * golden gamma (Steele, Lea & Flood 2014, OOPSLA,
"Fast splittable pseudorandom number generators"). Because no generator state is shared,
results do not depend on the number of threads or the order agents are visited in.

Variates that need a variable number of uniforms (binomial, Poisson) take and return a
64-bit counter `state`, advanced by the golden gamma per uniform.
"""

import math

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def mix64(z):
    """splitmix64 finaliser (Stafford's Mix13 variant): a bijection on uint64."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def golden_gamma():
    """Return splitmix64's increment 0x9E3779B97F4A7C15 (2^64 over the golden ratio, made odd) as uint64."""
    return np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True)
def stream_key(seed, step, stream):
    """Key of the stream of draws for (seed, step, stream); all arguments non-negative ints."""
    z = mix64(np.uint64(seed) + golden_gamma())
    z = mix64(z ^ (np.uint64(step) * np.uint64(0xD1B54A32D192ED03)))
    return mix64(z ^ (np.uint64(stream) * np.uint64(0xAEF17502108EF2D9)))


@njit(cache=True, inline="always")
def bits53_at(key, index):
    """Draw the index-th number of a stream as an integer r in [0, 2^53).

    r stands for the uniform (r + 0.5) / 2^53; the agent loop compares integers and skips the
    conversion.
    """
    return np.int64(mix64(key + (np.uint64(index) + np.uint64(1)) * golden_gamma()) >> np.uint64(11))


@njit(cache=True, inline="always")
def next_uniform(state):
    """Next uniform in (0, 1) of a sequential stream; returns (u, new_state)."""
    state = state + golden_gamma()
    z = mix64(state)
    return ((z >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0), state


@njit(cache=True)
def _binomial_inversion(n, p, state):
    """Draw Binomial(n, p <= 0.5) by sequential inversion.

    Expected n p + 1 iterations (used for n p < 64, where it beats BTRD's set-up;
    q^n >= e^-64 cannot underflow). A draw of 0 that a bound on q^n decides skips q^n.
    """
    q = 1.0 - p
    u, state = next_uniform(state)
    # Bernoulli's inequality q^n >= 1 - n (1 - q) (1 - q is exact, q >= 1/2): a u below that bound
    # less 1e-12 (far more than q**n's round-off) draws 0 whatever q**n is, without computing it
    if u < 1.0 - n * (1.0 - q) - 1e-12:
        return 0, state
    ratio = p / q
    a = (n + 1) * ratio
    prob = q**n
    k = 0
    while u > prob and k < n:
        u -= prob
        k += 1
        prob *= a / k - ratio
    return k, state


_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@njit(cache=True)
def _stirling_correction(k):
    """log(k!) minus Stirling's (k + 1/2) log(k + 1) - (k + 1) + log(2 pi) / 2, for k >= 0.

    Exact through lgamma below 10; above, the Stirling series 1/(12 z) - 1/(360 z^3) + 1/(1260 z^5)
    with z = k + 1 (truncation error below 1/(1680 z^7) < 3e-11), where lgamma's difference
    would cancel.
    """
    if k < 10.0:
        return math.lgamma(k + 1.0) - ((k + 0.5) * math.log(k + 1.0) - (k + 1.0) + _HALF_LOG_2PI)
    x = 1.0 / (k + 1.0)
    x2 = x * x
    return (1.0 / 12.0 - (1.0 / 360.0 - x2 / 1260.0) * x2) * x


@njit(cache=True)
def _binomial_btrd(n, p, state):
    """Draw Binomial(n, p <= 0.5), n p >= 10, by BTRD: transformed rejection with decomposition.

    Hoermann (1993), "The generation of binomial random variates", J. Statist. Comput. Simul.
    46:101-110. A uniform U on (-1/2, 1/2) maps to k = floor((2a / (1/2 - |U|) + b) U + c), a hat
    of the pmf's shape; V on (0, 1) accepts k when V alpha / (a / (1/2 - |U|)^2 + b) <= f(k) / f(m)
    (m the mode). The box |U| <= 0.43, V <= v_r lies under that curve and is accepted at once from
    one uniform (0.86 v_r of the draws: 55 % at n p = 64, 78 % for large n p); the rest is decided
    by the ratio f(k) / f(m) multiplied out (|k - m| <= 15), else by a squeeze on log f(k) / f(m)
    around -(k - m)^2 / (2 n p q), else by log-factorials (Stirling with corrections). Measured:
    1.8 uniforms per draw at n p = 64, 1.4 at n p >= 1e4, whatever n: constant expected time.
    """
    q = 1.0 - p
    r = p / q
    nr = (n + 1) * r
    npq = n * p * q
    spq = math.sqrt(npq)
    m = int((n + 1) * p)  # the mode
    # the hat's constants as published (set-up of algorithm BTRD); checked here for n p >= 64 up to
    # n = 1e9 (scipy's pmf, 2e6 values of U): the hat stays >= 0.4 % above the pmf, the box >= 0.5 % below the
    # acceptance curve
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    alpha = (2.83 + 5.1 / b) * spq
    vr = 0.92 - 4.2 / b
    while True:
        v, state = next_uniform(state)
        if v <= 0.86 * vr:  # the box: U = v / vr - 0.43 is uniform on (-0.43, 0.43)
            u = v / vr - 0.43
            return int(math.floor((2.0 * a / (0.5 - abs(u)) + b) * u + c)), state
        if v >= vr:  # above the box: (U, V) uniform on (-1/2, 1/2) x (v_r, 1)
            u, state = next_uniform(state)
            u -= 0.5
        else:  # beside the box: v maps onto the strips 0.43 < |U| < 1/2, V uniform on (0, v_r)
            u = v / vr - 0.93
            u = math.copysign(0.5, u) - u
            v, state = next_uniform(state)
            v *= vr
        us = 0.5 - abs(u)
        if us <= 0.0:  # |U| = 1/2 (a uniform rounded up to 1, or v = 0.93 vr): measure zero
            continue
        kf = math.floor((2.0 * a / us + b) * u + c)
        if kf < 0.0 or kf > n:
            continue
        k = int(kf)
        v *= alpha / (a / (us * us) + b)
        km = abs(k - m)
        if km <= 15:  # f(k) / f(m) as a product of successive ratios f(i) / f(i - 1) = (n + 1) r / i - r
            f = 1.0
            if m < k:
                for i in range(m + 1, k + 1):
                    f *= nr / i - r
            else:
                for i in range(k + 1, m + 1):
                    v *= nr / i - r
            if v <= f:
                return k, state
            continue
        # the squeeze around the normal's log-density. Its lower bound fails far below the mode only
        # (7 sd and more at n p = 64, checked against scipy's pmf for n p >= 64, n <= 1e7), where
        # t - rho < -44: a wrong acceptance there has probability below e^-44 / alpha < 1e-19 per draw
        v = math.log(v)
        rho = (km / npq) * (((km / 3.0 + 0.625) * km + 1.0 / 6.0) / npq + 0.5)
        t = -km * km / (2.0 * npq)
        if v < t - rho:
            return k, state
        if v > t + rho:
            continue
        # log f(k) / f(m) from log-factorials, (n + 1) log(nm / nk) as a log1p for n up to 1e9 and beyond
        nm = n - m + 1.0
        nk = n - k + 1.0
        h = (m + 0.5) * math.log((m + 1.0) / (r * nm)) + _stirling_correction(float(m)) \
            + _stirling_correction(float(n - m))
        if v <= (h + (n + 1.0) * math.log1p((k - m) / nk) + (k + 0.5) * math.log(nk * r / (k + 1.0))
                 - _stirling_correction(float(k)) - _stirling_correction(float(n - k))):
            return k, state


@njit(cache=True)
def binomial(n, p, state):
    """Exact Binomial(n, p) draw; returns (k, state).

    Drawn for min(p, 1 - p) (the count of the other outcome is n minus it): by inversion when
    n min(p, 1 - p) < 64, else by Hoermann's BTRD (1993, J. Statist. Comput. Simul. 46:101), in
    constant expected time for any n.
    """
    if p >= 1.0:
        return n, state
    if n <= 0 or not p > 0.0:  # also NaN
        return 0, state
    small = p if p <= 0.5 else 1.0 - p
    if n * small < 64.0:
        k, state = _binomial_inversion(n, small, state)
    else:
        k, state = _binomial_btrd(n, small, state)
    return (k if p <= 0.5 else n - k), state


@njit(cache=True)
def poisson(lam, state):
    """Exact Poisson(lam) draw; returns (k, state).

    lam < 10: multiplication method (Knuth). Otherwise the transformed rejection method
    PTRS of Hoermann (1993), Insurance: Mathematics and Economics 12:39.
    """
    if not lam > 0.0:  # also NaN: no draw rather than an endless rejection loop
        return 0, state
    if lam < 10.0:
        limit = math.exp(-lam)
        k = 0
        prod, state = next_uniform(state)
        while prod > limit:
            k += 1
            u, state = next_uniform(state)
            prod *= u
        return k, state
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u, state = next_uniform(state)
        v, state = next_uniform(state)
        u -= 0.5
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return int(k), state
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(inv_alpha) - math.log(a / (us * us) + b)
                <= -lam + k * loglam - math.lgamma(k + 1.0)):
            return int(k), state
