"""Timed protocol actions as data, independent of dt.

Current clamp: the cumulative injected charge Q(t) is piecewise linear; each step receives
Q(t + dt) - Q(t), so the total charge of a pulse is exact whatever dt is. Voltage clamp: a
step is clamped when its midpoint lies in a clamp interval. Block, unblock, ouabain and
set_outside are events applied at the first step boundary at or after their time.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from channelsim.config.schema import Block, Config, CurrentClamp, Ouabain, SetOutside, VoltageClamp
from channelsim.errors import ConfigError


@dataclass(frozen=True)
class Event:
    """A protocol action applied at a step boundary.

    `step` is the first step boundary at or after the action's time; `index` orders the actions of one
    step as the config lists them.
    """

    step: int
    index: int  # position in config.protocol
    action: Block | Ouabain | SetOutside


class Schedule:
    """The protocol of a run, evaluated per step."""

    def __init__(self, config: Config):
        area, _ = config.electrode_membrane()  # a current density applies to the electrode's membrane
        slope_changes: dict[float, float] = {}
        self.clamps: list[tuple[float, float, float]] = []
        self.events: list[Event] = []
        dt = config.run.dt
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
            else:
                self.events.append(Event(math.ceil(step.at / dt - 1e-9), index, step))
        self.clamps.sort()
        for (_, end, _), (start, _, _) in pairwise(self.clamps):
            if start < end - 1e-12:  # s; contiguous clamps may differ by round-off
                raise ConfigError("protocol", f"voltage clamps overlap at t = {start:g} s",
                                  "give each voltage_clamp a duration that ends before the next starts")
        self.events.sort(key=lambda e: (e.step, e.index))
        self._event_steps = [e.step for e in self.events]  # sorted: the next event by bisection
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

    def events_at(self, step: int) -> list[Event]:
        """Return the events that fall due at step boundary `step`, in config order."""
        return [e for e in self.events if e.step == step]

    def next_event_step(self, after: int) -> int | None:
        """Return the step of the first event after step `after`, or None when no event is left."""
        i = bisect.bisect_right(self._event_steps, after)
        return self._event_steps[i] if i < len(self._event_steps) else None
