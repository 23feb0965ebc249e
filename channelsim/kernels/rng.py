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
def standard_normal(state):
    """Box-Muller (one of the pair): returns (x, state)."""
    u1, state = next_uniform(state)
    u2, state = next_uniform(state)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2), state


@njit(cache=True)
def gamma_variate(shape, state):
    """Gamma(shape >= 1, scale 1) by Marsaglia & Tsang (2000), ACM TOMS 26:363."""
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x, state = standard_normal(state)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u, state = next_uniform(state)
        if math.log(u) < 0.5 * x * x + d - d * v + d * math.log(v):
            return d * v, state


@njit(cache=True)
def _binomial_inversion(n, p, state):
    """Draw Binomial(n, p <= 0.5) by sequential inversion.

    Expected n p + 1 iterations (used for n p < 64, where it beats the O(log n) split;
    q^n >= e^-64 cannot underflow).
    """
    q = 1.0 - p
    ratio = p / q
    a = (n + 1) * ratio
    prob = q**n
    u, state = next_uniform(state)
    k = 0
    while u > prob and k < n:
        u -= prob
        k += 1
        prob *= a / k - ratio
    return k, state


@njit(cache=True)
def binomial(n, p, state):
    """Exact Binomial(n, p) draw; returns (k, state).

    Large n is reduced by the order-statistic split of Knuth (TAOCP vol. 2, 3.4.1 F): the
    i-th smallest of n uniforms is Beta(i, n + 1 - i); the uniforms below it and above it
    are again uniform on the two sub-intervals. Small n p is finished by inversion.
    """
    k = 0
    if p >= 1.0:
        return n, state
    while n > 0 and p > 0.0:
        if p >= 1.0:
            return k + n, state
        small = p if p <= 0.5 else 1.0 - p
        if n * small < 64.0:
            j, state = _binomial_inversion(n, small, state)
            return (k + j if p <= 0.5 else k + n - j), state
        i = (n + 1) // 2
        ga, state = gamma_variate(float(i), state)
        gb, state = gamma_variate(float(n + 1 - i), state)
        x = ga / (ga + gb)
        if x >= p:
            n = i - 1
            p = p / x
        else:
            k += i
            n = n - i
            p = (p - x) / (1.0 - x)
    return k, state


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
