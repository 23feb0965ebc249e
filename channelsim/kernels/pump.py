"""Pump and exchanger cycle rates: one rate law per `law` code.

Parameters and sources are in channelsim/channels/pump.py. Kept beside the other kernels:
numba only, no package imports.
"""

import math

from numba import njit

NA_K = 0
NCX = 1
PMCA = 2


@njit(cache=True)
def cycle_rate(max_rate, km_na, km_k, na_in, na_out, k_out, v, thermal_v):
    """Cycles per second of one active Na+/K+-ATPase (Luo & Rudy 1994); concentrations in mol/m^3 (= mM), v in V."""
    if na_in <= 0.0 or k_out <= 0.0:
        return 0.0
    sigma = (math.exp(na_out / 67.3) - 1.0) / 7.0
    u = v / thermal_v
    voltage_factor = 1.0 / (1.0 + 0.1245 * math.exp(-0.1 * u) + 0.0365 * sigma * math.exp(-u))
    return max_rate * voltage_factor / (1.0 + (km_na / na_in) ** 1.5) * k_out / (k_out + km_k)


@njit(cache=True)
def cycle_rates(law, max_rate, km_na, km_k, constants, inner_in, inner_out, outer_in, outer_out, v, thermal_v):
    """Forward and reverse cycles per second of one active pump (1/s); concentrations in mol/m^3, v in V.

    A forward cycle moves the kind's stoichiometry, a reverse cycle its opposite. `inner_*` are the
    concentrations inside and outside of the ion the law binds inside in a forward cycle, `outer_*`
    those of the ion it binds outside.
    NA_K: Luo & Rudy (1994) Na+/K+-ATPase (inner Na+, outer K+), forward only.
    NCX: Luo & Rudy (1994) Na+/Ca2+ exchanger (inner Ca2+, outer Na+; constants K_mNa, K_mCa, k_sat,
        eta in mM, mM, 1, 1): forward (Ca2+ out, 3 Na+ in) at
        k exp((eta - 1) u) [Na]o^3 [Ca]i / D, reverse at k exp(eta u) [Na]i^3 [Ca]o / D,
        D = (K_mNa^3 + [Na]o^3) (K_mCa + [Ca]o) (1 + k_sat exp((eta - 1) u)), u = V F / RT.
    PMCA: Luo & Rudy (1994) sarcolemmal Ca2+ pump (inner Ca2+; constant K_m in mM), forward only:
        k [Ca]i / (K_m + [Ca]i).
    """
    if law == NA_K:
        return cycle_rate(max_rate, km_na, km_k, inner_in, inner_out, outer_out, v, thermal_v), 0.0
    if law == NCX:
        km_na_ncx, km_ca, k_sat, eta = constants[0], constants[1], constants[2], constants[3]
        u = v / thermal_v
        backward_factor = math.exp((eta - 1.0) * u)
        scale = max_rate / ((km_na_ncx**3 + outer_out**3) * (km_ca + inner_out) * (1.0 + k_sat * backward_factor))
        return (scale * backward_factor * outer_out**3 * inner_in,
                scale * math.exp(eta * u) * outer_in**3 * inner_out)
    return max_rate * inner_in / (constants[0] + inner_in), 0.0
