"""Paced action potentials from a run: each beat's rest, peak, dV/dt max and APD90, and each kind's current.

For notebooks, figures and tests of paced cells (the cardiac experiments). A beat is the stretch
from one current-clamp pulse to the next (or the end of the run).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from channelsim.analysis import (
    conducting_entries,
    current_pulses,
    pump_charge_per_cycle,
    pump_rate,
    reversal_potentials,
    run_config,
)
from channelsim.config.schema import CurrentClamp
from channelsim.constants import VALENCE
from channelsim.physics import ghk_current

#: Repolarisation level of the action potential duration: 90 % (APD90).
REPOLARISATION = 0.9


def beat_measures(t: np.ndarray, v: np.ndarray) -> dict[str, float]:
    """Measure one beat from its times (s) and potentials (V), the first sample just before the stimulus.

    rest (V, the first sample), peak (V), dvdt_max (V/s, between samples) and apd90 (s): from the
    time of dV/dt max to the first sample after the peak below the level 90 % of the way from the
    peak back to the beat's minimum (NaN if it does not come back).
    """
    slope = np.diff(v) / np.diff(t)
    upstroke = t[int(np.argmax(slope))]
    peak = int(np.argmax(v))
    level = v.max() - REPOLARISATION * (v.max() - v.min())
    back = np.flatnonzero((t > t[peak]) & (v < level))
    apd = float(t[back[0]] - upstroke) if len(back) else float("nan")
    return {"rest": float(v[0]), "peak": float(v[peak]), "dvdt_max": float(slope.max()), "apd90": apd}


def beats(ds: xr.Dataset) -> list[dict[str, float]]:
    """Measure every paced beat of a run: `beat_measures` plus its start (s) and free [Ca]i peak (mol/m^3).

    Each beat runs from the sample before its stimulus to the sample before the next one.
    """
    t, v = ds.time.values, ds.membrane_potential.values
    calcium = ds.concentration_inside.sel(ion="Ca").values
    starts = sorted({pulse[0] for pulse in current_pulses(ds)})
    out = []
    for start, stop in zip(starts, starts[1:] + [np.inf], strict=True):
        first = max(int(np.searchsorted(t, start)) - 1, 0)
        last = int(np.searchsorted(t, stop)) - 1 if np.isfinite(stop) else len(t)
        if last - first < 3:
            continue
        measures = beat_measures(t[first:last], v[first:last])
        out.append({"start": float(start), **measures, "calcium_peak": float(calcium[first:last].max())})
    return out


def beat_statistics(measured: list[dict[str, float]], skip: int = 1) -> dict[str, tuple[float, float]]:
    """Return the mean and standard error over beats of every measure, leaving out the first `skip` beats.

    The first beat starts from the initial state rather than from the paced cycle.
    """
    kept = measured[skip:]
    out = {}
    for name in ("rest", "peak", "dvdt_max", "apd90", "calcium_peak"):
        values = np.array([b[name] for b in kept])
        error = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
        out[name] = (float(values.mean()), float(error))
    return out


def kind_currents(ds: xr.Dataset) -> xr.DataArray:
    """Compute each channel and pump kind's outward current density (A/m^2) at every recorded time.

    Channels: open count times the single-channel current of every ion the kind passes (ohmic in
    the ion's Nernst potential of the recorded concentrations, or GHK), over the membrane area.
    Pumps: the mean net cycle rate over each recording interval times the charge a cycle moves out.
    """
    config = run_config(ds)
    area = float(ds.membrane_area)
    v = ds.membrane_potential.values
    reversal = reversal_potentials(ds)
    inside, outside = ds.concentration_inside, ds.concentration_outside
    temperature = float(ds.temperature)
    columns, names = [], []
    for label, kind, entry in conducting_entries(config):
        factor = kind.unitary_factor(config)
        single = np.zeros_like(v)
        for ion, share in kind.permeant_ions.items():
            if entry.permeation == "ghk":
                single += np.array([ghk_current(share * entry.permeability * factor, VALENCE[ion], ci, co, vi,
                                                temperature)
                                    for ci, co, vi in zip(inside.sel(ion=ion).values, outside.sel(ion=ion).values,
                                                          v, strict=True)])
            else:
                single += share * entry.conductance * factor * (v - reversal.sel(ion=ion).values)
        columns.append(ds.open_channels.sel(kind=label).values * single / area)
        names.append(label)
    rates = pump_rate(ds)
    for entry in config.pumps:
        columns.append(rates.sel(kind=entry.kind).values * -pump_charge_per_cycle(entry.kind) / area)
        names.append(entry.kind)
    data = np.stack(columns, axis=1) if columns else np.zeros((ds.sizes["time"], 0))
    return xr.DataArray(data, coords={"time": ds.time, "kind": names}, dims=("time", "kind"),
                        attrs={"units": "A/m^2", "long_name": "outward current density of each kind"})


def is_paced_myocyte(ds: xr.Dataset) -> bool:
    """Whether the run is a cell with LR1's fast Na+ channels paced by a train of pulses (the cardiac figure)."""
    config = run_config(ds)
    trains = [step for step in config.protocol if isinstance(step, CurrentClamp) and step.count > 1]
    return any(entry.kind == "lr_na" for entry in config.channels) and bool(trains)


def has_sodium_pump(ds: xr.Dataset) -> bool:
    """Whether the run has a Na+/K+-ATPase entry (a paced one gets the pump figure)."""
    return any(entry.kind == "na_k_atpase" for entry in run_config(ds).pumps)


def is_probed_myocyte(ds: xr.Dataset) -> bool:
    """Whether the run is a cell with LR1's fast Na+ channels probed by single pulses (the threshold figure)."""
    config = run_config(ds)
    clamps = [step for step in config.protocol if isinstance(step, CurrentClamp)]
    return (any(entry.kind == "lr_na" for entry in config.channels) and len(clamps) > 1
            and all(step.count == 1 for step in clamps))


def excitability(ds: xr.Dataset) -> dict[str, float]:
    """Find the weakest pulse that fired, of a run probing a cell with pulses of rising amplitude.

    threshold: the amplitude (as configured: A or A/m^2) of the first pulse followed by a spike
    before the next pulse (NaN if none fired); rest: V just before the first pulse (V); dvdt_max
    (V/s) and peak (V) of that action potential, from its pulse to the next (at most 50 ms).
    """
    pulses = current_pulses(ds)
    t, v = ds.time.values, ds.membrane_potential.values
    spikes = ds.spike_time.values
    rest = float(v[max(int(np.searchsorted(t, pulses[0][0])) - 1, 0)])
    ends = [p[0] for p in pulses[1:]] + [np.inf]
    for (start, _, amplitude, _), end in zip(pulses, ends, strict=True):
        if np.any((spikes >= start) & (spikes < end)):
            window = (t >= start) & (t < min(end, start + 0.05))
            slope = np.diff(v[window]) / np.diff(t[window])
            return {"threshold": amplitude, "rest": rest, "dvdt_max": float(slope.max()),
                    "peak": float(v[window].max())}
    return {"threshold": float("nan"), "rest": rest, "dvdt_max": float("nan"), "peak": float("nan")}

