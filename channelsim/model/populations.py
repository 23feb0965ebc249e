"""Mesa agents: one per channel or pump *population* (a config entry), holding its channels.

A single channel is a light `ChannelView` made on request (`patch.agent(i)`, iteration over a
population): a Mesa object per channel would cost ~4 us and ~430 B (measured), and the hot loop
never touches Python objects anyway. The arrays themselves belong to the `MembranePatch`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import mesa
import numpy as np

from channelsim.channels import KINDS, MarkovScheme
from channelsim.config.schema import ChannelEntry, PumpEntry

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


class Population(mesa.Agent):
    """All channels or pumps of one kind (one config entry): the Mesa agent that holds them."""

    def __init__(self, model: MembranePatch, index: int, entry: ChannelEntry | PumpEntry):
        super().__init__(model)
        self.index = index
        self.entry = entry
        self.kind = entry.kind
        self.tracking = entry.tracking
        self.count = entry.count
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
    """All channels of one kind on the patch, tracked as individuals, counts or a mean field."""

    def __init__(self, model: MembranePatch, index: int, entry: ChannelEntry, first_identity: int):
        super().__init__(model, index, entry)
        self.first_identity = first_identity
        self.scheme: MarkovScheme = KINDS[entry.kind].scheme(entry)
        self.permeant_ions = KINDS[entry.kind].permeant_ions

    @property
    def unitary(self) -> float:
        """Single-channel permeability (GHK, m^3/s) or conductance (ohmic, S)."""
        return self.entry.permeability if self.entry.permeation == "ghk" else self.entry.conductance

    @property
    def _agent_slice(self) -> slice:
        offsets = self.model.kinds.agent_offset
        return slice(offsets[self.rows.start], offsets[self.rows.stop])

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
        """Open, unblocked channels of this kind after the last step (fractional in mean-field tracking)."""
        return float(self.model.kinds.open_count[self.rows.start:self.rows.stop].sum())

    def open_now(self, kinds, k: int) -> float:
        """Open, unblocked channels of kernel row k, counted from the state arrays."""
        n = len(self.scheme.states)
        conducting = kinds.conducting[k, :n]
        if self.tracking == "agent":
            here = slice(kinds.agent_offset[k], kinds.agent_offset[k + 1])
            return float(np.count_nonzero(conducting[kinds.agent_states[here]] & (1 - kinds.agent_blocked[here])))
        if self.tracking == "population":
            return float(conducting @ kinds.population[k, :n])
        return (kinds.count[k] - kinds.blocked[k]) * float(conducting @ kinds.occupancy[k, :n])

    def set_blocked(self, kinds, blocked: int, rng: np.random.Generator) -> None:
        """Block or unblock channels (chosen at random) until `blocked` of them are blocked (one row: not a cable)."""
        k, n = self.first_row, len(self.scheme.states)
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
        kinds.open_count[k] = self.open_now(kinds, k)

    @cached_property
    def positions_um(self) -> np.ndarray:
        """(count, 2) positions, uniform on the membrane unrolled into a square (um)."""
        side_um = np.sqrt(self.model.config.cell.area_m2) * 1e6
        rng = np.random.default_rng([self.model.run_seed, 1, self.index])
        return rng.uniform(0.0, side_um, size=(self.count, 2))

    def channel(self, local_index: int) -> ChannelView:
        """Return a view of the channel at `local_index` of this kind (identity `first_identity + local_index`)."""
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
        """Iterate over the channels of this kind, as `ChannelView`s."""
        return (self.channel(i) for i in range(self.count))

    def __len__(self) -> int:
        """Return the number of channels of this kind."""
        return self.count


class PumpPopulation(Population):
    """All pumps of one kind.

    With agent tracking each pump has its own blocked flag, so a drug's stochastic binding is a
    property of individual pumps; their cycles are independent Poisson processes whatever the
    tracking (see kernels.state.Pumps).
    """

    def __init__(self, model: MembranePatch, index: int, entry: PumpEntry):
        super().__init__(model, index, entry)
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
