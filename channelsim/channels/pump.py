"""Pumps and exchangers as stochastic agents: the Na+/K+-ATPase, the Na+/Ca2+ exchanger, the Ca2+-ATPase.

Every kind cycles atomically: a completed cycle moves its whole stoichiometry at once. Each kind
has a rate law (`law`, a branch of `channelsim.kernels.pump.cycle_rates`).

Na+/K+-ATPase (`na_k_atpase`).

Each completed cycle moves exactly 3 Na+ out and 2 K+ in (one net charge out). A pump cycles
as a Poisson process with rate
    k = k_max * f(V, [Na]o) * 1 / (1 + (K_Na / [Na]i)^1.5) * [K]o / ([K]o + K_K),
    f = 1 / (1 + 0.1245 exp(-0.1 V F / RT) + 0.0365 sigma exp(-V F / RT)),
    sigma = (exp([Na]o / 67.3 mM) - 1) / 7,
the rate law of Luo & Rudy (1994) Circ Res 74:1071 (LR-II, eq. for I_NaK, after Gadsby and
Nakao's measurements), with K_Na = 10 mM and K_K = 1.5 mM.

Turnover and density: the maximal turnover of the Na+/K+-ATPase is about 100 cycles/s at
37 degC (Laeuger 1991, Electrogenic Ion Pumps, Sinauer, ch. 8); 1000 pumps per um^2 at that
turnover give LR-II's maximal pump current of 1.5 uA/uF on 1 uF/cm^2 (1.5 uA/cm^2 / (e * 1e11
per cm^2) = 94 /s).

Ouabain binds one pump at a time (a Langmuir isotherm, Hill coefficient 1), competing with
extracellular K+ for the pump's outward-facing conformation: its half-blocking concentration
rises with [K]o as for a competitive inhibitor,
    IC50([K]o) = IC50_0 (1 + [K]o / K_i).
The ED50 of ouabain for human Na+/K+ pumps is 3 nM without K+ and about ten times higher at
3 mM [K]o (Moller, Vaag & Johansen 1990, Br J Clin Pharmacol 29:93): IC50_0 = 3 nM and
K_i = 3 mM / 9 = 0.333 mM reproduce both (30 nM at 3 mM, 51.6 nM at 5.4 mM). So hypokalaemia
potentiates a cardiac glycoside and hyperkalaemia weakens it. Binding is at equilibrium with the
bath's [K]o at each `ouabain` step and each `set_outside` of K+.

Na+/Ca2+ exchanger (`ncx`). A forward cycle moves 1 Ca2+ out and 3 Na+ in (one net charge in:
electrogenic); a reverse cycle the opposite. Forward and reverse cycles are separate Poisson
processes with the rates of Luo & Rudy (1994) Circ Res 74:1071 (LR-II's I_NaCa, after Mullins'
scheme), per exchanger
    forward = k exp((eta - 1) u) [Na]o^3 [Ca]i / D,   reverse = k exp(eta u) [Na]i^3 [Ca]o / D,
    D = (K_mNa^3 + [Na]o^3) (K_mCa + [Ca]o) (1 + k_sat exp((eta - 1) u)),   u = V F / RT,
with K_mNa = 87.5 mM, K_mCa = 1.38 mM, k_sat = 0.1 and eta = 0.35 (the position of the
energy barrier in the field). The net rate vanishes where exp(u) = ([Na]o/[Na]i)^3 [Ca]i/[Ca]o,
i.e. at the exchanger's reversal potential E_NCX = 3 E_Na - 2 E_Ca. LR-II's scale
k_NaCa = 2000 uA/uF fixes only the product of density and k; we take 1000 exchangers per um^2
(an assumed order of magnitude: the product sets the mean current, the split only the noise),
hence k = 2000 uA/cm^2 / (e x 1e11 /cm^2) = 1.25e5 /s.

Plasma-membrane Ca2+-ATPase (`pmca`). One Ca2+ out per cycle (two charges out; the H+ it takes
in return is not modelled), at k [Ca]i / (K_m + [Ca]i), LR-II's sarcolemmal Ca2+ pump with
K_m = 0.5 uM and a maximal current of 1.15 uA/uF; with 1000 pumps per um^2 (assumed, as for the
exchanger) that is k = 1.15 uA/cm^2 / (2 e x 1e11 /cm^2) = 35.9 cycles/s, of the order of the
PMCA's measured turnover of tens per second.

Neither the exchanger nor the Ca2+ pump binds ouabain.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PumpKind:
    """A pump kind's defaults.

    `stoichiometry`: ions into the cell per completed forward cycle (negative: out); `inner_ion`
    and `outer_ion`: the ions a forward cycle binds inside and outside; `law`: its rate law, with
    `law_constants` (mol/m^3 or dimensionless, in the kernel's order). The half saturations and the
    ouabain binding (IC50 without K+, Hill coefficient, the [K]o that doubles the IC50) are those of the
    Na+/K+-ATPase law (None for kinds without them).
    """

    kind: str
    description: str
    stoichiometry: dict[str, int]
    inner_ion: str
    outer_ion: str
    max_turnover_per_s: float
    half_saturation_na_mM: float | None
    half_saturation_k_mM: float | None
    density_per_m2: float
    ouabain_ic50_mM: float | None
    ouabain_hill: float | None
    ouabain_k_competition_mM: float | None
    source: str
    law: str = "na_k"
    law_constants: tuple[float, ...] = ()


PUMP_KINDS = {
    "na_k_atpase": PumpKind(
        kind="na_k_atpase", description="Na+/K+-ATPase: 3 Na+ out, 2 K+ in per cycle",
        stoichiometry={"Na": -3, "K": 2}, inner_ion="Na", outer_ion="K",
        max_turnover_per_s=100.0, half_saturation_na_mM=10.0, half_saturation_k_mM=1.5,
        density_per_m2=1000.0 * 1e12, ouabain_ic50_mM=3e-6, ouabain_hill=1.0,
        ouabain_k_competition_mM=3.0 / 9.0,
        source="Luo & Rudy 1994, Circ Res 74:1071; Laeuger 1991; Moller et al. 1990, Br J Clin Pharmacol 29:93",
    ),
    "ncx": PumpKind(
        kind="ncx", description="Na+/Ca2+ exchanger: 1 Ca2+ out, 3 Na+ in per cycle (reversible)",
        stoichiometry={"Ca": -1, "Na": 3}, inner_ion="Ca", outer_ion="Na",
        max_turnover_per_s=2000e-6 / (1.602176634e-19 * 1e11), half_saturation_na_mM=None,
        half_saturation_k_mM=None, density_per_m2=1000.0 * 1e12, ouabain_ic50_mM=None, ouabain_hill=None,
        ouabain_k_competition_mM=None,
        source="Luo & Rudy 1994, Circ Res 74:1071 (I_NaCa)", law="ncx", law_constants=(87.5, 1.38, 0.1, 0.35),
    ),
    "pmca": PumpKind(
        kind="pmca", description="plasma-membrane Ca2+-ATPase: 1 Ca2+ out per cycle",
        stoichiometry={"Ca": -1}, inner_ion="Ca", outer_ion="Ca",
        max_turnover_per_s=1.15e-6 / (2 * 1.602176634e-19 * 1e11), half_saturation_na_mM=None,
        half_saturation_k_mM=None, density_per_m2=1000.0 * 1e12, ouabain_ic50_mM=None, ouabain_hill=None,
        ouabain_k_competition_mM=None,
        source="Luo & Rudy 1994, Circ Res 74:1071 (I_p(Ca))", law="pmca", law_constants=(0.5e-3,),
    ),
}
