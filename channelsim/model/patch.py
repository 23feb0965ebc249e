"""MembranePatch (a Mesa model) and its channel populations (Mesa agents).

One Mesa agent per channel *population* holds the arrays of its channels; a single channel
is a light `ChannelView` made on request (`patch.agent(i)`, iteration over a population).
Mesa objects per channel would cost ~4 us and ~430 B each (DESIGN.md section 9), and the
hot loop never touches Python objects anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import mesa
import numpy as np

from channelsim.channels import KINDS, MarkovScheme
from channelsim.config.schema import ChannelEntry, Config
from channelsim.constants import AVOGADRO, ELEMENTARY_CHARGE, IONS, VALENCE
from channelsim.errors import ConfigError
from channelsim.kernels.loop import AGENT, MEAN_FIELD, POPULATION, membrane_voltage
from channelsim.kernels.markov import agent_step_serial, cumulative_rows, population_step
from channelsim.kernels.permeation import GHK, OHMIC
from channelsim.kernels.rng import stream_key
from channelsim.model.tables import V_MIN, V_POINTS, V_STEP, stationary_distribution, transition_table

TRACKING_CODES = {"agent": AGENT, "population": POPULATION, "mean_field": MEAN_FIELD}
PERMEATION_CODES = {"ghk": GHK, "ohmic": OHMIC}
#: Initial-state draws use steps from 2^62 on, beyond any simulated step.
INITIAL_STEP = 2**62


@dataclass(frozen=True)
class ChannelView:
    """One channel, for inspection: identity, kind, position on the unrolled membrane, state."""

    identity: int
    kind: str
    position_um: tuple[float, float]
    state: str | None  # None where the population tracks counts, not individuals
    is_open: bool | None


class ChannelPopulation(mesa.Agent):
    """All channels of one kind on the patch, tracked as individuals, counts or a mean field."""

    def __init__(self, model: MembranePatch, index: int, entry: ChannelEntry, first_identity: int):
        super().__init__(model)
        self.index = index
        self.entry = entry
        self.kind = entry.kind
        self.tracking = entry.tracking
        self.count = entry.count
        self.first_identity = first_identity
        self.scheme: MarkovScheme = KINDS[entry.kind].scheme(entry.open_probability, entry.mean_open_time)
        self.ion = KINDS[entry.kind].ion

    @property
    def unitary(self) -> float:
        """Single-channel permeability (GHK, m^3/s) or conductance (ohmic, S)."""
        return self.entry.permeability if self.entry.permeation == "ghk" else self.entry.conductance

    @property
    def states(self) -> np.ndarray | None:
        """Per-channel state indices (agent tracking only), a view into the patch's array."""
        if self.tracking != "agent":
            return None
        offsets = self.model.agent_offset
        return self.model.agent_states[offsets[self.index]:offsets[self.index + 1]]

    @property
    def open_count(self) -> float:
        return float(self.model.open_count[self.index])

    @cached_property
    def positions_um(self) -> np.ndarray:
        """(count, 2) positions, uniform on the membrane unrolled into a square (um)."""
        side_um = np.sqrt(self.model.config.cell.area_m2) * 1e6
        rng = np.random.default_rng([self.model.run_seed, 1, self.index])
        return rng.uniform(0.0, side_um, size=(self.count, 2))

    def channel(self, local_index: int) -> ChannelView:
        states = self.states
        state = None if states is None else self.scheme.states[states[local_index]]
        return ChannelView(
            identity=self.first_identity + local_index,
            kind=self.kind,
            position_um=tuple(self.positions_um[local_index]),
            state=state,
            is_open=None if state is None else state in self.scheme.conducting,
        )

    def __iter__(self):
        return (self.channel(i) for i in range(self.count))

    def __len__(self) -> int:
        return self.count


class MembranePatch(mesa.Model):
    """The membrane, its two compartments (integer ion counts) and its channel populations.

    Arrays named like the kernel's arguments are the simulation state; `voltage` is always
    computed from the counts, never stored.
    """

    def __init__(self, config: Config, seed: int):
        super().__init__(seed=seed)
        self.config = config
        self.run_seed = seed
        cell, run = config.cell, config.run
        self.capacitance = cell.capacitance_F
        self.volume_in = cell.volume_m3
        self.volume_out = config.outside.volume or 0.0  # 0: a clamped bath
        self.valence = np.array([VALENCE[ion] for ion in IONS], dtype=np.int64)
        self.bath = np.array([getattr(config.outside, ion) for ion in IONS])
        self.counts_in = np.array([round(getattr(config.inside, ion) * AVOGADRO * self.volume_in)
                                   for ion in IONS], dtype=np.int64)
        self.counts_out = (np.zeros(len(IONS), dtype=np.int64) if self.volume_out == 0.0 else
                           np.round(self.bath * AVOGADRO * self.volume_out).astype(np.int64))
        self.impermeant_count, self.fixed_charge = self._impermeant_anions()
        self.efflux_total = np.zeros(len(IONS), dtype=np.int64)
        self.influx_total = np.zeros(len(IONS), dtype=np.int64)
        self.step_index = 0

        self.populations: list[ChannelPopulation] = []
        identity = 0
        for index, entry in enumerate(config.channels):
            self.populations.append(ChannelPopulation(self, index, entry, identity))
            identity += entry.count
        self._build_kernel_arrays(run.dt)

    def _impermeant_anions(self) -> tuple[int, int]:
        """Amount of A (valence z_A < 0) that makes the inside's net charge C V0 / e."""
        z = self.config.inside.impermeant_valence
        target = self.capacitance * self.config.cell.initial_voltage / ELEMENTARY_CHARGE
        mobile = int(self.valence @ self.counts_in)
        count = round((target - mobile) / z)
        if count < 0:
            raise ConfigError("inside", "the listed anions outweigh the cations, so no amount of "
                              "impermeant anions can give the initial voltage",
                              "raise inside K or Na, or lower inside Cl")
        return count, z * count

    def _build_kernel_arrays(self, dt: float) -> None:
        pops = self.populations
        n_kinds = len(pops)
        max_states = max([len(p.scheme.states) for p in pops], default=1)
        temperature = self.config.cell.temperature
        v0 = self.voltage
        self.kind_mode = np.array([TRACKING_CODES[p.tracking] for p in pops], dtype=np.int64)
        self.kind_ion = np.array([IONS.index(p.ion) for p in pops], dtype=np.int64)
        self.kind_permeation = np.array([PERMEATION_CODES[p.entry.permeation] for p in pops], dtype=np.int64)
        self.kind_unitary = np.array([p.unitary for p in pops], dtype=np.float64)
        self.kind_n_states = np.array([len(p.scheme.states) for p in pops], dtype=np.int64)
        self.kind_count = np.array([p.count for p in pops], dtype=np.int64)
        self.conducting = np.zeros((n_kinds, max_states), dtype=np.int64)
        self.table = np.zeros((n_kinds, V_POINTS if n_kinds else 2, max_states, max_states))
        self.population = np.zeros((n_kinds, max_states), dtype=np.int64)
        self.occupancy = np.zeros((n_kinds, max_states))
        self.v_min, self.v_step = V_MIN, V_STEP
        self.flux_carry = np.zeros((n_kinds, 2))
        self.open_count = np.zeros(n_kinds)
        agent_sizes = [p.count if p.tracking == "agent" else 0 for p in pops]
        self.agent_offset = np.concatenate([[0], np.cumsum(agent_sizes)]).astype(np.int64)
        self.agent_states = np.zeros(self.agent_offset[-1], dtype=np.uint8)
        for k, p in enumerate(pops):
            n = len(p.scheme.states)
            self.conducting[k, :n] = p.scheme.conducting_mask
            self.table[k, :, :n, :n] = transition_table(p.scheme, temperature, dt)
            pi = stationary_distribution(p.scheme, v0, temperature)
            # channels start in their steady state at the initial voltage
            key = np.uint64(stream_key(self.run_seed, INITIAL_STEP + k, 0))  # keep uint64 typing
            if p.tracking == "agent":
                cumulative = np.zeros((max_states, max_states))
                cumulative_rows(np.tile(pi, (max_states, 1)), n, cumulative)
                self.open_count[k] = agent_step_serial(p.states, cumulative, n, self.conducting[k], key)
            elif p.tracking == "population":
                self.population[k, 0] = p.count
                population_step(self.population[k], np.tile(pi, (n, 1)), n, key)
                self.open_count[k] = self.conducting[k] @ self.population[k]
            else:
                self.occupancy[k, :n] = pi
                self.open_count[k] = p.count * (self.conducting[k, :n] @ pi)

    @property
    def voltage(self) -> float:
        """Membrane potential (V) from the net charge inside: e * q / C."""
        return membrane_voltage(self.counts_in, self.valence, self.fixed_charge, self.capacitance,
                                ELEMENTARY_CHARGE)

    def agent(self, identity: int) -> ChannelView:
        """The channel with this identity (identities run over populations in config order)."""
        for population in self.populations:
            if identity < population.first_identity + population.count:
                return population.channel(identity - population.first_identity)
        raise IndexError(f"no channel {identity}: the patch has {sum(p.count for p in self.populations)}")

    def population_of(self, kind: str) -> ChannelPopulation:
        return next(p for p in self.populations if p.kind == kind)


def build(config: Config, seed: int | None = None) -> MembranePatch:
    """A patch in its initial state for a resolved config (seed defaults to config.run.seed)."""
    return MembranePatch(config, config.run.seed if seed is None else seed)
