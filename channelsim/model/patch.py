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
from channelsim.config.schema import ChannelEntry, Config, PumpEntry
from channelsim.constants import AVOGADRO, ELEMENTARY_CHARGE, FARADAY, GAS_CONSTANT, IONS, VALENCE
from channelsim.errors import ConfigError
from channelsim.kernels.agent_events import group_by_state
from channelsim.kernels.loop import AGENT, MEAN_FIELD, POPULATION, membrane_voltage
from channelsim.kernels.markov import agent_step_serial, cumulative_rows, population_step
from channelsim.kernels.permeation import GHK, OHMIC
from channelsim.kernels.rng import stream_key
from channelsim.kernels.state import Compartments, Kinds, Membrane, Pumps
from channelsim.model.tables import V_MIN, V_POINTS, V_STEP, stationary_distribution, transition_table

TRACKING_CODES = {"agent": AGENT, "population": POPULATION, "mean_field": MEAN_FIELD}
PERMEATION_CODES = {"ghk": GHK, "ohmic": OHMIC}
#: Initial-state draws use steps from 2^62 on, beyond any simulated step.
INITIAL_STEP = 2**62
#: Agent arrays at least this long are updated in parallel: a parallel region costs ~8 us to
#: enter (DESIGN.md section 9); measured break-even on 2 cores near 1e5 (tests/benchmarks).
PARALLEL_THRESHOLD = 100_000
#: Electrode current is carried by K+: whole-cell pipettes are filled with K+-based solutions
#: (K-gluconate or KCl) and K+ is the main cytosolic cation, so its counts change least.
ELECTRODE_ION = "K"
#: Spike detector: upward crossing of 0 mV, re-armed below -30 mV (as in the peer workloads).
SPIKE_THRESHOLD_V = 0.0
SPIKE_REARM_V = -0.030


@dataclass(frozen=True)
class ChannelView:
    """One channel, for inspection: identity, kind, position on the unrolled membrane, state."""

    identity: int
    kind: str
    position_um: tuple[float, float]
    state: str | None  # None where the population tracks counts, not individuals
    is_open: bool | None


class Population(mesa.Agent):
    """All channels or pumps of one kind (one config entry): the Mesa agent that holds them."""

    def __init__(self, model: MembranePatch, index: int, entry: ChannelEntry | PumpEntry):
        super().__init__(model)
        self.index = index
        self.entry = entry
        self.kind = entry.kind
        self.tracking = entry.tracking
        self.count = entry.count


class ChannelPopulation(Population):
    """All channels of one kind on the patch, tracked as individuals, counts or a mean field."""

    def __init__(self, model: MembranePatch, index: int, entry: ChannelEntry, first_identity: int):
        super().__init__(model, index, entry)
        self.first_identity = first_identity
        self.scheme: MarkovScheme = KINDS[entry.kind].scheme(entry)
        self.ion = KINDS[entry.kind].ion

    @property
    def unitary(self) -> float:
        """Single-channel permeability (GHK, m^3/s) or conductance (ohmic, S)."""
        return self.entry.permeability if self.entry.permeation == "ghk" else self.entry.conductance

    @property
    def _agent_slice(self) -> slice:
        offsets = self.model.kinds.agent_offset
        return slice(offsets[self.index], offsets[self.index + 1])

    @property
    def states(self) -> np.ndarray | None:
        """Per-channel state indices (agent tracking only), a view into the patch's array."""
        return self.model.kinds.agent_states[self._agent_slice] if self.tracking == "agent" else None

    @property
    def blocked(self) -> np.ndarray | None:
        """Per-channel blocked flags (agent tracking only), a view into the patch's array."""
        return self.model.kinds.agent_blocked[self._agent_slice] if self.tracking == "agent" else None

    @property
    def open_count(self) -> float:
        return float(self.model.kinds.open_count[self.index])

    def open_now(self, kinds) -> float:
        """Open, unblocked channels, counted from the state arrays."""
        k, n = self.index, len(self.scheme.states)
        conducting = kinds.conducting[k, :n]
        if self.tracking == "agent":
            return float(np.count_nonzero(conducting[self.states] & (1 - self.blocked)))
        if self.tracking == "population":
            return float(conducting @ kinds.population[k, :n])
        return (self.count - kinds.blocked[k]) * float(conducting @ kinds.occupancy[k, :n])

    def set_blocked(self, kinds, blocked: int, rng: np.random.Generator) -> None:
        """Block or unblock channels (chosen at random) until `blocked` of them are blocked."""
        k, n = self.index, len(self.scheme.states)
        change = blocked - int(kinds.blocked[k])
        if self.tracking == "agent":
            candidates = np.flatnonzero(self.blocked == (0 if change > 0 else 1))
            chosen = rng.choice(candidates, size=abs(change), replace=False)
            self.blocked[chosen] = 1 if change > 0 else 0
        elif self.tracking == "population":
            source, target = ((kinds.population, kinds.population_blocked) if change > 0
                              else (kinds.population_blocked, kinds.population))
            moved = rng.multivariate_hypergeometric(source[k, :n], abs(change))
            source[k, :n] -= moved
            target[k, :n] += moved
        kinds.blocked[k] = blocked
        kinds.open_count[k] = self.open_now(kinds)

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


class PumpPopulation(Population):
    """All pumps of one kind. With agent tracking each pump has its own blocked flag, so a
    drug's stochastic binding is a property of individual pumps; their cycles are independent
    Poisson processes whatever the tracking (see kernels.state.Pumps)."""

    def __init__(self, model: MembranePatch, index: int, entry: PumpEntry):
        super().__init__(model, index, entry)
        self.blocked = np.zeros(entry.count if entry.tracking == "agent" else 0, dtype=np.uint8)

    def set_blocked_probability(self, pumps, old: float, new: float, rng: np.random.Generator) -> None:
        """Each pump's chance of being blocked changes from `old` to `new` (drug binding):
        unblocked pumps bind with probability (new - old)/(1 - old), or blocked ones unbind with
        (old - new)/old, so the blocked count stays Binomial(N, new)."""
        p = self.index
        if self.tracking == "agent":
            if new > old:
                free = np.flatnonzero(self.blocked == 0)
                self.blocked[free[rng.random(len(free)) < (new - old) / (1.0 - old)]] = 1
            elif new < old:
                bound = np.flatnonzero(self.blocked == 1)
                self.blocked[bound[rng.random(len(bound)) < (old - new) / old]] = 0
            pumps.active[p] = self.count - int(self.blocked.sum())
        else:
            blocked = self.count - int(pumps.active[p])
            if new > old:
                blocked += rng.binomial(self.count - blocked, (new - old) / (1.0 - old))
            elif new < old:
                blocked -= rng.binomial(blocked, (old - new) / old)
            pumps.active[p] = self.count - blocked

    def set_blocked(self, pumps, blocked: int, rng: np.random.Generator) -> None:
        """Block or unblock pumps (chosen at random) until `blocked` of them are blocked."""
        if self.tracking == "agent":
            change = blocked - int(self.blocked.sum())
            candidates = np.flatnonzero(self.blocked == (0 if change > 0 else 1))
            self.blocked[rng.choice(candidates, size=abs(change), replace=False)] = 1 if change > 0 else 0
        pumps.active[self.index] = self.count - blocked


class MembranePatch(mesa.Model):
    """The membrane, its two compartments (integer ion counts) and its channel populations.

    The simulation state lives in the kernel's NamedTuples (`membrane`, `compartments`,
    `kinds`); `voltage` is always computed from the counts, never stored.
    """

    def __init__(self, config: Config, seed: int):
        super().__init__(seed=seed)
        self.config = config
        self.run_seed = seed
        cell = config.cell
        self.step_index = 0
        self.populations: list[ChannelPopulation] = []
        identity = 0
        # kinds in a canonical (alphabetical) order: the order of the config's entries cannot
        # change the random streams, the floating-point sums or the results
        channels = sorted(config.channels, key=lambda entry: entry.kind)
        pumps = sorted(config.pumps, key=lambda entry: entry.kind)
        for index, entry in enumerate(channels):
            self.populations.append(ChannelPopulation(self, index, entry, identity))
            identity += entry.count
        self.pump_populations = [PumpPopulation(self, index, entry) for index, entry in enumerate(pumps)]
        self.ouabain_blocked = np.zeros(len(config.pumps))  # each pump kind's current binding probability
        self.pumps = Pumps(
            mode=np.array([TRACKING_CODES[e.tracking] for e in pumps], dtype=np.int64),
            active=np.array([e.count for e in pumps], dtype=np.int64),
            max_rate=np.array([e.max_turnover for e in pumps], dtype=np.float64),
            km_na=np.array([e.half_saturation_na for e in pumps], dtype=np.float64),
            km_k=np.array([e.half_saturation_k for e in pumps], dtype=np.float64),
            cycles_total=np.zeros(len(pumps), dtype=np.int64),
            carry=np.zeros(len(pumps)),
        )
        volume_out = config.outside.volume or 0.0  # 0: a clamped bath
        bath = np.array([getattr(config.outside, ion) for ion in IONS])
        zeros = np.zeros(len(IONS), dtype=np.int64)
        self.compartments = Compartments(
            counts_in=np.array([round(getattr(config.inside, ion) * AVOGADRO * cell.volume_m3) for ion in IONS],
                               dtype=np.int64),
            counts_out=zeros.copy() if volume_out == 0.0 else np.round(bath * AVOGADRO * volume_out).astype(np.int64),
            bath=bath, efflux_total=zeros.copy(), influx_total=zeros.copy(), electrode_total=zeros.copy(),
            electrode_carry=np.zeros(1), spike_armed=np.ones(1, dtype=np.int64),
        )
        valence = np.array([VALENCE[ion] for ion in IONS], dtype=np.int64)
        self.impermeant_count, fixed_charge = self._impermeant_anions(valence, cell.capacitance_F)
        self.membrane = Membrane(
            dt=config.run.dt, seed=seed, capacitance=cell.capacitance_F, fixed_charge=fixed_charge,
            valence=valence, volume_in=cell.volume_m3, volume_out=volume_out,
            thermal_v=GAS_CONSTANT * cell.temperature / FARADAY, avogadro=AVOGADRO, charge=ELEMENTARY_CHARGE,
            electrode_ion=IONS.index(ELECTRODE_ION), spike_threshold=SPIKE_THRESHOLD_V,
            spike_rearm=SPIKE_REARM_V, parallel_threshold=PARALLEL_THRESHOLD, v_min=V_MIN, v_step=V_STEP,
        )
        self._build_kinds()
        if self.voltage >= SPIKE_THRESHOLD_V:
            self.compartments.spike_armed[0] = 0  # a spike is a crossing from below

    def _impermeant_anions(self, valence: np.ndarray, capacitance: float) -> tuple[int, int]:
        """Amount of A (valence z_A < 0) that makes the inside's net charge C V0 / e."""
        z = self.config.inside.impermeant_valence
        target = capacitance * self.config.cell.initial_voltage / ELEMENTARY_CHARGE
        mobile = int(valence @ self.compartments.counts_in)
        count = round((target - mobile) / z)
        if count < 0:
            raise ConfigError("inside", "the listed anions outweigh the cations, so no amount of "
                              "impermeant anions can give the initial voltage",
                              "raise inside K or Na, or lower inside Cl")
        return count, z * count

    def _build_kinds(self) -> None:
        """Create `self.kinds` with the tables and the channels in their initial states."""
        pops = self.populations
        n_kinds = len(pops)
        max_states = max([len(p.scheme.states) for p in pops], default=1)
        temperature = self.config.cell.temperature
        agent_sizes = [p.count if p.tracking == "agent" else 0 for p in pops]
        offsets = np.concatenate([[0], np.cumsum(agent_sizes)]).astype(np.int64)
        kinds = Kinds(
            mode=np.array([TRACKING_CODES[p.tracking] for p in pops], dtype=np.int64),
            ion=np.array([IONS.index(p.ion) for p in pops], dtype=np.int64),
            permeation=np.array([PERMEATION_CODES[p.entry.permeation] for p in pops], dtype=np.int64),
            unitary=np.array([p.unitary for p in pops], dtype=np.float64),
            n_states=np.array([len(p.scheme.states) for p in pops], dtype=np.int64),
            count=np.array([p.count for p in pops], dtype=np.int64),
            conducting=np.zeros((n_kinds, max_states), dtype=np.int64),
            table=np.zeros((n_kinds, V_POINTS if n_kinds else 2, max_states, max_states)),
            agent_states=np.zeros(offsets[-1], dtype=np.uint8),
            agent_blocked=np.zeros(offsets[-1], dtype=np.uint8),
            agent_offset=offsets,
            agent_order=np.zeros(offsets[-1], dtype=np.int64),
            agent_position=np.zeros(offsets[-1], dtype=np.int64),
            agent_group_start=np.zeros((n_kinds, max_states + 1), dtype=np.int64),
            population=np.zeros((n_kinds, max_states), dtype=np.int64),
            population_blocked=np.zeros((n_kinds, max_states), dtype=np.int64),
            occupancy=np.zeros((n_kinds, max_states)),
            blocked=np.zeros(n_kinds, dtype=np.int64),
            flux_carry=np.zeros((n_kinds, 2)),
            open_count=np.zeros(n_kinds),
        )
        self.kinds = kinds
        self.electrode_at_last_row = np.zeros(len(IONS), dtype=np.int64)  # for the electrode current
        v0 = self.voltage_of_counts(self.compartments.counts_in)
        for k, p in enumerate(pops):
            n = len(p.scheme.states)
            kinds.conducting[k, :n] = p.scheme.conducting_mask
            kinds.table[k, :, :n, :n] = transition_table(p.scheme, temperature, self.membrane.dt)
            # channels start in their steady state at the initial voltage
            pi = stationary_distribution(p.scheme, v0, temperature)
            key = np.uint64(stream_key(self.run_seed, INITIAL_STEP + k, 0))  # keep uint64 typing
            if p.tracking == "agent":
                edges = np.zeros((max_states, max_states + 1), dtype=np.int64)
                cumulative_rows(np.tile(pi, (max_states, 1)), n, edges)
                agent_step_serial(p.states, p.blocked, edges, n, kinds.conducting[k], key)
                group_by_state(p.states, n, kinds.agent_order[p._agent_slice], kinds.agent_position[p._agent_slice],
                               kinds.agent_group_start[k])
            elif p.tracking == "population":
                kinds.population[k, 0] = p.count
                population_step(kinds.population[k], np.tile(pi, (n, 1)), n, key)
            else:
                kinds.occupancy[k, :n] = pi
            kinds.open_count[k] = p.open_now(kinds)

    def state(self) -> dict[str, np.ndarray]:
        """Everything that evolves during a run, by name (the transition tables are rebuilt from
        the config): saved in the run file's checkpoint after every segment."""
        arrays = {f"compartments.{k}": v for k, v in self.compartments._asdict().items()}
        arrays |= {f"kinds.{k}": v for k, v in self.kinds._asdict().items() if k != "table"}
        arrays |= {f"pumps.{k}": v for k, v in self.pumps._asdict().items()}
        flags = [p.blocked for p in self.pump_populations]
        arrays["pump_agents_blocked"] = np.concatenate([np.zeros(0, np.uint8), *flags])
        arrays["ouabain_blocked"] = self.ouabain_blocked
        arrays["electrode_at_last_row"] = self.electrode_at_last_row
        arrays["step_index"] = np.array([self.step_index], dtype=np.int64)
        return arrays

    def restore(self, saved: dict[str, np.ndarray]) -> None:
        """Put a saved `state()` back (the patch was built from the same config)."""
        current = self.state()
        for name, array in current.items():
            if name != "pump_agents_blocked":
                array[...] = saved[name]
        offset = 0
        for population in self.pump_populations:
            population.blocked[:] = saved["pump_agents_blocked"][offset:offset + len(population.blocked)]
            offset += len(population.blocked)
        self.step_index = int(saved["step_index"][0])

    @property
    def kind_names(self) -> list[str]:
        """Channel kinds then pump kinds: the `kind` dimension of the run file."""
        return [p.kind for p in self.populations] + [p.kind for p in self.pump_populations]

    def counts_by_kind(self) -> np.ndarray:
        return np.concatenate([self.kinds.count, [p.count for p in self.pump_populations]]).astype(np.int64)

    def blocked_fraction(self) -> np.ndarray:
        sizes = self.counts_by_kind()
        blocked = np.concatenate([self.kinds.blocked, sizes[len(self.populations):] - self.pumps.active])
        return np.divide(blocked, sizes, out=np.zeros(len(sizes)), where=sizes > 0)

    def block(self, kind: str, blocked_share: float, rng: np.random.Generator, unblock: bool = False) -> None:
        """`block`: the blocked share of `kind` becomes `blocked_share`; `unblock`: that share of
        all its channels or pumps is freed. Which ones is chosen at random."""
        target = next((p for p in [*self.populations, *self.pump_populations] if p.kind == kind))
        share = round(blocked_share * target.count)
        if isinstance(target, PumpPopulation):
            already = target.count - int(self.pumps.active[target.index])
            target.set_blocked(self.pumps, max(0, already - share) if unblock else share, rng)
        else:
            already = int(self.kinds.blocked[target.index])
            target.set_blocked(self.kinds, max(0, already - share) if unblock else share, rng)

    def apply_ouabain(self, kind: str, concentration: float, rng: np.random.Generator) -> None:
        """Drug binding at equilibrium: each pump blocked with probability c^n / (c^n + IC50^n)."""
        population = next(p for p in self.pump_populations if p.kind == kind)
        entry = population.entry
        c, ic50, n = concentration, entry.ouabain_ic50, entry.ouabain_hill
        probability = c**n / (c**n + ic50**n) if c > 0 else 0.0
        population.set_blocked_probability(self.pumps, self.ouabain_blocked[population.index], probability, rng)
        self.ouabain_blocked[population.index] = probability

    def set_outside(self, ion: str, concentration: float) -> None:
        """Step an outside concentration: the bath's, or the counts of a finite outside volume
        (the ions come from or go to the wider extracellular space, recorded as a change of
        `ions_outside` without a matching inside change)."""
        i = IONS.index(ion)
        self.compartments.bath[i] = concentration
        if self.membrane.volume_out > 0:
            self.compartments.counts_out[i] = round(concentration * AVOGADRO * self.membrane.volume_out)

    def voltage_of_counts(self, counts_in: np.ndarray) -> float:
        return membrane_voltage(counts_in, self.membrane.valence, self.membrane.fixed_charge,
                                self.membrane.capacitance, ELEMENTARY_CHARGE)

    @property
    def voltage(self) -> float:
        """Membrane potential (V) from the net charge inside: e * q / C."""
        return self.voltage_of_counts(self.compartments.counts_in)

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
