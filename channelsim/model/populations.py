"""Mesa agents: one per channel, synapse or pump *population* (a config entry), holding its members.

A single channel is a light `ChannelView` made on request (`patch.agent(i)`, iteration over a
population): a Mesa object per channel would cost ~4 us and ~430 B (measured), and the hot loop
never touches Python objects anyway. The arrays themselves belong to the `MembranePatch`.

`open` and `close` change how many channels of a kind are on the membrane. Counts and
occupancies simply change; agent-tracked kinds keep an array slot for every channel they may
ever hold (their `capacity`, from the protocol), and a slot without a channel is marked absent
(and blocked, so that the kernel neither counts it open nor lets ions through it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from channelsim.channels import KINDS, MarkovScheme
from channelsim.config.schema import ChannelEntry, PumpEntry, SynapseEntry
from channelsim.kernels.agent_events import group_by_state
from channelsim.model.dependencies import mesa

if TYPE_CHECKING:
    from channelsim.model.patch import MembranePatch


@dataclass(frozen=True)
class ChannelView:
    """One channel, for inspection: identity, kind, position on the unrolled membrane, state."""

    identity: int
    kind: str
    position_um: tuple[float, float]
    state: str | None  # None where the population tracks counts, not individuals
    is_open: bool | None


def open_in_row(kinds, k: int) -> float:
    """Open, unblocked channels of kernel row k (a channel kind or a synapse's receptors), from the state arrays."""
    n = int(kinds.n_states[k])
    conducting = kinds.conducting[k, :n]
    mode = int(kinds.mode[k])
    if mode == 0:  # agent
        lo, hi = kinds.agent_offset[k], kinds.agent_offset[k + 1]
        return float(np.count_nonzero(conducting[kinds.agent_states[lo:hi]] & (1 - kinds.agent_blocked[lo:hi])))
    if mode == 1:  # population
        return float(conducting @ kinds.population[k, :n])
    return (kinds.count[k] - kinds.blocked[k]) * float(conducting @ kinds.occupancy[k, :n])


class Population(mesa.Agent):
    """All channels or pumps of one kind (one config entry): the Mesa agent that holds them."""

    def __init__(self, model: MembranePatch, index: int, entry: ChannelEntry | PumpEntry):
        super().__init__(model)
        self.index = index
        self.entry = entry
        self.kind = entry.kind
        self.tracking = entry.tracking
        self.first_row = index  # the kernel rows it owns (`place`): one per compartment it covers
        self.row_compartments = np.zeros(1, dtype=np.int64)
        self.row_counts = np.array([entry.count], dtype=np.int64)

    def place(self, first_row: int, compartments: np.ndarray, counts: np.ndarray) -> None:
        """Own the kernel rows from `first_row` on: `counts[i]` channels or pumps in `compartments[i]`."""
        self.first_row, self.row_compartments, self.row_counts = first_row, compartments, counts

    @property
    def rows(self) -> range:
        """The kernel rows (of `Kinds` or `Pumps`) of this population."""
        return range(self.first_row, self.first_row + len(self.row_counts))


class ChannelPopulation(Population):
    """All channels of one kind on the patch, tracked as individuals, counts or a mean field.

    `capacity` is the length of its agent arrays (agent tracking): the most channels the protocol's
    `open` steps ever put on the membrane at once.
    """

    def __init__(self, model: MembranePatch, index: int, entry: ChannelEntry, capacity: int):
        super().__init__(model, index, entry)
        self.capacity = capacity
        self.scheme: MarkovScheme = KINDS[entry.kind].scheme_for(entry, model.config)
        self.permeant_ions = KINDS[entry.kind].permeant_ions
        self._unitary_factor = KINDS[entry.kind].unitary_factor(model.config)

    @property
    def count(self) -> int:
        """Channels of this kind now on the membrane (`open` and `close` change it)."""
        kinds = getattr(self.model, "kinds", None)
        return self.entry.count if kinds is None else int(kinds.count[self.rows.start:self.rows.stop].sum())

    @property
    def first_identity(self) -> int:
        """Identity of this kind's first channel: identities run over the kinds in order."""
        return sum(p.count for p in self.model.populations[: self.index])

    @property
    def unitary(self) -> float:
        """Single-channel permeability (GHK, m^3/s) or conductance (ohmic, S)."""
        value = self.entry.permeability if self.entry.permeation == "ghk" else self.entry.conductance
        return value * self._unitary_factor

    @property
    def _agent_slice(self) -> slice:
        offsets = self.model.kinds.agent_offset
        return slice(offsets[self.rows.start], offsets[self.rows.stop])

    @property
    def states(self) -> np.ndarray | None:
        """Per-slot state indices (agent tracking only), a view into the patch's array; see `present`."""
        return self.model.kinds.agent_states[self._agent_slice] if self.tracking == "agent" else None

    @property
    def blocked(self) -> np.ndarray | None:
        """Per-slot blocked flags (agent tracking only; absent slots count as blocked), a view."""
        return self.model.kinds.agent_blocked[self._agent_slice] if self.tracking == "agent" else None

    @property
    def absent(self) -> np.ndarray | None:
        """Per-slot flags, 1 where no channel is on the membrane (agent tracking only), a view."""
        return self.model.agent_absent[self._agent_slice] if self.tracking == "agent" else None

    @property
    def present(self) -> np.ndarray | None:
        """Slot indices of the channels on the membrane (agent tracking only), in slot order."""
        return np.flatnonzero(self.absent == 0) if self.tracking == "agent" else None

    @property
    def open_count(self) -> float:
        """Open, unblocked channels of this kind after the last step (fractional in mean-field tracking)."""
        return float(self.model.kinds.open_count[self.rows.start:self.rows.stop].sum())

    def open_now(self, kinds) -> float:
        """Open, unblocked channels (one row: blocking and `open`/`close` are not applied to cables)."""
        return open_in_row(kinds, self.first_row)

    def set_blocked(self, kinds, blocked: int, rng: np.random.Generator) -> None:
        """Block or unblock channels (chosen at random) until `blocked` of them are blocked (one row: not a cable)."""
        k, n = self.first_row, len(self.scheme.states)
        change = blocked - int(kinds.blocked[k])
        if self.tracking == "agent":
            candidates = np.flatnonzero((self.blocked == (0 if change > 0 else 1)) & (self.absent == 0))
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

    def insert(self, kinds, n: int, steady_state: np.ndarray, rng: np.random.Generator) -> None:
        """Put n more channels on the membrane, unblocked, each in a state drawn from `steady_state`."""
        k, n_states = self.first_row, len(self.scheme.states)  # one row: not a cable
        present = self.count
        if self.tracking == "agent":
            slots = np.flatnonzero(self.absent)[:n]  # the first free slots
            self.states[slots] = rng.choice(n_states, size=n, p=steady_state)
            self.absent[slots] = 0
            self.blocked[slots] = 0
            group_by_state(self.states, n_states, kinds.agent_order[self._agent_slice],
                           kinds.agent_position[self._agent_slice], kinds.agent_group_start[k])
        elif self.tracking == "population":
            kinds.population[k, :n_states] += rng.multinomial(n, steady_state)
        else:
            kinds.occupancy[k, :n_states] = (present * kinds.occupancy[k, :n_states] + n * steady_state) / (present + n)
        kinds.count[k] = present + n
        kinds.open_count[k] = self.open_now(kinds)

    def remove(self, kinds, n: int, rng: np.random.Generator) -> None:
        """Take n channels, chosen at random among those on the membrane (blocked or not), off it."""
        k, n_states = self.first_row, len(self.scheme.states)  # one row: not a cable
        if self.tracking == "agent":
            slots = rng.choice(self.present, size=n, replace=False)
            kinds.blocked[k] -= int(np.count_nonzero(self.blocked[slots]))  # drug-blocked ones leave too
            self.absent[slots] = 1
            self.blocked[slots] = 1
        elif self.tracking == "population":
            both = np.concatenate([kinds.population[k, :n_states], kinds.population_blocked[k, :n_states]])
            taken = rng.multivariate_hypergeometric(both, n)
            kinds.population[k, :n_states] -= taken[:n_states]
            kinds.population_blocked[k, :n_states] -= taken[n_states:]
            kinds.blocked[k] -= int(taken[n_states:].sum())
        else:
            blocked = int(kinds.blocked[k])
            kinds.blocked[k] -= rng.hypergeometric(blocked, self.count - blocked, n) if blocked else 0
        kinds.count[k] -= n
        kinds.open_count[k] = self.open_now(kinds)

    @cached_property
    def positions_um(self) -> np.ndarray:
        """(capacity, 2) positions of the slots, uniform on the membrane unrolled into a square (um)."""
        side_um = np.sqrt(self.model.config.cell.area_m2) * 1e6
        rng = np.random.default_rng([self.model.run_seed, 1, self.index])
        return rng.uniform(0.0, side_um, size=(max(self.capacity, self.entry.count), 2))

    def channel(self, local_index: int) -> ChannelView:
        """Return a view of the channel at `local_index` of this kind (identity `first_identity + local_index`).

        Channels are numbered in slot order among those on the membrane.
        """
        states = self.states
        slot = local_index if states is None else int(self.present[local_index])
        state = None if states is None else self.scheme.states[states[slot]]
        return ChannelView(
            identity=self.first_identity + local_index,
            kind=self.kind,
            position_um=tuple(self.positions_um[slot]),
            state=state,
            is_open=None if state is None else state in self.scheme.conducting,
        )

    def __iter__(self):
        """Iterate over the channels of this kind, as `ChannelView`s."""
        return (self.channel(i) for i in range(self.count))

    def __len__(self) -> int:
        """Return the number of channels of this kind."""
        return self.count


class SynapsePopulation(mesa.Agent):
    """All synapses of one `[[synapses]]` entry: `count` synapses of `receptors` receptors each.

    Each synapse's receptors are one row of the kernel's `Kinds` (rows `rows`), with their own
    cleft, so that a release reaches only them; the rows share the receptor kind's tables.
    """

    def __init__(self, model: MembranePatch, index: int, entry: SynapseEntry, first_row: int, first_synapse: int):
        super().__init__(model)
        self.index = index
        self.entry = entry
        self.name = entry.name
        self.kind = entry.receptor
        self.tracking = entry.tracking
        self.count = entry.count
        self.receptors = entry.receptors
        self.first_synapse = first_synapse
        self.rows = slice(first_row, first_row + entry.count)
        self.scheme: MarkovScheme = KINDS[entry.receptor].scheme(entry)
        self.permeant_ions = KINDS[entry.receptor].permeant_ions

    @property
    def unitary(self) -> float:
        """Single-channel permeability (GHK, m^3/s) or conductance (ohmic, S) of a receptor."""
        return self.entry.permeability if self.entry.permeation == "ghk" else self.entry.conductance

    @property
    def open_count(self) -> float:
        """Open receptors over all synapses of the entry after the last step (fractional in mean-field tracking)."""
        return float(self.model.kinds.open_count[self.rows].sum())

    def open_at(self) -> np.ndarray:
        """Return the open receptors at each synapse of the entry after the last step."""
        return self.model.kinds.open_count[self.rows].copy()


class PumpPopulation(Population):
    """All pumps of one kind.

    With agent tracking each pump has its own blocked flag, so a drug's stochastic binding is a
    property of individual pumps; their cycles are independent Poisson processes whatever the
    tracking (see kernels.state.Pumps).
    """

    def __init__(self, model: MembranePatch, index: int, entry: PumpEntry):
        super().__init__(model, index, entry)
        self.count = entry.count
        self.blocked = np.zeros(entry.count if entry.tracking == "agent" else 0, dtype=np.uint8)

    def set_blocked_probability(self, pumps, old: float, new: float, rng: np.random.Generator) -> None:
        """Change each pump's chance of being blocked from `old` to `new` (drug binding).

        Unblocked pumps bind with probability (new - old)/(1 - old), or blocked ones unbind with
        (old - new)/old, so the blocked count stays Binomial(N, new).
        """
        p = self.first_row  # one row: drugs are not applied to cables
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
        pumps.active[self.first_row] = self.count - blocked
