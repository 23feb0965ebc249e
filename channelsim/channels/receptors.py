"""Ligand-gated receptor channels: AMPA and GABA_A, opened by transmitter in a synaptic cleft.

Kinetics. Destexhe, Mainen & Sejnowski (1994) J Comput Neurosci 1:195 (and Neural Comput
6:14): a receptor binds transmitter T and opens in one step,
    closed + T <-> open,   closed -> open at alpha [T],   open -> closed at beta,
    AMPA:   alpha = 1.1e6 /M/s, beta = 190 /s;    GABA_A: alpha = 5e6 /M/s, beta = 180 /s,
with [T] a pulse of 1 mM for 1 ms per released vesicle (0 otherwise). The rates are used as
published at every temperature (no Q10). For a pulse of length t_p onto closed receptors, the
open fraction r rises and decays as
    r(t) = r_inf (1 - exp(-t / tau_r))          for 0 <= t <= t_p,
    r(t) = r(t_p) exp(-beta (t - t_p))          after it,
    r_inf = alpha T / (alpha T + beta),   tau_r = 1 / (alpha T + beta):
AMPA peaks at 0.618 after 1 ms and decays with 1/beta = 5.26 ms; GABA_A peaks at 0.960 and
decays with 5.56 ms. Each synapse of a `[[synapses]]` entry has its own cleft: its receptors
see [T] only during the pulses of its own releases (`channelsim.protocol`).

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
"""

from __future__ import annotations

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


def _receptor(kind: str, ion: str, description: str, conductance_S: float, ratios: dict[str, float] | None,
              binding_per_M_s: float, unbinding_per_s: float, source: str) -> KindDefaults:
    return KindDefaults(
        kind=kind, description=description, ion=ion, permeation="ghk", conductance_S=conductance_S,
        permeability_m3_per_s=permeability_from_conductance(conductance_S, 1, REFERENCE_CONCENTRATION_mM,
                                                            REFERENCE_TEMPERATURE_K),
        open_probability=None, mean_open_time_s=None, density_per_m2=None, source=source,
        scheme=lambda entry: binding_scheme(binding_per_M_s, unbinding_per_s),
        permeability_ratios=ratios, transmitter_mM=TRANSMITTER_mM, transmitter_duration_s=TRANSMITTER_DURATION_s,
    )


RECEPTOR_KINDS = {
    "ampa": _receptor("ampa", "Na", "AMPA receptor: glutamate-gated cation channel (Na+ and K+, P_Na/P_K = 1)",
                      10e-12, {"Na": 1.0, "K": 1.0}, 1.1e6, 190.0,
                      "Destexhe, Mainen & Sejnowski 1994, J Comput Neurosci 1:195 (kinetics); Dingledine et al. "
                      "1999, Pharmacol Rev 51:7 (P_Na/P_K); Spruston, Jonas & Sakmann 1995, J Physiol 482:325 "
                      "(10 pS)"),
    "gaba_a": _receptor("gaba_a", "Cl", "GABA_A receptor: GABA-gated Cl- channel", 27e-12, None, 5e6, 180.0,
                        "Destexhe, Mainen & Sejnowski 1994, J Comput Neurosci 1:195 (kinetics); Bormann, Hamill & "
                        "Sakmann 1987, J Physiol 385:243 (27 pS)"),
}
