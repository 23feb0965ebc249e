"""Leak (background) channels: always open, or flickering between one closed and one open state.

Unitary conductance. Background K2P (TASK-like) channels of rat carotid body cells have a
slope conductance of 14-16 pS (Williams & Buckler 2004, Am J Physiol Lung Cell Mol Physiol
286:L221), like TASK-1; we take 14 pS. The Na+ background channel (NALCN) and Cl- leak
channels have no agreed unitary conductance, so na_leak and cl_leak use the same 14 pS:
a cell's relative permeabilities are then set by channel counts (Hodgkin & Katz 1949,
J Physiol 108:37: P_K : P_Na : P_Cl = 1 : 0.04 : 0.45 in squid axon, i.e. 25 K+ leaks per
Na+ leak). Override `conductance` or `permeability` per config entry.

Ca2+ background channel. ca_leak follows the same convention: 14 pS in symmetric 140 mM, so
with valence 2 its GHK permeability is a quarter of k_leak's (P = g R T / (z^2 F^2 c)). Every
count, flux and charge of Ca2+ uses its valence 2: each ion that enters moves V by 2 e / C,
E_Ca = (RT / 2F) ln([Ca]o / [Ca]i), and the GHK flux uses xi = 2 V F / RT. With [Ca]i near
100 nM, one open ca_leak passes about 0.01 pA inward at rest (a quarter of a K+ leak's outward
current), and nothing buffers or extrudes the Ca2+ that enters: [Ca]i rises and E_Ca falls.

GHK permeability: from the conductance in symmetric 140 mM at 23 degC (the usual recording
conditions), P = g R T / (z^2 F^2 c); see `permeability_from_conductance`.

Flicker. A flickering leak is C <-> O with open probability p and mean open time tau_o:
k_close = 1/tau_o and k_open = k_close p / (1 - p). The default mean open time of 1 ms is
of the order of the bursts of TASK-like channels (Williams & Buckler 2004); it sets only the
noise spectrum, not the mean current.
"""

from __future__ import annotations

from channelsim.channels.scheme import KindDefaults, MarkovScheme, Transition, permeability_from_conductance
from channelsim.constants import VALENCE, ZERO_CELSIUS

UNITARY_CONDUCTANCE_S = 14e-12
REFERENCE_CONCENTRATION_mM = 140.0
REFERENCE_TEMPERATURE_K = ZERO_CELSIUS + 23.0
MEAN_OPEN_TIME_s = 1e-3


def leak_scheme(open_probability: float, mean_open_time_s: float) -> MarkovScheme:
    """Always-open (p = 1) or two-state flickering scheme; rates are voltage independent."""
    if open_probability >= 1.0:
        return MarkovScheme(states=("open",), transitions=(), conducting=("open",))
    k_close = 1.0 / mean_open_time_s
    k_open = k_close * open_probability / (1.0 - open_probability)
    return MarkovScheme(
        states=("closed", "open"),
        transitions=(Transition("closed", "open", lambda v, t: k_open),
                     Transition("open", "closed", lambda v, t: k_close)),
        conducting=("open",),
    )


def _leak(kind: str, ion: str, description: str, source: str) -> KindDefaults:
    return KindDefaults(
        kind=kind, description=description, ion=ion, permeation="ghk",
        conductance_S=UNITARY_CONDUCTANCE_S,
        permeability_m3_per_s=permeability_from_conductance(
            UNITARY_CONDUCTANCE_S, VALENCE[ion], REFERENCE_CONCENTRATION_mM, REFERENCE_TEMPERATURE_K),
        open_probability=1.0, mean_open_time_s=MEAN_OPEN_TIME_s, density_per_m2=None, source=source,
        scheme=lambda entry: leak_scheme(entry.open_probability, entry.mean_open_time),
    )


LEAK_KINDS = {
    "k_leak": _leak("k_leak", "K", "K+ background channel (K2P, TASK-like)",
                    "Williams & Buckler 2004, Am J Physiol Lung Cell Mol Physiol 286:L221"),
    "na_leak": _leak("na_leak", "Na", "Na+ background channel (NALCN-like)",
                     "Lu et al. 2007, Cell 129:371 (NALCN); unitary value as k_leak, see module notes"),
    "cl_leak": _leak("cl_leak", "Cl", "Cl- background channel",
                     "unitary value as k_leak, see module notes; Hodgkin & Katz 1949 for P_Cl/P_K"),
    "ca_leak": _leak("ca_leak", "Ca", "Ca2+ background channel",
                     "unitary value as k_leak (14 pS in symmetric 140 mM), with valence 2; see module notes"),
}
