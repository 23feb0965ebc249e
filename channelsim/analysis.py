"""Quantities derived from a run (an `xarray.Dataset` from `open_run`), for notebooks and plots.

Every closed-form reference (Nernst, GHK, chord conductance, the pump-leak balance, Donnan) is
evaluated from the concentrations recorded at each time, so it follows `set_outside` steps and
the run-down of a cell whose pumps are blocked: a reference line is right at every time, not
only at the end of the run.
"""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path

import numpy as np
import xarray as xr
from scipy.optimize import brentq

from channelsim.channels import KINDS
from channelsim.channels.pump import PUMP_KINDS
from channelsim.config import parse_config
from channelsim.config.schema import Block, Config, CurrentClamp, OpenClose, Ouabain, PresynapticSpikes, SetOutside
from channelsim.constants import AVOGADRO, ELEMENTARY_CHARGE, VALENCE
from channelsim.physics import (
    chord_conductance_potential,
    donnan_equilibrium,
    ghk_current,
    ghk_potential,
    ghk_zero_current_potential,
    pump_cycle_rate,
    thermal_voltage,
)

#: Bracket (V) searched for the potential where channel and pump currents cancel; every
#: current is monotonic in V, so the root is unique.
_ZERO_CURRENT_BRACKET_V = (-0.5, 0.5)


def conducting_entries(config: Config) -> list[tuple[str, object, object]]:
    """Return (label in the `kind` dimension, kind defaults, resolved entry) of everything that conducts.

    The `[[channels]]` entries (labelled by kind) and the `[[synapses]]` entries (labelled by name;
    their receptors' open counts are summed over the synapses). Each entry has `permeation`,
    `permeability` and `conductance`.
    """
    return ([(entry.kind, KINDS[entry.kind], entry) for entry in config.channels]
            + [(entry.name, KINDS[entry.receptor], entry) for entry in config.synapses])


def run_config(ds: xr.Dataset) -> Config:
    """Return the resolved config stored in the run file."""
    return parse_config(tomllib.loads(ds.attrs["config"]))


def reversal_potentials(ds: xr.Dataset) -> xr.DataArray:
    """Compute the Nernst potential of each ion (V) at every recorded time.

    From the recorded inside and outside concentrations (which follow `set_outside` steps and the
    cell's own run-down).

    E = (RT / zF) ln(c_out / c_in); an ion absent on one side has an infinite E (or NaN when
    absent on both).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log(ds.concentration_outside / ds.concentration_inside)
    e = (thermal_voltage(float(ds.temperature)) / ds.valence * ratio).transpose(*ratio.dims)
    return e.assign_attrs(units="V", long_name="Nernst potential")


def electrode_potential(ds: xr.Dataset) -> xr.DataArray:
    """Membrane potential (V) where the electrode is: a cable's electrode compartment, else the cell's."""
    if "compartment" in ds.membrane_potential.dims:
        return ds.membrane_potential.isel(compartment=int(ds.electrode_compartment))
    return ds.membrane_potential


def charge_moved(ds: xr.Dataset) -> xr.DataArray:
    """Net charge that entered the cell since t = 0 (C): e * sum_i z_i * ions_moved_i."""
    return (ELEMENTARY_CHARGE * (ds.ions_moved * ds.valence).sum("ion")).assign_attrs(units="C")


def overrides(ds: xr.Dataset) -> list[str]:
    """Return the `--set KEY=VALUE` overrides of the command that made the run."""
    words = shlex.split(str(ds.attrs.get("command", "")))
    found = [words[i + 1] for i, word in enumerate(words[:-1]) if word == "--set"]
    return found + [word.removeprefix("--set=") for word in words if word.startswith("--set=")]


def summary(path: str | Path) -> str:
    """Describe a run file in short text: what ran, how, and where it ended.

    Only the first and last rows are read, so files of any size are summarised at once.
    """
    from channelsim.recording.reader import read_ends

    ds, rows, spikes = read_ends(path)
    config = run_config(ds)
    v = electrode_potential(ds)
    last = ds.isel(time=-1)
    moved = last.ions_moved
    tracking = {entry.kind: entry.tracking for entry in [*config.channels, *config.pumps]}
    tracking |= {entry.name: entry.tracking for entry in config.synapses}
    duration = float(ds.time[-1] - ds.time[0])
    rate = spikes / duration if duration > 0 else 0.0
    reversal = reversal_potentials(last)
    lines = [
        f"{path}: experiment {ds.attrs['experiment']!r}, status {ds.attrs['status']}, seed {ds.attrs['seed']}",
        f"  channelsim {ds.attrs['channelsim_version']}, created {ds.attrs['created']}",
        f"  overrides: {' '.join(f'--set {shlex.quote(item)}' for item in overrides(ds)) or 'none'}",
        f"  recorded {rows} row{'s' if rows != 1 else ''} to t = {float(ds.time[-1]):.6g} s",
        f"  membrane: C = {float(ds.membrane_capacitance) * 1e12:.4g} pF, "
        f"area = {float(ds.membrane_area) * 1e12:.4g} um^2, volume = {float(ds.volume_inside) * 1e15:.4g} pL",
        f"  V: {float(v[0]) * 1e3:.3f} mV -> {float(v[-1]) * 1e3:.3f} mV; "
        f"{spikes} spike{'s' if spikes != 1 else ''} ({rate:.3g} /s)",
        "  channels, synapses and pumps: " + ", ".join(f"{k} x {int(n)} ({tracking.get(str(k), '?')})"
                                             for k, n in zip(ds.kind.values, ds.agent_count.values, strict=True)),
        *([("  vesicles released: " + ", ".join(
            f"{name} {int(n):,d}" for name, n in zip(ds.synapse.values, last.releases.values, strict=True)))]
          if ds.sizes["synapse"] else []),
        "  net ions entered: " + ", ".join(f"{ion} {int(n):+d}"
                                           for ion, n in zip(ds.ion.values, moved.values, strict=True)),
        "  final concentrations (mM, in/out): " + ", ".join(
            f"{ion} {float(c_in):.4g}/{float(c_out):.4g}" for ion, c_in, c_out in
            zip(ds.ion.values, last.concentration_inside.values, last.concentration_outside.values, strict=True)),
        "  final reversal potentials (mV): " + ", ".join(
            f"E_{ion} {float(e) * 1e3:.2f}" for ion, e in zip(ds.ion.values, reversal.values, strict=True)
            if np.isfinite(e)),
    ]
    return "\n".join(lines)


def _uses_ghk(config: Config) -> bool:
    """Tell whether the closed form for the channels alone is the GHK voltage equation.

    That is the case when every channel is GHK-permeant, to monovalent ions; otherwise it is the
    chord-conductance formula.
    """
    return all(entry.permeation == "ghk" and all(abs(VALENCE[ion]) == 1 for ion in kind.permeant_ions)
               for _, kind, entry in conducting_entries(config))


def _all_ghk(config: Config) -> bool:
    """Tell whether every channel and receptor uses GHK permeation (of ions of any valence)."""
    return all(entry.permeation == "ghk" for _, _, entry in conducting_entries(config))


def voltage_gated(config: Config, temperature_K: float) -> bool:
    """Tell whether any channel kind's gating rates depend on the membrane potential.

    A kind is voltage-gated when its rate matrix differs between -100 and 0 mV. The channels'
    steady potential then moves with V itself (during a spike it is the potential V is chasing),
    so it predicts no resting level.
    """
    for _, kind, entry in conducting_entries(config):
        q = kind.scheme(entry).rate_matrix(np.array([-0.1, 0.0]), temperature_K, 1.0)
        if not np.allclose(q[0], q[1]):
            return True
    return False


def _row_dicts(ds: xr.Dataset, name: str) -> list[dict[str, float]]:
    """One {ion or kind: value} dict per recorded time of a (time, ion) or (time, kind) variable."""
    labels = ds[name].dims[1]
    keys = list(ds[labels].values)
    return [dict(zip(keys, row, strict=True)) for row in ds[name].values.tolist()]


def predicted_potential(ds: xr.Dataset) -> tuple[xr.DataArray, str]:
    """Steady potential of the open channels alone (V) at every recorded time, and its law.

    The GHK voltage equation when every channel (and receptor) is GHK-permeant to monovalent ions
    (weights: open channels x single-channel permeability x each ion's permeability ratio); the
    zero of the summed GHK currents when they are GHK-permeant but some ion is divalent (Ca2+);
    otherwise the chord-conductance formula (open channels x unitary conductance, with the
    Nernst potentials of that time). Pump currents are left out: `pump_leak_potential` includes
    them. NaN where no channel is open.
    """
    config = run_config(ds)
    ghk, general = _uses_ghk(config), _all_ghk(config)
    temperature = float(ds.temperature)
    unitary = {label: (kind, entry.permeability if general else entry.conductance)
               for label, kind, entry in conducting_entries(config)}
    inside, outside = _row_dicts(ds, "concentration_inside"), _row_dicts(ds, "concentration_outside")
    reversal = _row_dicts(ds.assign(reversal=reversal_potentials(ds)), "reversal")
    v = np.full(ds.sizes["time"], np.nan)
    for i, open_count in enumerate(_row_dicts(ds, "open_channels")):
        weights: dict[str, float] = {}
        for label, (kind, value) in unitary.items():
            for ion, share in kind.permeant_ions.items():
                weights[ion] = weights.get(ion, 0.0) + open_count[label] * share * value
        weights = {ion: w for ion, w in weights.items() if w > 0}
        if weights:
            if ghk:
                v[i] = ghk_potential(weights, inside[i], outside[i], temperature)
            elif general:
                v[i] = ghk_zero_current_potential(weights, inside[i], outside[i], temperature)
            else:
                v[i] = chord_conductance_potential(weights, reversal[i])
    law = "GHK" if general else "chord conductance"
    return xr.DataArray(v, coords={"time": ds.time}, dims="time", attrs={"units": "V", "long_name": law}), law


def pump_charge_per_cycle(kind: str) -> float:
    """Compute the net charge (C) one cycle of pump `kind` carries into the cell.

    e sum_i z_i n_i over its stoichiometry (-e for the Na+/K+-ATPase: 3 Na+ out, 2 K+ in).
    """
    return ELEMENTARY_CHARGE * sum(VALENCE[ion] * n for ion, n in PUMP_KINDS[kind].stoichiometry.items())


def pump_leak_potential(ds: xr.Dataset) -> xr.DataArray:
    """Find the potential (V) at which the open channels' and the unblocked pumps' currents cancel.

    At every recorded time: the steady state of a pump-leak cell.

    Channel currents are GHK (or ohmic, g (V - E)) single-channel currents times the open
    count; the pump current is the Luo-Rudy cycle rate (`physics.pump_cycle_rate`) times the
    unblocked pumps times its `pump_charge_per_cycle` (Na+/K+-ATPases only: exchangers and Ca2+
    pumps are left out). With every pump blocked this is the channels' own steady potential
    (`predicted_potential`). NaN where no channel is open.
    """
    config = run_config(ds)
    temperature = float(ds.temperature)
    channels = [(label, ion, share, entry) for label, kind, entry in conducting_entries(config)
                for ion, share in kind.permeant_ions.items()]
    pumps = [(entry.kind, pump_charge_per_cycle(entry.kind), entry) for entry in config.pumps
             if PUMP_KINDS[entry.kind].law == "na_k"]
    count = dict(zip(ds.kind.values, ds.agent_count.values.tolist(), strict=True))
    inside, outside = _row_dicts(ds, "concentration_inside"), _row_dicts(ds, "concentration_outside")
    reversal = _row_dicts(ds.assign(reversal=reversal_potentials(ds)), "reversal")
    blocked = _row_dicts(ds, "blocked_fraction")
    v = np.full(ds.sizes["time"], np.nan)
    for i, open_count in enumerate(_row_dicts(ds, "open_channels")):
        ci, co = inside[i], outside[i]
        active = {kind: count[kind] * (1.0 - blocked[i][kind]) for kind, _, _ in pumps}

        # this row's values are bound as defaults: the closure must not see a later iteration's
        def outward_current(v_try: float, ci=ci, co=co, reversal_row=reversal[i], open_count=open_count,
                            active=active) -> float:
            total = 0.0
            for kind, ion, share, entry in channels:
                if entry.permeation == "ghk":
                    single = ghk_current(share * entry.permeability, VALENCE[ion], ci[ion], co[ion], v_try,
                                         temperature)
                else:
                    single = share * entry.conductance * (v_try - reversal_row[ion])
                total += open_count[kind] * single
            for kind, charge_in, entry in pumps:
                rate = pump_cycle_rate(entry.max_turnover, entry.half_saturation_na, entry.half_saturation_k,
                                       ci["Na"], co["Na"], co["K"], v_try, temperature)
                total -= charge_in * active[kind] * rate
            return total

        low, high = _ZERO_CURRENT_BRACKET_V
        if outward_current(low) < 0.0 < outward_current(high):
            v[i] = brentq(outward_current, low, high, xtol=1e-12)
    return xr.DataArray(v, coords={"time": ds.time}, dims="time",
                        attrs={"units": "V", "long_name": "zero net current, channels and pumps"})


def ionic_currents(ds: xr.Dataset) -> xr.DataArray:
    """Compute the membrane current carried by each ion through channels and pumps (A, outward positive).

    Mean over each recording interval: -z e (change of the net ions entered) / interval.
    The first row is 0.
    """
    entered = ds.ions_moved.astype(float)
    change = entered.diff("time", label="upper") / ds.time.diff("time", label="upper")
    current = (-ELEMENTARY_CHARGE * ds.valence * change).reindex(time=ds.time, fill_value=0.0)
    return current.assign_attrs(units="A")


def pump_rate(ds: xr.Dataset) -> xr.DataArray:
    """Compute the completed pump cycles per second of each pump kind.

    Mean over each recording interval (the first row is 0).
    """
    rate = ds.pump_cycles.astype(float).diff("time", label="upper") / ds.time.diff("time", label="upper")
    return rate.reindex(time=ds.time, fill_value=0.0).assign_attrs(units="1/s")


def donnan_prediction(ds: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray]:
    """Predict the Gibbs-Donnan equilibrium the cell tends to once its pumps are stopped.

    At every recorded time: the ions with channels equilibrate with the outside concentrations of
    that time, the other ions and the impermeant anions keep their inside amounts.

    Returns V (V, over time) and the inside concentrations of the permeant ions (mM, over time
    and those ions).
    """
    config = run_config(ds)
    count = dict(zip(ds.kind.values, ds.agent_count.values.tolist(), strict=True))
    permeant = [ion for ion in ds.ion.values
                if any(ion in kind.permeant_ions and count[label] > 0 for label, kind, _ in conducting_entries(config))]
    impermeant_mM = float(ds.impermeant_valence * ds.impermeant_anions) / (AVOGADRO * float(ds.volume_inside))
    outside = ds.concentration_outside.sel(ion=permeant).values
    fixed = ds.concentration_inside.drop_sel(ion=permeant)
    inputs = np.hstack([outside, fixed.values])
    unique, which = np.unique(inputs, axis=0, return_inverse=True)  # the bath is mostly constant
    solutions = [donnan_equilibrium(dict(zip(permeant, row[: len(permeant)], strict=True)),
                                    dict(zip(fixed.ion.values, row[len(permeant):], strict=True)),
                                    impermeant_mM, float(ds.temperature)) for row in unique]
    which = np.ravel(which)
    v = xr.DataArray(np.array([s[0] for s in solutions])[which], coords={"time": ds.time}, dims="time",
                     attrs={"units": "V", "long_name": "Donnan equilibrium potential"})
    inside = xr.DataArray(np.array([[s[1][ion] for ion in permeant] for s in solutions])[which],
                          coords={"time": ds.time, "ion": permeant}, dims=("time", "ion"),
                          attrs={"units": "mol/m^3", "long_name": "Donnan inside concentration"})
    return v, inside


def spike_rate(ds: xr.Dataset) -> tuple[int, float]:
    """Count the recorded spikes and their mean rate over the run (1/s)."""
    count = ds.sizes["spike"]
    return count, count / float(ds.time[-1] - ds.time[0])


def current_pulses(ds: xr.Dataset) -> list[tuple[float, float, float, str]]:
    """List every current-clamp pulse of the protocol: (start s, end s, amplitude in SI, dimension).

    The dimension is "current" (A) or "current_density" (A/m^2), as the config gave it.
    """
    pulses = []
    for step in run_config(ds).protocol:
        if isinstance(step, CurrentClamp):
            dimension, amplitude = step.amplitude
            for n in range(step.count):
                start = step.at + n * (step.period or 0.0)
                pulses.append((start, start + step.duration, amplitude, dimension))
    return sorted(pulses)


def threshold_bracket(ds: xr.Dataset) -> tuple[float, float] | None:
    """Bracket the firing threshold (V) from brief current pulses.

    V at the end of each pulse, for the pulses followed by a spike before the next pulse and for
    those that were not. The threshold lies between the highest V a failed pulse reached and the
    lowest V a successful one reached (the bounds may cross when channel noise decides). None
    unless some pulses fired and some did not.
    """
    pulses = current_pulses(ds)
    if not pulses:
        return None
    spikes = ds.spike_time.values
    starts = [start for start, *_ in pulses[1:]] + [np.inf]
    reached = {True: [], False: []}
    for (start, end, *_), next_start in zip(pulses, starts, strict=True):
        fired = bool(np.any((spikes >= start) & (spikes < next_start)))
        reached[fired].append(float(ds.membrane_potential.sel(time=end, method="nearest")))
    if not reached[True] or not reached[False]:
        return None
    return max(reached[False]), min(reached[True])


def pump_block_time(ds: xr.Dataset) -> float | None:
    """Find the time (s) of the first protocol step that blocks pumps, or None.

    Such a step is a `block` of a pump kind, or `ouabain`.
    """
    config = run_config(ds)
    pump_kinds = {entry.kind for entry in config.pumps}
    times = [step.at for step in config.protocol
             if isinstance(step, Ouabain) or (isinstance(step, Block) and step.action == "block"
                                              and step.target in pump_kinds)]
    return min(times) if times else None


def electrogenic_shift(ds: xr.Dataset, at: float) -> float:
    """Compute the pump's own share of the resting potential just before time `at` (V), in closed form.

    The channels' steady potential without the pump current minus the pump-leak steady
    potential, both at the concentrations and open channels of the last row before `at`.
    Blocking every pump then depolarises by this much, long before any concentration moves.
    """
    before = ds.sel(time=slice(None, at)).isel(time=[-1])
    channels_alone, _ = predicted_potential(before)
    return float(channels_alone[0] - pump_leak_potential(before)[0])


#: Spike threshold criterion: V where dV/dt first exceeds this (V/s, i.e. 10 mV/ms) on the way up
#: to a spike (Sekerli et al. 2004, IEEE Trans Biomed Eng 51:1665, compare such criteria).
THRESHOLD_SLOPE_V_PER_S = 10.0
#: A regular presynaptic train of at least this many spikes is read as repeated trials.
MIN_TRIALS = 20


def protocol_marks(ds: xr.Dataset) -> list[tuple[float, str]]:
    """List the `open`, `close` and `presynaptic_spikes` steps as (time s, label), steps at one time joined.

    Labels read like "open 5,000 k_leak" and "4 synapses, 3 spikes 5 ms apart" (a Poisson train:
    "4 synapses, 20 Hz"); with several synapse entries, "7 excitatory + 10 inhibitory". When
    there are such steps, `set_outside` steps are listed too ("[Cl]o 367 mM").
    """
    config = run_config(ds)
    counts = {entry.name: entry.count for entry in config.synapses}
    marks: dict[float, list[str]] = {}
    outside: dict[float, list[str]] = {}
    for step in config.protocol:
        if isinstance(step, OpenClose):
            label = f"{step.action} {step.count:,d} {step.target}"
        elif isinstance(step, PresynapticSpikes):
            synapses = step.synapses or counts[step.target]
            if len(counts) > 1:
                label = f"{synapses} {step.target}"
            else:
                label = f"{synapses} synapse{'s' if synapses != 1 else ''}"
            if step.rate is not None:
                label += f", {step.rate:g} Hz"
            elif step.spikes > 1:
                label += f",\n{step.spikes} spikes {step.period * 1e3:g} ms apart"
        elif isinstance(step, SetOutside):
            outside.setdefault(step.at, []).append(f"[{step.ion}]o {step.concentration:g} mM")
            continue
        else:
            continue
        marks.setdefault(step.at, []).append(label)
    if marks:
        for at, labels in outside.items():
            marks.setdefault(at, []).extend(labels)
    return [(t, " + ".join(labels)) for t, labels in sorted(marks.items())]


def volleys(ds: xr.Dataset) -> list[dict]:
    """Describe each synaptic volley: the presynaptic steps that start together (short regular trains).

    For each: `start` and `end` (s; the window lasts to the next volley or the end of the run),
    `label`, `baseline` (V at the start), `peak` (largest V in the window) and `peak_time`,
    `amplitude` (peak - baseline), `trough` (smallest V in the window minus baseline) and `fired`
    (a spike in the window). Trains of `MIN_TRIALS` spikes or more are
    trials, not volleys (`quantal_trials`).
    """
    config = run_config(ds)
    starts = sorted({step.at for step in config.protocol if isinstance(step, PresynapticSpikes)
                     and step.rate is None and step.spikes < MIN_TRIALS})
    labels = dict(protocol_marks(ds))
    later = sorted(set(labels) | {float(ds.time[-1])})  # a window ends at the next labelled step
    ends = [min(t for t in later if t > start) if start < later[-1] else later[-1] for start in starts]
    spikes = ds.spike_time.values
    found = []
    for start, end in zip(starts, ends, strict=True):
        window = ds.membrane_potential.sel(time=slice(start, end))
        baseline = float(ds.membrane_potential.sel(time=start, method="nearest"))
        peak = float(window.max())
        found.append({"start": start, "end": end, "label": labels.get(start, ""), "baseline": baseline,
                      "peak": peak, "peak_time": float(window.time.values[int(np.argmax(window.values))]),
                      "amplitude": peak - baseline, "trough": float(window.min()) - baseline,
                      "fired": bool(np.any((spikes >= start) & (spikes < end)))})
    return found


def spike_threshold(ds: xr.Dataset) -> float | None:
    """Return the mean firing threshold (V) of the run's spikes: V where dV/dt first exceeds 10 mV/ms.

    For each spike, the last upward crossing of `THRESHOLD_SLOPE_V_PER_S` in the 5 ms before it
    (from the recorded V, slopes between consecutive rows). None without spikes.
    """
    v, t = ds.membrane_potential.values, ds.time.values
    slope = np.diff(v) / np.diff(t)
    thresholds = []
    for spike in ds.spike_time.values:
        before = np.flatnonzero((t[:-1] >= spike - 5e-3) & (t[:-1] < spike))
        if len(before) < 2:
            continue
        steep = slope[before] > THRESHOLD_SLOPE_V_PER_S
        rising = np.flatnonzero(steep[1:] & ~steep[:-1])
        if len(rising):
            thresholds.append(v[before[rising[-1] + 1]])
    return float(np.mean(thresholds)) if thresholds else None


def quantal_trials(ds: xr.Dataset) -> dict | None:
    """Read a long regular presynaptic train as repeated trials of quantal release.

    The first `presynaptic_spikes` step with at least `MIN_TRIALS` spikes: each spike starts a
    trial that lasts one period. Returns the trial start times (s), the vesicles released in each
    trial (from `releases`), each trial's EPSP amplitude (V: largest V in the trial minus V at
    its start), the synapses reached (`n`), the release probability (`p`) and the target's name;
    None without such a step.
    """
    config = run_config(ds)
    step = next((s for s in config.protocol if isinstance(s, PresynapticSpikes) and s.rate is None
                 and s.spikes >= MIN_TRIALS), None)
    if step is None:
        return None
    entry = next(e for e in config.synapses if e.name == step.target)
    starts = step.at + step.period * np.arange(step.spikes)
    starts = starts[starts + step.period <= float(ds.time[-1]) + 1e-12]
    releases = ds.releases.sel(synapse=step.target)
    edges = releases.sel(time=np.append(starts, starts[-1] + step.period), method="nearest").values
    v, t = ds.membrane_potential.values, ds.time.values
    tolerance = 1e-9  # s: recording times and spike times are computed differently
    windows = [(t >= a - tolerance) & (t < a + step.period - tolerance) for a in starts]
    amplitude = np.array([v[w].max() - v[np.argmin(np.abs(t - a))] for a, w in zip(starts, windows, strict=True)])
    return {"start": starts, "releases": np.diff(edges), "amplitude": amplitude,
            "n": step.synapses or entry.count, "p": entry.release_probability, "target": step.target}
