"""Unidirectional ion fluxes through one open channel (ions per second).

Both laws return (efflux, influx), inside -> outside and outside -> inside. Their ratio
obeys the Ussing (1949) flux-ratio equation efflux/influx = (c_in/c_out) exp(z V / V_T),
so shot noise and the flux ratio follow from drawing the two directions separately.
"""

import math

from numba import njit

GHK = 0
OHMIC = 1


@njit(cache=True, inline="always")
def _x_over_one_minus_exp_minus_x(x):
    """Compute x / (1 - exp(-x)), continuous at x = 0 (value 1)."""
    if abs(x) < 1e-10:
        return 1.0 + 0.5 * x
    return x / -math.expm1(-x)


@njit(cache=True)
def unidirectional_rates(permeation, unitary, valence, c_in, c_out, v, thermal_v, avogadro, charge):
    """Efflux and influx (ions/s) through one open channel.

    GHK (Goldman 1943; Hodgkin & Katz 1949), `unitary` = permeability P in m^3/s:
        efflux = P N_A c_in  xi / (1 - exp(-xi)),  influx = P N_A c_out xi / (exp(xi) - 1),
        xi = z V / V_T.
    Ohmic, `unitary` = conductance g in S, reversal E from the current concentrations:
        efflux - influx = g (V - E) / (z e) and efflux / influx = exp(eta), eta = z (V - E) / V_T,
        so efflux = (g V_T / (z^2 e)) eta / (1 - exp(-eta)) and influx the same with -eta.
    Concentrations in mol/m^3.
    """
    if permeation == GHK:
        xi = valence * v / thermal_v
        scale = unitary * avogadro
        return (scale * c_in * _x_over_one_minus_exp_minus_x(xi),
                scale * c_out * _x_over_one_minus_exp_minus_x(-xi))
    # An empty compartment has no reversal potential; flooring at 1e-12 mol/m^3 (one ion in
    # 1.7e6 um^3) keeps E finite, and the engine caps every flux at the ions available.
    reversal = thermal_v / valence * math.log(max(c_out, 1e-12) / max(c_in, 1e-12))
    eta = valence * (v - reversal) / thermal_v
    scale = unitary * thermal_v / (valence * valence * charge)
    return scale * _x_over_one_minus_exp_minus_x(eta), scale * _x_over_one_minus_exp_minus_x(-eta)


@njit(cache=True)
def outward_current(permeation, unitary, valence, c_in, c_out, v, thermal_v, avogadro, charge):
    """Outward current (A) through one open channel: z e (efflux - influx)."""
    efflux, influx = unidirectional_rates(permeation, unitary, valence, c_in, c_out, v,
                                          thermal_v, avogadro, charge)
    return valence * charge * (efflux - influx)
