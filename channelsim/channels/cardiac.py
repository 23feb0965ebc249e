"""The channels of the Luo & Rudy (1991) ventricular myocyte, as Markov schemes of counted-ion channels.

Luo CH, Rudy Y (1991) Circ Res 68:1501 (LR1). Each LR1 current is a channel kind here; its gates
become a Markov scheme of independent gates (m^3 h j: 16 states m{i}h{j}j{k}, open in m3h1j1; d f:
4 states, open in d1f1; X with Xi: 4 states, open in x1u1), with LR1's rate laws (V in mV, rates in
1/ms, for 37 degC, used as published at every temperature):

    lr_na  (I_Na)  alpha_m = 0.32 (V + 47.13) / (1 - exp(-0.1 (V + 47.13))),  beta_m = 0.08 exp(-V / 11)
                   V >= -40: alpha_h = alpha_j = 0, beta_h = 1 / (0.13 (1 + exp((V + 10.66) / -11.1))),
                             beta_j = 0.3 exp(-2.535e-7 V) / (1 + exp(-0.1 (V + 32)))
                   V <  -40: alpha_h = 0.135 exp((80 + V) / -6.8), beta_h = 3.56 exp(0.079 V) + 3.1e5 exp(0.35 V)
                             alpha_j = (-1.2714e5 exp(0.2444 V) - 3.474e-5 exp(-0.04391 V)) (V + 37.78)
                                       / (1 + exp(0.311 (V + 79.23)))
                             beta_j = 0.1212 exp(-0.01052 V) / (1 + exp(-0.1378 (V + 40.14)))
    ca_l   (I_si)  alpha_d = 0.095 exp(-0.01 (V - 5)) / (1 + exp(-0.072 (V - 5)))
                   beta_d = 0.07 exp(-0.017 (V + 44)) / (1 + exp(0.05 (V + 44)))
                   alpha_f = 0.012 exp(-0.008 (V + 28)) / (1 + exp(0.15 (V + 28)))
                   beta_f = 0.0065 exp(-0.02 (V + 30)) / (1 + exp(-0.2 (V + 30)))
    lr_k   (I_K)   alpha_X = 0.0005 exp(0.083 (V + 50)) / (1 + exp(0.057 (V + 50)))
                   beta_X = 0.0013 exp(-0.06 (V + 20)) / (1 + exp(-0.04 (V + 20)))
                   Xi = 2.837 (exp(0.04 (V + 77)) - 1) / ((V + 77) exp(0.04 (V + 35))), 1 below -100 mV
    lr_k1  (I_K1)  K1_inf = alpha / (alpha + beta), with U = V - E_K1:
                   alpha = 1.02 / (1 + exp(0.2385 (U - 59.215)))
                   beta = (0.49124 exp(0.08032 (U + 5.476)) + exp(0.06175 (U - 594.31)))
                          / (1 + exp(-0.5143 (U + 4.753)))
    lr_kp  (I_Kp)  Kp = 1 / (1 + exp((7.488 - V) / 5.98))
    lr_b   (I_b)   always open

Instantaneous factors. LR1 takes Xi, K1_inf and Kp as instantaneous functions of V. Here each is a
gate of its own (u for Xi: unblocked/blocked), relaxing to its LR1 value at 1e6 /s: far faster
than any step of the run (dt >= 1 us), so the exact one-step transition matrix puts its occupancy
at the LR1 value at every step, while each channel stays an agent whose state flickers. For K1,
E_K1 is the Nernst potential of K+ at the cell's initial concentrations (the rectification
follows [K]o, as in LR1).

Currents carried by counted ions, ohmic in each ion's Nernst potential of the current
concentrations (channelsim's ohmic permeation), where LR1 has fixed or formula reversals:
- I_Na: Na+ (E_Na), as LR1.
- I_si: Ca2+ alone, reversing at E_Ca = (RT/2F) ln([Ca]o/[Ca]i) where LR1 has
  E_si = 7.7 - 13.0287 ln([Ca]i / mM) mV. At [Ca]i = 0.2 uM they differ by about 3 mV
  (121.7 against 118.7 mV), at 6 uM by about 2 mV (76.2 against 74.4 mV); what matters more is
  [Ca]i itself, which counted Ca2+ ions, a buffer and extrusion set (see the myocyte experiment).
- I_K: K+ and Na+, each ohmic, the Na+ conductance 0.0780 of the K+ one, so that the mixed reversal
  (g_K E_K + g_Na E_Na) / (g_K + g_Na) equals LR1's E_K (P_Na/P_K = 0.01833 in the GHK voltage
  equation), -77.6 mV, at the paper's concentrations ([K]o 5.4, [K]i 145, [Na]o 140, [Na]i 18 mM).
- I_K1, I_Kp: K+ (E_K1 = E_K), as LR1.
- I_b: K+ and Na+, the Na+ conductance 0.2447 of the K+ one, so that it reverses at LR1's
  E_b = -59.87 mV at the paper's concentrations.
So at the paper's concentrations every reversal is LR1's except E_si; the counted ions then move
them as the concentrations change (by well under 1 mV per beat).

Conductances. LR1's maximal conductances (mS/cm^2: 23 Na, 0.09 si, 0.282 sqrt([K]o/5.4) K,
0.6047 sqrt([K]o/5.4) K1, 0.0183 Kp, 0.03921 b) are the default densities times the unitary
conductances; I_K's and I_K1's unitary conductances scale with sqrt([K]o / 5.4 mM) at the
config's [K]o, as LR1's (Sakmann & Trube 1984, J Physiol 347:641, for the inward rectifier). The
unitary values set the channel numbers, hence the channel noise: 20 pS for cardiac Na+
channels (of the order measured in ventricular cells, e.g. Kunze et al. 1985, J Gen Physiol
86:691); 2.5 pS for L-type Ca2+ channels (a few pS extrapolated to physiological Ca2+: Guia et
al. 2001, Biophys J 80:2742); 20 pS for K1 (Sakmann & Trube 1984: about 27 pS in high [K]o,
falling as sqrt([K]o)); 5 pS for I_K and I_Kp, an assumed order of magnitude (delayed rectifier
channels of a few to ten pS); 14 pS for the background (as the leaks of
`channelsim.channels.leak`). On a myocyte of 15,340 um^2 (Luo & Rudy 1994) the defaults are about
176,000 Na+, 5,500 Ca2+, 8,000 I_K, 4,600 K1, 560 I_Kp and 350 background channels.
"""

from __future__ import annotations

import math

from channelsim.channels.scheme import KindDefaults, MarkovScheme, Transition
from channelsim.constants import FARADAY, GAS_CONSTANT, ZERO_CELSIUS

SOURCE = "Luo & Rudy 1991, Circ Res 68:1501"
#: The paper's concentrations (mM) and temperature, at which every LR1 reversal but E_si is reproduced.
PAPER_CONCENTRATIONS_mM = {"K_o": 5.4, "K_i": 145.0, "Na_o": 140.0, "Na_i": 18.0}
PAPER_TEMPERATURE_K = ZERO_CELSIUS + 37.0
P_NA_K = 0.01833  # LR1's P_Na/P_K of I_K
E_B_mV = -59.87  # LR1's reversal of I_b
#: Relaxation rate (1/s) of the gates LR1 takes as instantaneous (Xi, K1_inf, Kp).
INSTANTANEOUS_RATE = 1e6


def _nernst_mV(outside: float, inside: float) -> float:
    return 1e3 * GAS_CONSTANT * PAPER_TEMPERATURE_K / FARADAY * math.log(outside / inside)


def _mixture_ratio(reversal_mV: float) -> float:
    """Na+ conductance over K+ conductance whose mixed ohmic reversal is `reversal_mV` at the paper's concentrations."""
    c = PAPER_CONCENTRATIONS_mM
    e_k, e_na = _nernst_mV(c["K_o"], c["K_i"]), _nernst_mV(c["Na_o"], c["Na_i"])
    return (reversal_mV - e_k) / (e_na - reversal_mV)


def _lr1_e_k_mV() -> float:
    c = PAPER_CONCENTRATIONS_mM
    return _nernst_mV(c["K_o"] + P_NA_K * c["Na_o"], c["K_i"] + P_NA_K * c["Na_i"])


#: Na+ over K+ conductance of lr_k (0.0780) and lr_b (0.2447); see the module docstring.
K_NA_RATIO = _mixture_ratio(_lr1_e_k_mV())
B_NA_RATIO = _mixture_ratio(E_B_mV)


def _per_second(law_mV_per_ms):
    """Wrap a rate law in mV and 1/ms into one in V and 1/s (temperature unused: LR1's rates are for 37 degC)."""
    return lambda v, temperature_K: 1e3 * law_mV_per_ms(1e3 * v)


def _m(v):
    x = v + 47.13
    alpha = 3.2 if abs(x) < 1e-9 else 0.32 * x / (1.0 - math.exp(-0.1 * x))
    return alpha, 0.08 * math.exp(-v / 11.0)


def _h(v):
    if v >= -40.0:
        return 0.0, 1.0 / (0.13 * (1.0 + math.exp((v + 10.66) / -11.1)))
    return 0.135 * math.exp((80.0 + v) / -6.8), 3.56 * math.exp(0.079 * v) + 3.1e5 * math.exp(0.35 * v)


def _j(v):
    if v >= -40.0:
        return 0.0, 0.3 * math.exp(-2.535e-7 * v) / (1.0 + math.exp(-0.1 * (v + 32.0)))
    alpha = ((-1.2714e5 * math.exp(0.2444 * v) - 3.474e-5 * math.exp(-0.04391 * v)) * (v + 37.78)
             / (1.0 + math.exp(0.311 * (v + 79.23))))
    return alpha, 0.1212 * math.exp(-0.01052 * v) / (1.0 + math.exp(-0.1378 * (v + 40.14)))


def _d(v):
    return (0.095 * math.exp(-0.01 * (v - 5.0)) / (1.0 + math.exp(-0.072 * (v - 5.0))),
            0.07 * math.exp(-0.017 * (v + 44.0)) / (1.0 + math.exp(0.05 * (v + 44.0))))


def _f(v):
    return (0.012 * math.exp(-0.008 * (v + 28.0)) / (1.0 + math.exp(0.15 * (v + 28.0))),
            0.0065 * math.exp(-0.02 * (v + 30.0)) / (1.0 + math.exp(-0.2 * (v + 30.0))))


def _x(v):
    return (0.0005 * math.exp(0.083 * (v + 50.0)) / (1.0 + math.exp(0.057 * (v + 50.0))),
            0.0013 * math.exp(-0.06 * (v + 20.0)) / (1.0 + math.exp(-0.04 * (v + 20.0))))


def xi_factor(v: float) -> float:
    """LR1's instantaneous rectification Xi of I_K at v (mV); 1 below -100 mV."""
    if v <= -100.0:
        return 1.0
    u = v + 77.0
    ratio = 0.04 if abs(u) < 1e-9 else math.expm1(0.04 * u) / u
    return 2.837 * ratio / math.exp(0.04 * (v + 35.0))


def k1_open_fraction(v: float, e_k1_mV: float) -> float:
    """LR1's K1_inf at v (mV) for the K+ reversal e_k1_mV."""
    u = v - e_k1_mV
    alpha = 1.02 / (1.0 + math.exp(0.2385 * (u - 59.215)))
    beta = ((0.49124 * math.exp(0.08032 * (u + 5.476)) + math.exp(0.06175 * (u - 594.31)))
            / (1.0 + math.exp(-0.5143 * (u + 4.753))))
    return alpha / (alpha + beta)


def kp_factor(v: float) -> float:
    """LR1's instantaneous Kp factor of the plateau K+ current at v (mV)."""
    return 1.0 / (1.0 + math.exp((7.488 - v) / 5.98))


def _gate(name: str, rates) -> tuple[str, object, object]:
    """Return a gate: its name and its opening and closing laws in V and 1/s."""
    return (name, _per_second(lambda v: rates(v)[0]), _per_second(lambda v: rates(v)[1]))


def _instantaneous(name: str, fraction) -> tuple[str, object, object]:
    """Return a gate relaxing at INSTANTANEOUS_RATE to the open fraction `fraction(v_mV)`."""
    return (name, lambda v, t: INSTANTANEOUS_RATE * fraction(1e3 * v),
            lambda v, t: INSTANTANEOUS_RATE * (1.0 - fraction(1e3 * v)))


def gate_product(gates: list[tuple[str, object, object]], counted: tuple | None = None) -> MarkovScheme:
    """Build the scheme of independent two-state gates (each 0 or 1), open when every gate is 1.

    `counted` = (name, n, alpha, beta) adds n identical gates counted by how many are active (m^3:
    states m0..m3, up at (n - i) alpha, down at i beta), open in m{n}.
    """
    axes = ([(counted[0], counted[1])] if counted else []) + [(g[0], 1) for g in gates]
    laws = {counted[0]: (counted[2], counted[3])} if counted else {}
    laws.update({g[0]: (g[1], g[2]) for g in gates})

    def names(levels):
        return "".join(f"{axis}{level}" for (axis, _), level in zip(axes, levels, strict=True))

    levels = [[]]
    for _, top in axes:
        levels = [lv + [i] for lv in levels for i in range(top + 1)]
    transitions = []
    for lv in levels:
        for a, (axis, top) in enumerate(axes):
            opening, closing = laws[axis]
            if lv[a] < top:
                up = lv[:a] + [lv[a] + 1] + lv[a + 1:]
                transitions.append(Transition(names(lv), names(up), _times(opening, top - lv[a])))
            if lv[a] > 0:
                down = lv[:a] + [lv[a] - 1] + lv[a + 1:]
                transitions.append(Transition(names(lv), names(down), _times(closing, lv[a])))
    open_state = names([top for _, top in axes])
    return MarkovScheme(states=tuple(names(lv) for lv in levels), transitions=tuple(transitions),
                        conducting=(open_state,))


def _times(law, factor: int):
    return law if factor == 1 else (lambda v, t: factor * law(v, t))


def sodium_scheme(entry=None) -> MarkovScheme:
    """LR1's fast Na+ channel: 3 m gates, h and j, 16 states, open in m3h1j1."""
    m = _gate("m", _m)
    return gate_product([_gate("h", _h), _gate("j", _j)], counted=("m", 3, m[1], m[2]))


def calcium_scheme(entry=None) -> MarkovScheme:
    """LR1's slow inward (L-type Ca2+) channel: d and f gates, 4 states, open in d1f1."""
    return gate_product([_gate("d", _d), _gate("f", _f)])


def delayed_rectifier_scheme(entry=None) -> MarkovScheme:
    """LR1's time-dependent K+ channel: X gate and the instantaneous Xi (u), open in x1u1."""
    return gate_product([_gate("x", _x), _instantaneous("u", xi_factor)])


def inward_rectifier_scheme(entry=None, e_k1_mV: float | None = None) -> MarkovScheme:
    """LR1's inward rectifier: one instantaneous gate at K1_inf(V - E_K1); E_K1 defaults to the paper's."""
    if e_k1_mV is None:
        e_k1_mV = _nernst_mV(PAPER_CONCENTRATIONS_mM["K_o"], PAPER_CONCENTRATIONS_mM["K_i"])
    return gate_product([_instantaneous("k", lambda v: k1_open_fraction(v, e_k1_mV))])


def plateau_scheme(entry=None) -> MarkovScheme:
    """LR1's plateau K+ channel: one instantaneous gate at Kp(V)."""
    return gate_product([_instantaneous("p", kp_factor)])


def background_scheme(entry=None) -> MarkovScheme:
    """LR1's background channel: always open."""
    return MarkovScheme(states=("open",), transitions=(), conducting=("open",))


def _k1_in_cell(entry, config) -> MarkovScheme:
    """Build the inward rectifier with E_K1 at the cell's initial K+ concentrations and temperature."""
    e_k1 = 1e3 * GAS_CONSTANT * config.cell.temperature / FARADAY * math.log(config.outside.K / config.inside.K)
    return inward_rectifier_scheme(entry, e_k1)


def _sqrt_outside_k(config) -> float:
    """LR1's sqrt([K]o / 5.4 mM) factor of the I_K and I_K1 conductances."""
    return math.sqrt(config.outside.K / PAPER_CONCENTRATIONS_mM["K_o"])


def _kind(kind, description, ion, unitary_S, total_mS_cm2, scheme, ratios=None, **extra) -> KindDefaults:
    """Return a kind whose default density gives LR1's maximal conductance `total_mS_cm2` (summed over its ions)."""
    share = sum(ratios.values()) if ratios else 1.0
    density_per_m2 = total_mS_cm2 * 10.0 / (unitary_S * share)  # mS/cm^2 -> S/m^2: x 10
    return KindDefaults(kind=kind, description=description, ion=ion, permeation="ohmic", conductance_S=unitary_S,
                        permeability_m3_per_s=None, open_probability=None, mean_open_time_s=None,
                        density_per_m2=density_per_m2, source=SOURCE, scheme=scheme, permeability_ratios=ratios,
                        **extra)


CARDIAC_KINDS = {
    "lr_na": _kind("lr_na", "LR1 fast Na+ channel (m3hj, 16 states)", "Na", 20e-12, 23.0, sodium_scheme),
    "ca_l": _kind("ca_l", "L-type Ca2+ channel, LR1's slow inward current (d f, 4 states)", "Ca", 2.5e-12,
                  0.09, calcium_scheme),
    "lr_k": _kind("lr_k", "LR1 time-dependent K+ channel (X with instantaneous Xi, 4 states; K+ and Na+)", "K",
                  5e-12, 0.282, delayed_rectifier_scheme, {"K": 1.0, "Na": K_NA_RATIO},
                  conductance_factor=_sqrt_outside_k),
    "lr_k1": _kind("lr_k1", "LR1 inward rectifier K+ channel (instantaneous K1_inf)", "K", 20e-12, 0.6047,
                   inward_rectifier_scheme, scheme_in_cell=_k1_in_cell, conductance_factor=_sqrt_outside_k),
    "lr_kp": _kind("lr_kp", "LR1 plateau K+ channel (instantaneous Kp)", "K", 5e-12, 0.0183, plateau_scheme),
    "lr_b": _kind("lr_b", "LR1 background channel (K+ and Na+, reversing at -59.87 mV)", "K", 14e-12, 0.03921,
                  background_scheme, {"K": 1.0, "Na": B_NA_RATIO}),
}
