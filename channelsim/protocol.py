"""Timed protocol actions as data, independent of dt.

Current clamp: the cumulative injected charge Q(t) is piecewise linear; each step receives
Q(t + dt) - Q(t), so the total charge of a pulse is exact whatever dt is. Voltage clamp: a
step is clamped when its midpoint lies in a clamp interval. Block, unblock, ouabain,
set_outside, open and close are events applied at the first step boundary at or after their time.

Synaptic release: every presynaptic spike of a `presynaptic_spikes` step reaches each synapse it
targets (the first `synapses` of the entry, or all), and releases a vesicle there with the
entry's release probability. Spike times (regular, or Poisson with `rate`) and the Bernoulli
draws of each step come from a generator seeded by (seed, 3, step index), so they are fixed by
the run's seed and independent of the simulation. A release at time t acts from the first step
boundary at or after t: the synapse's cleft holds transmitter for the next
max(1, round(transmitter_duration / dt)) steps (`transmitter`, a drive array per step and
synapse), and releases at one synapse within a pulse extend it. Synapses are numbered over the
entries in the order of their names, each entry's synapses in turn.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from channelsim.config.schema import (
    Block,
    Config,
    CurrentClamp,
    OpenClose,
    Ouabain,
    PresynapticSpikes,
    SetOutside,
    SynapseEntry,
    VoltageClamp,
)
from channelsim.errors import ConfigError


@dataclass(frozen=True)
class Event:
    """A protocol action applied at a step boundary.

    `step` is the first step boundary at or after the action's time; `index` orders the actions of one
    step as the config lists them.
    """

    step: int
    index: int  # position in config.protocol
    action: Block | Ouabain | SetOutside | OpenClose


def _release_times(step: PresynapticSpikes, entry: SynapseEntry, synapses: int, seed: int, index: int,
                   end: float) -> list[np.ndarray]:
    """Draw the times (s) of the releases at each of the first `synapses` synapses of `entry` due to `step`."""
    rng = np.random.default_rng([seed, 3, index])
    released = []
    for _ in range(synapses):
        if step.rate is not None:
            stop = end if step.duration is None else min(end, step.at + step.duration)
            span = max(0.0, stop - step.at)
            spikes = step.at + np.sort(rng.uniform(0.0, span, rng.poisson(step.rate * span)))
        else:
            spikes = step.at + (step.period or 0.0) * np.arange(step.spikes)
        released.append(spikes[rng.random(len(spikes)) < entry.release_probability])
    return released


class Schedule:
    """The protocol of a run, evaluated per step."""

    def __init__(self, config: Config):
        area, _ = config.electrode_membrane()  # a current density applies to the electrode's membrane
        slope_changes: dict[float, float] = {}
        self.clamps: list[tuple[float, float, float]] = []
        self.events: list[Event] = []
        dt = config.run.dt
        total_steps = config.run.n_records * config.run.steps_per_record
        entries = {entry.name: entry for entry in config.synapses}
        counts = [entry.count for entry in config.synapses]
        #: the first synapse (cleft) of each [[synapses]] entry, and the number of synapses
        self.first_synapse = dict(zip(entries, np.cumsum([0, *counts]).tolist()[:-1], strict=True))
        self.synapse_count = int(sum(counts))
        #: synapses of each [[synapses]] entry, in the entries' (name) order
        self.synapse_counts = dict(zip(entries, counts, strict=True))
        #: steps a release keeps each synapse's cleft full of transmitter
        self.pulse_steps = np.repeat([max(1, round(entry.transmitter_duration / dt)) for entry in config.synapses],
                                     counts).astype(np.int64)
        release_steps, release_synapses = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
        for index, step in enumerate(config.protocol):
            if isinstance(step, CurrentClamp):
                current = step.current_A(area)
                for pulse in range(step.count):
                    start = step.at + pulse * (step.period or 0.0)
                    slope_changes[start] = slope_changes.get(start, 0.0) + current
                    end = start + step.duration
                    slope_changes[end] = slope_changes.get(end, 0.0) - current
            elif isinstance(step, VoltageClamp):
                end = math.inf if step.duration is None else step.at + step.duration
                self.clamps.append((step.at, end, step.potential))
            elif isinstance(step, PresynapticSpikes):
                entry = entries[step.target]
                synapses = step.synapses or entry.count
                first = self.first_synapse[step.target]
                for offset, times in enumerate(_release_times(step, entry, synapses, config.run.seed, index,
                                                              config.run.duration)):
                    steps = np.ceil(times / dt - 1e-9).astype(np.int64)
                    steps = steps[steps < total_steps]
                    release_steps.append(steps)
                    release_synapses.append(np.full(len(steps), first + offset, dtype=np.int64))
            else:
                self.events.append(Event(math.ceil(step.at / dt - 1e-9), index, step))
        self.clamps.sort()
        for (_, end, _), (start, _, _) in pairwise(self.clamps):
            if start < end - 1e-12:  # s; contiguous clamps may differ by round-off
                raise ConfigError("protocol", f"voltage clamps overlap at t = {start:g} s",
                                  "give each voltage_clamp a duration that ends before the next starts")
        self.events.sort(key=lambda e: (e.step, e.index))
        self._event_steps = [e.step for e in self.events]  # sorted: the next event by bisection
        steps, synapses = np.concatenate(release_steps), np.concatenate(release_synapses)
        order = np.lexsort((synapses, steps))
        #: every release of the run: its step (sorted) and its synapse
        self.release_step, self.release_synapse = steps[order], synapses[order]
        self._longest_pulse = int(self.pulse_steps.max()) if self.synapse_count else 0
        times = np.array(sorted(slope_changes))
        slopes = np.cumsum([slope_changes[t] for t in times])
        self._charge_times = times
        self._charge = np.concatenate([[0.0], np.cumsum(slopes[:-1] * np.diff(times))]) if len(times) else times

    def charge_until(self, t: np.ndarray) -> np.ndarray:
        """Cumulative injected charge Q(t) in C."""
        if len(self._charge_times) == 0:
            return np.zeros_like(t)
        return np.interp(t, self._charge_times, self._charge, left=0.0)

    def injected_charge(self, first_step: int, n_steps: int, dt: float) -> np.ndarray:
        """Return the charge (C) injected during each of `n_steps` steps of `dt` (s) from `first_step`.

        Differences of Q(t) at the step edges, so each pulse delivers its exact charge whatever dt is.
        """
        edges = dt * np.arange(first_step, first_step + n_steps + 1)
        return np.diff(self.charge_until(edges))

    def command_at(self, t: np.ndarray) -> np.ndarray:
        """Voltage clamp command (V) at times t; NaN where the membrane is free."""
        command = np.full(len(t), np.nan)
        for start, end, potential in self.clamps:
            command[(t >= start) & (t < end)] = potential
        return command

    def clamp_voltage(self, first_step: int, n_steps: int, dt: float) -> np.ndarray:
        """Command of each step, taken at the step's midpoint."""
        return self.command_at(dt * (np.arange(first_step, first_step + n_steps) + 0.5))

    def transmitter(self, first_step: int, n_steps: int) -> np.ndarray:
        """Return 1 where a synapse's cleft holds transmitter during a step, shape (n_steps, synapses), uint8."""
        present = np.zeros((n_steps, self.synapse_count), dtype=np.uint8)
        if not len(self.release_step) or not n_steps:
            return present
        low = np.searchsorted(self.release_step, first_step - self._longest_pulse, side="right")
        high = np.searchsorted(self.release_step, first_step + n_steps, side="left")
        start, synapse = self.release_step[low:high], self.release_synapse[low:high]
        end = start + self.pulse_steps[synapse]
        edges = np.zeros((n_steps + 1, self.synapse_count), dtype=np.int64)
        np.add.at(edges, (np.clip(start - first_step, 0, n_steps), synapse), 1)
        np.add.at(edges, (np.clip(end - first_step, 0, n_steps), synapse), -1)
        present[:] = np.cumsum(edges[:-1], axis=0) > 0
        return present

    def releases_before(self, steps: np.ndarray) -> np.ndarray:
        """Count each [[synapses]] entry's releases at steps before each of `steps`: shape (steps, entries).

        A release at step s counts from the row of step s + 1 on: the first step its transmitter acts on.
        """
        columns = []
        for name, count in self.synapse_counts.items():
            first = self.first_synapse[name]
            mine = self.release_step[(self.release_synapse >= first) & (self.release_synapse < first + count)]
            columns.append(np.searchsorted(mine, steps, side="left"))
        return np.array(columns, dtype=np.int64).T.reshape(len(steps), len(self.synapse_counts))

    def events_at(self, step: int) -> list[Event]:
        """Return the events that fall due at step boundary `step`, in config order."""
        return [e for e in self.events if e.step == step]

    def next_event_step(self, after: int) -> int | None:
        """Return the step of the first event after step `after`, or None when no event is left."""
        i = bisect.bisect_right(self._event_steps, after)
        return self._event_steps[i] if i < len(self._event_steps) else None
