"""The Na+/K+-ATPase as stochastic pump agents.

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

Ouabain binds one pump at a time (a Langmuir isotherm, Hill coefficient 1); its ED50 for human
Na+/K+ pumps is 3 nM without K+ and about ten times higher at 3 mM [K]o (Moller, Vaag &
Johansen 1990, Br J Clin Pharmacol 29:93): we take 30 nM.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PumpKind:
    """A pump kind's defaults.

    `stoichiometry`: ions into the cell per completed cycle (negative: out); `inner_ion` and
    `outer_ion`: the ions its rate law binds inside and outside.
    """

    kind: str
    description: str
    stoichiometry: dict[str, int]
    inner_ion: str
    outer_ion: str
    max_turnover_per_s: float
    half_saturation_na_mM: float
    half_saturation_k_mM: float
    density_per_m2: float
    ouabain_ic50_mM: float
    ouabain_hill: float
    source: str


PUMP_KINDS = {
    "na_k_atpase": PumpKind(
        kind="na_k_atpase", description="Na+/K+-ATPase: 3 Na+ out, 2 K+ in per cycle",
        stoichiometry={"Na": -3, "K": 2}, inner_ion="Na", outer_ion="K",
        max_turnover_per_s=100.0, half_saturation_na_mM=10.0, half_saturation_k_mM=1.5,
        density_per_m2=1000.0 * 1e12, ouabain_ic50_mM=30e-6, ouabain_hill=1.0,
        source="Luo & Rudy 1994, Circ Res 74:1071; Laeuger 1991; Moller et al. 1990, Br J Clin Pharmacol 29:93",
    ),
}
