"""Markov schemes as data: states, transitions with rate laws, conducting states."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from channelsim.constants import FARADAY, GAS_CONSTANT

#: A rate law: (membrane potential in V, temperature in K) -> rate in 1/s.
RateLaw = Callable[[float, float], float]


@dataclass(frozen=True)
class Transition:
    """One edge of a scheme: `source` -> `target` at `rate(v, temperature_K)` per second.

    A `ligand` transition is transmitter binding: its rate law gives the rate per unit of
    transmitter concentration (1/s per mol/m^3), and the scheme's rate matrix multiplies it by
    the concentration in the synaptic cleft.
    """

    source: str
    target: str
    rate: RateLaw
    ligand: bool = False


@dataclass(frozen=True)
class MarkovScheme:
    """A channel's gating as a continuous-time Markov chain."""

    states: tuple[str, ...]
    transitions: tuple[Transition, ...]
    conducting: tuple[str, ...]

    def rate_matrix(self, v: np.ndarray, temperature_K: float, transmitter: float = 0.0) -> np.ndarray:
        """Return the generator Q[..., i, j] (rate i -> j, rows summing to 0) for each voltage in `v`.

        `transmitter` is the concentration (mol/m^3) that ligand transitions see.
        """
        v = np.atleast_1d(np.asarray(v, dtype=float))
        index = {name: i for i, name in enumerate(self.states)}
        q = np.zeros(v.shape + (len(self.states), len(self.states)))
        for t in self.transitions:
            rate = np.vectorize(lambda x, law=t.rate: law(float(x), temperature_K))(v)
            q[..., index[t.source], index[t.target]] += rate * transmitter if t.ligand else rate
        idx = np.arange(len(self.states))
        q[..., idx, idx] = -q.sum(axis=-1)
        return q

    @property
    def ligand_gated(self) -> bool:
        """Whether a transition of the scheme binds transmitter (a receptor kind)."""
        return any(t.ligand for t in self.transitions)

    @property
    def conducting_mask(self) -> np.ndarray:
        """Mark the conducting states: 1 where a state conducts, else 0 (uint8, in the order of `states`)."""
        return np.array([s in self.conducting for s in self.states], dtype=np.uint8)


@dataclass(frozen=True)
class KindDefaults:
    """What a config entry of this kind gets unless it overrides it.

    `scheme(entry)` builds the Markov scheme from the resolved config entry, so that per-entry
    parameters such as `open_probability` shape the scheme. A default of None means the kind
    has no such parameter (or, for the density, that the config must give a count).

    `permeability_ratios` gives, for a channel passing several ions, each ion's permeability
    (GHK) or conductance (ohmic) relative to the unitary value, which is that of `ion` (ratio
    1); None for a channel passing `ion` alone. A receptor kind (gated by transmitter, used in
    `[[synapses]]`) has `transmitter_mM` and `transmitter_duration_s`, the concentration and
    duration of the transmitter pulse one released vesicle gives its cleft.
    """

    kind: str
    description: str
    ion: str
    permeation: str  # "ghk" or "ohmic"
    conductance_S: float  # unitary conductance (ohmic permeation)
    permeability_m3_per_s: float | None  # single-channel permeability (GHK permeation)
    open_probability: float | None
    mean_open_time_s: float | None
    density_per_m2: float | None
    source: str
    scheme: Callable[[object], MarkovScheme]
    permeability_ratios: dict[str, float] | None = None
    transmitter_mM: float | None = None
    transmitter_duration_s: float | None = None
    #: a scheme that depends on the cell's initial state, scheme_in_cell(entry, config) (the
    #: inward rectifier gates in V - E_K); `scheme(entry)` then gives it at the source's conditions
    scheme_in_cell: Callable[[object, object], MarkovScheme] | None = None
    #: a factor of the unitary value set by the config (LR1's sqrt([K]o / 5.4 mM) of I_K and I_K1)
    conductance_factor: Callable[[object], float] | None = None

    def __post_init__(self):
        """Check that the ratios, if given, include the kind's own ion at 1."""
        ratios = self.permeability_ratios
        if ratios is not None and (ratios.get(self.ion) != 1.0 or min(ratios.values()) <= 0.0):
            raise ValueError(f"{self.kind}: permeability_ratios must give {self.ion} 1.0 and positive ratios")

    @property
    def permeant_ions(self) -> dict[str, float]:
        """Each ion the channel passes, with its permeability or conductance relative to the unitary value.

        {ion: 1.0} for a single-ion channel; the `permeability_ratios` for a channel passing
        several ions (AMPA: {"Na": 1.0, "K": 1.0}). Each ion's flux is computed with its own
        permeability (ratio x unitary value) and valence, and drawn as its own Poisson counts.
        """
        return dict(self.permeability_ratios) if self.permeability_ratios else {self.ion: 1.0}

    def scheme_for(self, entry: object, config: object) -> MarkovScheme:
        """Return the scheme of a config entry in the cell of `config`."""
        return self.scheme_in_cell(entry, config) if self.scheme_in_cell else self.scheme(entry)

    def unitary_factor(self, config: object) -> float:
        """Return the factor the config's conditions put on the entry's unitary value (1 for most kinds)."""
        return self.conductance_factor(config) if self.conductance_factor else 1.0

    @property
    def is_receptor(self) -> bool:
        """Whether the kind is gated by transmitter: it goes in `[[synapses]]`, not `[[channels]]`."""
        return self.transmitter_mM is not None

    def parameters(self) -> dict[str, float]:
        """Return the per-entry parameters this kind has, with their defaults (config names)."""
        values = {"conductance": self.conductance_S, "permeability": self.permeability_m3_per_s,
                  "open_probability": self.open_probability, "mean_open_time": self.mean_open_time_s}
        return {name: value for name, value in values.items() if value is not None}


def permeability_from_conductance(conductance_S: float, valence: int,
                                  concentration_mM: float, temperature_K: float) -> float:
    """Single-channel GHK permeability with the same slope conductance at 0 mV.

    In symmetric solutions of concentration c the GHK current is linear at V = 0 with
    g = P z^2 F^2 c / (R T), hence P = g R T / (z^2 F^2 c).
    """
    return conductance_S * GAS_CONSTANT * temperature_K / (valence**2 * FARADAY**2 * concentration_mM)
