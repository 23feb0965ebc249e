"""Checks of a saved state (a run file's checkpoint) before the compiled kernels read it.

The kernels index arrays with the values they are given and do not check bounds, so a damaged or
tampered checkpoint could make them read or write outside an array. Every array is checked
against the state of a model freshly built from the run's config: the same names, shapes and
dtypes; the constants of the run equal (the channel counts those the `open` and `close` steps
applied so far leave); every count, state, index, carry and probability within its range; the
agents' state groups and absent slots consistent; the protocol position consistent with the
step; and no ion created or lost where the counts must balance.
"""

from __future__ import annotations

import numpy as np

from channelsim.kernels.loop import AGENT, MEAN_FIELD, POPULATION

#: Arrays fixed by the config: a checkpoint must hold exactly what the model builds. (`kinds.count`
#: is fixed by the config and the `open` and `close` steps applied so far: checked in `_kinds`.)
CONSTANT_ARRAYS = (
    "compartments.capacitance", "compartments.fixed_charge", "compartments.volume_in", "compartments.volume_out",
    "compartments.axial_conductance", "compartments.axial_diffusion",
    "kinds.mode", "kinds.compartment", "kinds.permeant", "kinds.permeation", "kinds.unitary", "kinds.n_states",
    "kinds.conducting", "kinds.table_row", "kinds.cleft", "kinds.agent_offset", "pumps.mode", "pumps.compartment",
    "pumps.stoichiometry", "pumps.inner_ion", "pumps.outer_ion", "pumps.max_rate", "pumps.km_na", "pumps.km_k",
)
#: Counts kept below 2^62, as during a run (`MembranePatch.MAX_STATE_COUNT`).
_LIMIT = 2**62


class CheckpointError(ValueError):
    """A saved array is not a state the model could have reached; `name` is the array's name."""

    def __init__(self, name: str, problem: str):
        self.name, self.problem = name, problem
        super().__init__(f"{name}: {problem}")


def validate(saved: dict[str, np.ndarray], model) -> None:
    """Raise CheckpointError naming the first array of `saved` that `model` could not have saved.

    `model` is built from the same config and not yet advanced.
    """
    fresh = model.state()
    for name in fresh:
        if name not in saved:
            raise CheckpointError(name, "missing")
    for name in saved:
        if name not in fresh:
            raise CheckpointError(name, "not part of this run's state")
    for name, array in fresh.items():
        value = np.asarray(saved[name])
        if value.dtype != array.dtype:
            raise CheckpointError(name, f"has dtype {value.dtype}, not {array.dtype}")
        if value.shape != array.shape:
            raise CheckpointError(name, f"has shape {value.shape}, not {array.shape}")
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise CheckpointError(name, "holds a value that is not finite")
    for name in CONSTANT_ARRAYS:
        if not np.array_equal(saved[name], fresh[name]):
            raise CheckpointError(name, "differs from what the run's stored config gives")
    _protocol(saved, model)  # first: the events applied so far fix the expected counts
    _counts(saved, model)
    _kinds(saved, model)
    _pumps(saved, model)


def _check(condition: bool, name: str, problem: str) -> None:
    if not condition:
        raise CheckpointError(name, problem)


def _in(saved: dict, name: str, low: float, high: float, closed: bool = True) -> None:
    value = saved[name]
    inside = (value >= low) & ((value <= high) if closed else (value < high))
    _check(bool(np.all(inside)), name, f"holds values outside [{low:g}, {high:g}{']' if closed else ')'}")


def _counts(saved: dict, model) -> None:
    finite_outside = saved["compartments.volume_out"] > 0
    _in(saved, "compartments.counts_in", 0, _LIMIT, closed=False)
    outside = saved["compartments.counts_out"]
    _check(bool(np.all(outside[finite_outside] >= 0)) and bool(np.all(np.abs(outside) < _LIMIT)),
           "compartments.counts_out", "holds counts out of range")
    for name in ("compartments.efflux_total", "compartments.influx_total", "pumps.cycles_total"):
        _in(saved, name, 0, _LIMIT, closed=False)
    _check(bool(np.all(np.abs(saved["compartments.electrode_total"]) < _LIMIT)), "compartments.electrode_total",
           "holds counts out of range")
    _in(saved, "compartments.bath", 0, 1e4)
    _in(saved, "compartments.electrode_carry", 0, 1, closed=False)
    _in(saved, "compartments.axial_carry", 0, 1, closed=False)
    _in(saved, "compartments.spike_armed", 0, 1)
    for name in ("previous_row.ions_inside", "previous_row.efflux", "previous_row.influx", "previous_row.pump_cycles"):
        _in(saved, name, 0, _LIMIT, closed=False)
    _in(saved, "previous_row.membrane_potential", -1, 1)
    for name in ("previous_row.spike_steps", "previous_row.spike_compartment", "previous_row.spike_count"):
        _check(not np.any(saved[name]), name, "is not zero")
    # V from the counts
    charge = saved["compartments.fixed_charge"] + saved["compartments.counts_in"] @ model.membrane.valence
    volts = charge * model.membrane.charge / saved["compartments.capacitance"]
    _check(bool(np.all(np.abs(volts) <= 1.0)), "compartments.counts_in", "give a membrane potential beyond 1 V")
    # no ion created or lost: inside + outside - electrode is what it was at t = 0 (a bath's counts
    # are what it received; set_outside steps of a finite outside bring ions from elsewhere)
    applied = model.schedule.events[: int(saved["next_event"][0])] if 0 <= saved["next_event"][0] else []
    if not finite_outside.any() or not any(e.action.action == "set_outside" for e in applied):
        fresh = model.compartments
        # summed over the compartments: a cable moves ions between them
        before = (fresh.counts_in + fresh.counts_out - fresh.electrode_total).sum(axis=0)
        now = (saved["compartments.counts_in"] + saved["compartments.counts_out"]
               - saved["compartments.electrode_total"]).sum(axis=0)
        _check(np.array_equal(before, now), "compartments.counts_in",
               "with counts_out and electrode_total, does not hold the ions the run started with")


def _counts_by_row(saved: dict, model) -> np.ndarray:
    """Return the channels of each kernel row the config and the `open`/`close` steps applied so far give."""
    counts = model.state()["kinds.count"].copy()  # a fresh model: the config's counts
    rows = {p.kind: p.index for p in model.populations}
    for event in model.schedule.events[: max(0, int(saved["next_event"][0]))]:
        if event.action.action in ("open", "close"):
            counts[rows[event.action.target]] += event.action.count * (1 if event.action.action == "open" else -1)
    return counts


def _kinds(saved: dict, model) -> None:
    counts, n_states, modes = saved["kinds.count"], saved["kinds.n_states"], saved["kinds.mode"]
    _check(bool(np.array_equal(counts, _counts_by_row(saved, model))), "kinds.count",
           "differs from what the run's stored config and its open and close steps so far give")
    absent = saved["channel_agents_absent"]
    _in(saved, "channel_agents_absent", 0, 1)
    offsets = saved["kinds.agent_offset"]
    states, blocked = saved["kinds.agent_states"], saved["kinds.agent_blocked"]
    order, position = saved["kinds.agent_order"], saved["kinds.agent_position"]
    groups = saved["kinds.agent_group_start"]
    population, population_blocked = saved["kinds.population"], saved["kinds.population_blocked"]
    occupancy, blocked_count = saved["kinds.occupancy"], saved["kinds.blocked"]
    _in(saved, "kinds.agent_blocked", 0, 1)
    _in(saved, "kinds.flux_carry", 0, 1, closed=False)
    _in(saved, "kinds.population", 0, _LIMIT, closed=False)
    _in(saved, "kinds.population_blocked", 0, _LIMIT, closed=False)
    for k in range(len(counts)):
        n, count = int(n_states[k]), int(counts[k])
        _check(0 <= blocked_count[k] <= count, "kinds.blocked", f"kind {k}: not between 0 and {count}")
        _check(0.0 <= saved["kinds.open_count"][k] <= count, "kinds.open_count", f"kind {k}: not between 0 and {count}")
        if modes[k] == AGENT:
            # an agent row has a slot for every channel it may hold; a slot without one is absent and blocked
            lo, hi = int(offsets[k]), int(offsets[k + 1])
            s, o, p, g, slots = states[lo:hi], order[lo:hi], position[lo:hi], groups[k], hi - lo
            _check(int(slots - absent[lo:hi].sum()) == count and bool(np.all(blocked[lo:hi][absent[lo:hi] == 1])),
                   "channel_agents_absent", f"kind {k}: not the slots without one of its {count} channels")
            _check(bool(np.all(s < n)), "kinds.agent_states", f"kind {k}: a state beyond its {n} states")
            _check(int(blocked[lo:hi].sum()) == blocked_count[k] + slots - count, "kinds.blocked",
                   f"kind {k}: differs from the blocked agents")
            _check(g[0] == 0 and g[n] == slots and bool(np.all(np.diff(g[: n + 1]) >= 0))
                   and not np.any(g[n + 1:]), "kinds.agent_group_start", f"kind {k}: not the bounds of its groups")
            _check(bool(np.all((o >= 0) & (o < slots))) and bool(np.all((p >= 0) & (p < slots))),
                   "kinds.agent_order", f"kind {k}: an index beyond its {slots} agent slots")
            _check(bool(np.array_equal(p[o], np.arange(slots))), "kinds.agent_position",
                   f"kind {k}: not the inverse of agent_order")
            _check(bool(np.array_equal(s[o], np.repeat(np.arange(n), np.diff(g[: n + 1])))), "kinds.agent_order",
                   f"kind {k}: agents not grouped by their states")
        elif modes[k] == POPULATION:
            _check(int(population[k].sum() + population_blocked[k].sum()) == count, "kinds.population",
                   f"kind {k}: the state counts do not add up to its {count} channels")
            _check(int(population_blocked[k].sum()) == blocked_count[k], "kinds.population_blocked",
                   f"kind {k}: differs from the blocked count")
        elif modes[k] == MEAN_FIELD:
            row = occupancy[k, :n]
            _check(bool(np.all((row >= -1e-9) & (row <= 1 + 1e-9))) and abs(row.sum() - 1.0) < 1e-6,
                   "kinds.occupancy", f"kind {k}: not a probability distribution over its states")


def _pumps(saved: dict, model) -> None:
    active = saved["pumps.active"]
    counts = np.concatenate([np.zeros(0, np.int64), *(p.row_counts for p in model.pump_populations)])  # per row
    _check(bool(np.all((active >= 0) & (active <= counts))), "pumps.active", "not between 0 and each kind's pumps")
    _in(saved, "pumps.carry", 0, 1, closed=False)
    _in(saved, "pump_agents_blocked", 0, 1)
    _in(saved, "ouabain_blocked", 0, 1)
    offset = 0
    for population in model.pump_populations:
        p = population.first_row
        if population.tracking == "agent" and len(population.row_counts) == 1:  # a cable's pumps are never blocked
            flags = saved["pump_agents_blocked"][offset:offset + population.count]
            offset += population.count
            _check(int(active[p]) == population.count - int(flags.sum()), "pumps.active",
                   f"pump kind {p}: differs from the blocked agents")


def _protocol(saved: dict, model) -> None:
    step, applied = int(saved["step_index"][0]), int(saved["next_event"][0])
    _check(0 <= step <= model.total_steps, "step_index", f"not between 0 and the run's {model.total_steps} steps")
    events = model.schedule.events
    _check(0 <= applied <= len(events), "next_event", f"not between 0 and the run's {len(events)} events")
    _check(all(e.step <= step for e in events[:applied]) and all(e.step >= step for e in events[applied:]),
           "next_event", f"does not match the protocol events due by step {step}")
