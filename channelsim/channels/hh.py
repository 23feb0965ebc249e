"""Hodgkin-Huxley (1952) Na+ and K+ channels as Markov schemes of independent gates.

Rate laws: Hodgkin & Huxley (1952) J Physiol 117:500, in the modern sign convention with rest
at -65 mV (V in mV, rates in 1/ms, at 6.3 degC):
    alpha_m = 0.1 (V + 40) / (1 - exp(-(V + 40)/10)),   beta_m = 4 exp(-(V + 65)/18)
    alpha_h = 0.07 exp(-(V + 65)/20),                     beta_h = 1 / (1 + exp(-(V + 35)/10))
    alpha_n = 0.01 (V + 55) / (1 - exp(-(V + 55)/10)),   beta_n = 0.125 exp(-(V + 65)/80)
Temperature: every rate is multiplied by Q10^((T - 6.3 degC)/10) with Q10 = 3 (HH 1952).

Schemes (e.g. Skaugen & Walloe 1979; Goldwyn & Shea-Brown 2011, PLoS Comput Biol 7:e1002247):
Na has 8 states m{i}h{j} (i activated m gates of 3, j = 1 if h is open), open in m3h1;
K has 5 states n{i} (i activated n gates of 4), open in n4. A gate count i moves up at
(gates - i) alpha and down at i beta.

Unitary conductance and density: 20 pS, with 60 Na and 18 K channels per um^2, which give
HH's maximal conductances 120 and 36 mS/cm^2 (Goldwyn & Shea-Brown 2011, Table 1).
"""

from __future__ import annotations

import math

from channelsim.channels.scheme import KindDefaults, MarkovScheme, Transition
from channelsim.constants import ZERO_CELSIUS

Q10 = 3.0
REFERENCE_TEMPERATURE_K = ZERO_CELSIUS + 6.3
UNITARY_CONDUCTANCE_S = 20e-12
SOURCE = "Hodgkin & Huxley 1952, J Physiol 117:500; Goldwyn & Shea-Brown 2011, PLoS Comput Biol 7:e1002247"


def temperature_factor(temperature_K: float) -> float:
    """Return the Q10 factor that scales the HH rates from 6.3 degC to `temperature_K` (K): Q10^((T - T_ref) / 10)."""
    return Q10 ** ((temperature_K - REFERENCE_TEMPERATURE_K) / 10.0)


def _linear_over_exp(x_mV: float, scale_mV: float) -> float:
    """Compute x / (1 - exp(-x/scale)), continuous at x = 0 (value scale)."""
    if abs(x_mV) < 1e-9:
        return scale_mV
    return x_mV / -math.expm1(-x_mV / scale_mV)


def _per_second(rate_per_ms):
    """Wrap a rate law in mV and 1/ms at 6.3 degC into one in V and 1/s at temperature T."""
    return lambda v, temperature_K: 1e3 * temperature_factor(temperature_K) * rate_per_ms(v * 1e3)


alpha_m = _per_second(lambda v: 0.1 * _linear_over_exp(v + 40.0, 10.0))
beta_m = _per_second(lambda v: 4.0 * math.exp(-(v + 65.0) / 18.0))
alpha_h = _per_second(lambda v: 0.07 * math.exp(-(v + 65.0) / 20.0))
beta_h = _per_second(lambda v: 1.0 / (1.0 + math.exp(-(v + 35.0) / 10.0)))
alpha_n = _per_second(lambda v: 0.01 * _linear_over_exp(v + 55.0, 10.0))
beta_n = _per_second(lambda v: 0.125 * math.exp(-(v + 65.0) / 80.0))


def _scaled(law, factor):
    return lambda v, t: factor * law(v, t)


def _gate_chain(prefix: str, gates: int, alpha, beta, suffix: str = "") -> list[Transition]:
    """Transitions of `gates` independent two-state gates counted by how many are active."""
    transitions = []
    for i in range(gates):
        lower, upper = f"{prefix}{i}{suffix}", f"{prefix}{i + 1}{suffix}"
        transitions.append(Transition(lower, upper, _scaled(alpha, gates - i)))
        transitions.append(Transition(upper, lower, _scaled(beta, i + 1)))
    return transitions


def sodium_scheme(entry=None) -> MarkovScheme:
    """Build the HH Na+ channel's 8-state Markov scheme m{i}h{j}: 3 m gates and 1 h gate, conducting in m3h1.

    The scheme has no per-entry parameters; `entry` is accepted like every kind's scheme takes it.
    """
    states = tuple(f"m{i}h{j}" for j in (0, 1) for i in range(4))
    transitions = _gate_chain("m", 3, alpha_m, beta_m, "h0") + _gate_chain("m", 3, alpha_m, beta_m, "h1")
    transitions += [t for i in range(4) for t in (Transition(f"m{i}h0", f"m{i}h1", alpha_h),
                                                   Transition(f"m{i}h1", f"m{i}h0", beta_h))]
    return MarkovScheme(states=states, transitions=tuple(transitions), conducting=("m3h1",))


def potassium_scheme(entry=None) -> MarkovScheme:
    """Build the HH K+ channel's 5-state Markov scheme n0 ... n4: 4 n gates, conducting in n4.

    The scheme has no per-entry parameters; `entry` is accepted like every kind's scheme takes it.
    """
    states = tuple(f"n{i}" for i in range(5))
    return MarkovScheme(states=states, transitions=tuple(_gate_chain("n", 4, alpha_n, beta_n)),
                        conducting=("n4",))


def _hh(kind: str, ion: str, description: str, density_per_um2: float, scheme) -> KindDefaults:
    return KindDefaults(
        kind=kind, description=description, ion=ion, permeation="ohmic",
        conductance_S=UNITARY_CONDUCTANCE_S, permeability_m3_per_s=None,
        open_probability=None, mean_open_time_s=None,
        density_per_m2=density_per_um2 * 1e12, source=SOURCE, scheme=scheme,
    )


HH_KINDS = {
    "hh_na": _hh("hh_na", "Na", "Hodgkin-Huxley Na+ channel (m3h, 8 states)", 60.0, sodium_scheme),
    "hh_k": _hh("hh_k", "K", "Hodgkin-Huxley K+ channel (n4, 5 states)", 18.0, potassium_scheme),
}
