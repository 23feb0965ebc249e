"""Ligand-gated receptor channels: AMPA, NMDA and GABA_A, opened by transmitter in a synaptic cleft.

Kinetics. Destexhe, Mainen & Sejnowski (1994) J Comput Neurosci 1:195 (and Neural Comput
6:14): a receptor binds transmitter T and opens in one step,
    closed + T <-> open,   closed -> open at alpha [T],   open -> closed at beta,
    AMPA:   alpha = 1.1e6 /M/s, beta = 190 /s;    GABA_A: alpha = 5e6 /M/s, beta = 180 /s,
    NMDA:   alpha = 7.2e4 /M/s, beta = 6.6 /s,
with [T] a pulse of 1 mM for 1 ms per released vesicle (0 otherwise). The rates are used as
published at every temperature (no Q10). For a pulse of length t_p onto closed receptors, the
open fraction r rises and decays as
    r(t) = r_inf (1 - exp(-t / tau_r))          for 0 <= t <= t_p,
    r(t) = r(t_p) exp(-beta (t - t_p))          after it,
    r_inf = alpha T / (alpha T + beta),   tau_r = 1 / (alpha T + beta):
AMPA peaks at 0.618 after 1 ms and decays with 1/beta = 5.26 ms; GABA_A peaks at 0.960 and
decays with 5.56 ms; NMDA rises to only 0.069 (before its Mg2+ block) and decays with 152 ms.
Each synapse of a `[[synapses]]` entry has its own cleft: its receptors see [T] only during the
pulses of its own releases (`channelsim.protocol`).

Permeation (GHK; the permeability from the unitary conductance in symmetric 140 mM at 23 degC,
as for the leaks). AMPA receptor channels pass Na+ and K+ about equally (P_Na / P_K = 1;
Dingledine et al. 1999, Pharmacol Rev 51:7; Mayer & Westbrook 1987, Prog Neurobiol 28:197),
so their reversal potential is the GHK potential of the Na+/K+ mixture, near 0 mV, set by the
concentrations and not by a parameter; their Ca2+ permeability is low (GluA2-containing
receptors) and left out. Unitary conductance about 10 pS (non-stationary fluctuation analysis
of hippocampal pyramidal cell dendrites: Spruston, Jonas & Sakmann 1995, J Physiol 482:325).
GABA_A receptor channels pass Cl- (HCO3-, about a fifth as permeant, is not modelled), with a
main conductance state of 27-30 pS (Bormann, Hamill & Sakmann 1987, J Physiol 385:243): we
take 27 pS. Their reversal is E_Cl: below rest they hyperpolarise, at rest they only shunt.

NMDA receptors pass Na+, K+ and Ca2+ (P_Na : P_K : P_Ca = 1 : 1 : 10, the Ca2+ permeability
about ten times the monovalent ions'; Mayer & Westbrook 1987, J Physiol 394:501), with a main
conductance of 50 pS (Nowak et al. 1984, Nature 307:462), and are blocked by external Mg2+
in a voltage-dependent way. Jahr & Stevens (1990, J Neurosci 10:3178) describe the unblocked
fraction as
    B(V) = 1 / (1 + [Mg]o / 3.57 mM x exp(-0.062 V / mV)),
0.024 at -80 mV and 0.78 at 0 mV for [Mg]o = 1 mM (the value used here). The block is a pair of
states: a receptor, closed or open, is blocked at k_block(V) = k_unblock [Mg]o / 3.57 mM
exp(-0.062 V / mV) and unblocked at k_unblock, independently of its gating, so that the open,
unblocked fraction is r(t) B(V) whenever the block has settled. The unblocking rate is a choice,
10,000 /s (B follows V within about 0.1 ms, as the instantaneous factor of Jahr & Stevens
assumes); the ratio of the two rates is theirs. Depolarisation relieves the block: NMDA
receptors conduct when glutamate is bound and the cell is already depolarised, and let Ca2+ in.
"""

from __future__ import annotations

import math

from channelsim.channels.scheme import KindDefaults, MarkovScheme, Transition, permeability_from_conductance
from channelsim.constants import ZERO_CELSIUS

REFERENCE_CONCENTRATION_mM = 140.0
REFERENCE_TEMPERATURE_K = ZERO_CELSIUS + 23.0
#: The transmitter pulse of one released vesicle (Destexhe et al. 1994).
TRANSMITTER_mM = 1.0
TRANSMITTER_DURATION_s = 1e-3
#: 1 /M/s in 1/s per mol/m^3 (1 M = 1000 mol/m^3).
PER_MOLAR_SECOND = 1e-3


def binding_scheme(binding_per_M_s: float, unbinding_per_s: float) -> MarkovScheme:
    """Build the two-state transmitter-binding scheme: closed -> open at binding x [T], open -> closed at unbinding."""
    binding = binding_per_M_s * PER_MOLAR_SECOND  # 1/s per mol/m^3
    return MarkovScheme(
        states=("closed", "open"),
        transitions=(Transition("closed", "open", lambda v, t: binding, ligand=True),
                     Transition("open", "closed", lambda v, t: unbinding_per_s)),
        conducting=("open",),
    )


#: NMDA's Mg2+ block (Jahr & Stevens 1990): external Mg2+ (mM), its dissociation constant at
#: 0 mV (mM) and voltage dependence (1/mV); the unblocking rate (1/s) is our choice (module notes).
MAGNESIUM_mM = 1.0
MG_DISSOCIATION_mM = 3.57
MG_VOLTAGE_PER_mV = 0.062
MG_UNBLOCK_PER_S = 1e4


def mg_block(v: float, temperature_K: float) -> float:
    """Rate (1/s) at which Mg2+ blocks an NMDA receptor at membrane potential v (V)."""
    return MG_UNBLOCK_PER_S * MAGNESIUM_mM / MG_DISSOCIATION_mM * math.exp(-MG_VOLTAGE_PER_mV * v * 1e3)


def mg_unblock(v: float, temperature_K: float) -> float:
    """Rate (1/s) at which Mg2+ leaves a blocked NMDA receptor."""
    return MG_UNBLOCK_PER_S


def unblocked_fraction(v: float) -> float:
    """Jahr & Stevens' (1990) B(V): the share of NMDA receptors not blocked by Mg2+ at v (V), at steady state."""
    return 1.0 / (1.0 + MAGNESIUM_mM / MG_DISSOCIATION_mM * math.exp(-MG_VOLTAGE_PER_mV * v * 1e3))


def nmda_scheme(entry=None) -> MarkovScheme:
    """Build NMDA's scheme: transmitter binding (as `binding_scheme`) times Mg2+ block, four states.

    closed, open, closed_blocked and open_blocked; only `open` conducts. Binding does not depend
    on the block, nor the block on binding.
    """
    binding = 7.2e4 * PER_MOLAR_SECOND
    unbinding = 6.6
    transitions = []
    for suffix in ("", "_blocked"):
        transitions += [Transition(f"closed{suffix}", f"open{suffix}", lambda v, t: binding, ligand=True),
                        Transition(f"open{suffix}", f"closed{suffix}", lambda v, t: unbinding)]
    for state in ("closed", "open"):
        transitions += [Transition(state, f"{state}_blocked", mg_block),
                        Transition(f"{state}_blocked", state, mg_unblock)]
    return MarkovScheme(states=("closed", "open", "closed_blocked", "open_blocked"), transitions=tuple(transitions),
                        conducting=("open",))


def _receptor(kind: str, ion: str, description: str, conductance_S: float, ratios: dict[str, float] | None,
              binding_per_M_s: float, unbinding_per_s: float, source: str, scheme=None) -> KindDefaults:
    return KindDefaults(
        kind=kind, description=description, ion=ion, permeation="ghk", conductance_S=conductance_S,
        permeability_m3_per_s=permeability_from_conductance(conductance_S, 1, REFERENCE_CONCENTRATION_mM,
                                                            REFERENCE_TEMPERATURE_K),
        open_probability=None, mean_open_time_s=None, density_per_m2=None, source=source,
        scheme=scheme or (lambda entry: binding_scheme(binding_per_M_s, unbinding_per_s)),
        permeability_ratios=ratios, transmitter_mM=TRANSMITTER_mM, transmitter_duration_s=TRANSMITTER_DURATION_s,
    )


RECEPTOR_KINDS = {
    "ampa": _receptor("ampa", "Na", "AMPA receptor: glutamate-gated cation channel (Na+ and K+, P_Na/P_K = 1)",
                      10e-12, {"Na": 1.0, "K": 1.0}, 1.1e6, 190.0,
                      "Destexhe, Mainen & Sejnowski 1994, J Comput Neurosci 1:195 (kinetics); Dingledine et al. "
                      "1999, Pharmacol Rev 51:7 (P_Na/P_K); Spruston, Jonas & Sakmann 1995, J Physiol 482:325 "
                      "(10 pS)"),
    "nmda": _receptor("nmda", "Na", "NMDA receptor: glutamate-gated cation channel (Na+, K+, Ca2+), Mg2+ block",
                      50e-12, {"Na": 1.0, "K": 1.0, "Ca": 10.0}, 7.2e4, 6.6,
                      "Destexhe, Mainen & Sejnowski 1994, J Comput Neurosci 1:195 (kinetics); Jahr & Stevens 1990, "
                      "J Neurosci 10:3178 (Mg2+ block); Mayer & Westbrook 1987, J Physiol 394:501 (P_Ca); Nowak et al. "
                      "1984, Nature 307:462 (50 pS)", scheme=nmda_scheme),
    "gaba_a": _receptor("gaba_a", "Cl", "GABA_A receptor: GABA-gated Cl- channel", 27e-12, None, 5e6, 180.0,
                        "Destexhe, Mainen & Sejnowski 1994, J Comput Neurosci 1:195 (kinetics); Bormann, Hamill & "
                        "Sakmann 1987, J Physiol 385:243 (27 pS)"),
}
