"""Na+/K+-ATPase cycle rate (Luo & Rudy 1994 rate law).

Parameters and sources are in channelsim/channels/pump.py. Kept beside the other kernels:
numba only, no package imports.
"""

import math

from numba import njit


@njit(cache=True)
def cycle_rate(max_rate, km_na, km_k, na_in, na_out, k_out, v, thermal_v):
    """Cycles per second of one active pump; concentrations in mol/m^3 (= mM), v in V."""
    if na_in <= 0.0 or k_out <= 0.0:
        return 0.0
    sigma = (math.exp(na_out / 67.3) - 1.0) / 7.0
    u = v / thermal_v
    voltage_factor = 1.0 / (1.0 + 0.1245 * math.exp(-0.1 * u) + 0.0365 * sigma * math.exp(-u))
    return max_rate * voltage_factor / (1.0 + (km_na / na_in) ** 1.5) * k_out / (k_out + km_k)
