"""Impulses travelling along a cable: arrival times, conduction velocity, where propagation failed.

Each compartment of a cable has its own spike detector (an upward crossing of 0 mV), so a run
file lists every spike with its compartment (`spike_compartment`). An impulse's arrival at a
compartment is that compartment's first spike in a time window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr


def _require_cable(ds: xr.Dataset) -> None:
    if "compartment" not in ds.dims:
        raise ValueError("not a cable run: it has no compartments (use a config with shape = \"cable\")")


def arrival_times(ds: xr.Dataset, after: float = 0.0, before: float = np.inf) -> xr.DataArray:
    """First spike time (s) of every compartment within [after, before); NaN where none."""
    _require_cable(ds)
    first = np.full(ds.sizes["compartment"], np.nan)
    times, where = ds.spike_time.values, ds.spike_compartment.values
    window = (times >= after) & (times < before)
    for t, c in zip(times[window][::-1], where[window][::-1], strict=True):  # latest first, so the first wins
        first[c] = t
    return xr.DataArray(first, dims=("compartment",), coords={"position": ds.position},
                        attrs={"units": "s", "long_name": "arrival time of the impulse"})


def conduction_velocity(ds: xr.Dataset, after: float = 0.0, before: float = np.inf,
                        start: float | None = None, end: float | None = None) -> float:
    """Conduction velocity (m/s): the slope of position against arrival time, by least squares.

    Fitted over the compartments between `start` and `end` (m; default the middle half of the
    cable, away from the stimulus and the sealed far end) that the impulse reached; on a
    myelinated cable over its nodes only, where the impulse is regenerated. NaN when fewer than
    two compartments were reached.
    """
    arrival = arrival_times(ds, after, before)
    position = ds.position.values
    length = position[-1] + ds.compartment_length.values[-1] / 2
    start = 0.25 * length if start is None else start
    end = 0.75 * length if end is None else end
    used = (position >= start) & (position <= end) & np.isfinite(arrival.values)
    if (ds.node.values == 0).any():
        used &= ds.node.values == 1
    if used.sum() < 2:
        return float("nan")
    slope = np.polyfit(arrival.values[used], position[used], 1)[0]
    return float(abs(slope))


@dataclass(frozen=True)
class Propagation:
    """How far an impulse went: the last compartment it reached on each side of the electrode, and when."""

    failed: bool  # it stopped before an end of the cable
    reached_m: tuple[float, float]  # positions (m) of the farthest compartments reached, towards 0 and the far end
    time_s: tuple[float, float]  # their arrival times (s)


def propagation(ds: xr.Dataset, after: float = 0.0, before: float = np.inf) -> Propagation:
    """Follow an impulse from the electrode outwards; it fails where a compartment did not spike.

    The chain of compartments with arrival times is followed from the electrode's compartment in
    both directions; where it breaks, propagation failed (at the last compartment reached).
    """
    arrival = arrival_times(ds, after, before).values
    position = ds.position.values
    site, last = int(ds.electrode_compartment), len(arrival) - 1
    ends = []
    for step, edge in ((-1, 0), (1, last)):
        c = site
        while c != edge and np.isfinite(arrival[c + step]):
            c += step
        ends.append(c)
    reached = tuple(float(position[c]) for c in ends)
    times = tuple(float(arrival[c]) for c in ends)
    failed = not np.isfinite(arrival[site]) or ends[0] != 0 or ends[1] != last
    return Propagation(failed=failed, reached_m=reached, time_s=times)


@dataclass(frozen=True)
class Impulse:
    """One impulse: the spikes of neighbouring compartments that follow each other within a window."""

    start_s: float  # its first spike
    origin: int  # the compartment of its first spike
    first: int  # the compartments it reached, from first to last (inclusive)
    last: int

    def reached_both_ends(self, n_compartments: int) -> bool:
        """Whether it travelled the whole cable (no propagation failure)."""
        return self.first == 0 and self.last == n_compartments - 1


def impulses(ds: xr.Dataset, window: float = 1e-3) -> list[Impulse]:
    """Group a cable run's spikes into impulses, in order of their first spike.

    A spike joins the impulse of a spike in a neighbouring compartment at most `window` (s)
    earlier; spikes of neighbours that fall in the window of the same impulse are merged. An
    impulse that does not reach both ends failed to propagate (or collided with another).
    """
    _require_cable(ds)
    times, where = ds.spike_time.values, ds.spike_compartment.values
    order = np.argsort(times, kind="stable")
    parent = list(range(len(times)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    last_spike = {}  # compartment -> index of its latest spike so far
    for i in order:
        c, t = int(where[i]), times[i]
        for neighbour in (c - 1, c + 1):
            j = last_spike.get(neighbour)
            if j is not None and t - times[j] <= window:
                parent[root(j)] = root(i)
        last_spike[c] = i
    groups: dict[int, list[int]] = {}
    for i in order:
        groups.setdefault(root(i), []).append(i)
    found = [Impulse(start_s=float(times[members[0]]), origin=int(where[members[0]]),
                     first=int(where[members].min()), last=int(where[members].max())) for members in groups.values()]
    return sorted(found, key=lambda impulse: impulse.start_s)
