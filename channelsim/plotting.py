"""Figures of a run file (matplotlib, Agg backend: works without a screen)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np

from channelsim.analysis import donnan_prediction, ionic_currents, predicted_potential, reversal_potentials
from channelsim.channels import KINDS
from channelsim.config import parse_config
from channelsim.errors import ConfigError
from channelsim.physics import ghk_potential, ions_for_voltage_change, nernst_potential
from channelsim.recording.reader import open_run

_ION_LABEL = {"K": "K$^+$", "Na": "Na$^+$", "Cl": "Cl$^-$", "Ca": "Ca$^{2+}$"}


def plot_run(path: str | Path, output: str | Path | None = None) -> Path:
    """Voltage with the Nernst and predicted potentials, ions moved, open channels; -> PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    output = Path(output) if output else path.with_suffix(".png")
    if not output.parent.is_dir():
        raise ConfigError("-o", f"the folder of {output} does not exist", "create it or choose another path")
    ds = open_run(path)
    duration = float(ds.time[-1])
    scale, unit = (1e3, "ms") if duration < 10 else (1.0, "s")
    t = ds.time.values * scale
    long_run = duration > 60  # minutes to hours: log time axis, concentrations
    pumps_stopped = bool(np.any(ds.pump_cycles.values[-1] > 0)) and bool(
        np.all(ds.blocked_fraction.values[-1][ds.pump_cycles.values[-1] > 0] > 0.99))
    active = [ion for ion in ds.ion.values if (ds.efflux.sel(ion=ion)[-1] + ds.influx.sel(ion=ion)[-1]) > 0]

    config = parse_config(tomllib.loads(ds.attrs["config"]))
    k_steps = [step for step in config.protocol if step.action == "set_outside" and step.ion == "K"]
    fig, axes = plt.subplots(3 + bool(k_steps), 1, figsize=(8, 9 + 3 * bool(k_steps)), constrained_layout=True)
    for a in axes[1:3]:
        a.sharex(axes[0])
    ax = axes[0]
    ax.plot(t, ds.membrane_potential * 1e3, color="black", lw=1, label="V (simulated)")
    reversal = reversal_potentials(ds.isel(time=-1))
    for ion in active:
        ax.axhline(float(reversal.sel(ion=ion)) * 1e3, ls="--", lw=0.8, color=f"C{list(ds.ion.values).index(ion)}",
                   label=f"E$_{{{ion}}}$ = {float(reversal.sel(ion=ion)) * 1e3:.2f} mV")
    v_pred, law = predicted_potential(ds)
    if v_pred == v_pred:
        ax.axhline(v_pred * 1e3, ls=":", lw=1.2, color="grey", label=f"{law}: {v_pred * 1e3:.2f} mV")
    ax.set_ylabel("membrane potential (mV)")
    injected = ds.electrode_current.where(np.isnan(ds.command_potential), 0.0)
    if np.any(injected.values != 0):  # current clamp: show the stimulus under the voltage
        stimulus = ax.twinx()
        stimulus.fill_between(t, injected.values * 1e12, step="pre", color="grey", alpha=0.3, lw=0)
        stimulus.set_ylabel("injected current (pA)", color="grey")
        stimulus.set_ylim(0, 4 * max(1e-3, float(injected.max()) * 1e12))
    ax.set_title(f"{ds.attrs['experiment']}  (seed {ds.attrs['seed']}, {ds.attrs['status']})")
    ax.legend(fontsize=8, loc="best")

    if pumps_stopped:
        v_final, _ = donnan_prediction(ds)
        ax.axhline(v_final * 1e3, color="red", ls="-.", lw=1,
                   label=f"Donnan equilibrium (pumps stopped): {v_final * 1e3:.2f} mV")
        ax.legend(fontsize=8, loc="best")

    ax = axes[1]
    if long_run:
        _plot_concentrations(ax, ds, t, active, pumps_stopped)
    elif np.isfinite(ds.command_potential.values).any():
        _plot_clamp_currents(ax, ds, t, active)
    else:
        _plot_ions_moved(ax, ds, t, active)

    ax = axes[2]
    for kind, count, cycles in zip(ds.kind.values, ds.agent_count.values, ds.pump_cycles.values[-1]):
        if cycles == 0:  # channels (pumps are drawn below)
            ax.plot(t, ds.open_channels.sel(kind=kind), lw=0.8, label=f"{kind} (of {int(count):,d})")
    if np.any(ds.pump_cycles.values[-1] > 0):
        rate = ds.pump_cycles.diff("time") / ds.time.diff("time")
        for kind in ds.kind.values[ds.pump_cycles.values[-1] > 0]:
            ax.plot(t[1:], rate.sel(kind=kind) / 1e6, lw=0.8, color="black", ls="--",
                    label=f"{kind} cycles (1e6/s)")
    ax.set_ylabel("open channels")
    ax.set_xlabel(f"time ({unit})")
    if long_run and not k_steps:
        for a in axes:
            a.set_xscale("log")
            a.set_xlim(t[1], t[-1])
    if ds.sizes["kind"]:
        ax.legend(fontsize=8, loc="best")
    if k_steps:
        _plot_potassium_dependence(axes[3], ds, config, k_steps)
    fig.savefig(output, dpi=120)
    plt.close(fig)
    return output


def _plot_potassium_dependence(ax, ds, config, k_steps) -> None:
    """Resting V at the end of each [K]o step against [K]o, with the Nernst and GHK curves."""
    ends = [step.at for step in k_steps[1:]] + [float(ds.time[-1])]
    k_out = np.array([step.concentration for step in k_steps])
    v_end = np.array([float(ds.membrane_potential.sel(time=t, method="nearest")) for t in ends])
    grid = np.geomspace(k_out.min() * 0.8, k_out.max() * 1.25, 100)
    last = ds.isel(time=-1)
    inside = dict(zip(ds.ion.values, last.concentration_inside.values))
    outside = dict(zip(ds.ion.values, last.concentration_outside.values))
    temperature = float(ds.temperature)
    permeability = {KINDS[e.kind].ion: e.count * e.permeability for e in config.channels
                    if e.permeation == "ghk" and KINDS[e.kind].ion in ("K", "Na", "Cl")}
    e_k = [nernst_potential(1, inside["K"], c, temperature) * 1e3 for c in grid]
    ax.semilogx(grid, e_k, "--", label="Nernst E$_K$")
    if permeability:
        ax.semilogx(grid, [ghk_potential(permeability, inside, {**outside, "K": c}, temperature) * 1e3 for c in grid],
                    ":", color="grey", label="GHK (leaks)")
    ax.semilogx(k_out, v_end * 1e3, "o", color="black", label="simulated resting V")
    ax.set_xlabel("[K$^+$]$_o$ (mM)")
    ax.set_ylabel("resting potential (mV)")
    ax.legend(fontsize=8, loc="best")


def _plot_concentrations(ax, ds, t, active, pumps_stopped) -> None:
    """Inside concentrations over a long run, with the final state predicted in closed form."""
    prediction = donnan_prediction(ds)[1] if pumps_stopped else {}
    for i, ion in enumerate(ds.ion.values):
        if ion not in active:
            continue
        ax.plot(t, ds.concentration_inside.sel(ion=ion), color=f"C{i}", label=f"[{_ION_LABEL[ion]}]$_i$")
        if ion in prediction:
            ax.axhline(prediction[ion], color=f"C{i}", ls="-.", lw=0.8,
                       label=f"Donnan: {prediction[ion]:.1f} mM")
    ax.set_ylabel("inside concentration (mM)")
    ax.legend(fontsize=8, loc="best")


def _plot_ions_moved(ax, ds, t, active) -> None:
    """How many ions of each kind entered the cell, against C |dV| / e."""
    moved = ds.ions_moved.isel(time=-1)
    capacitance = float(ds.membrane_capacitance)
    delta_v = float(ds.membrane_potential[-1] - ds.membrane_potential[0])
    for ion in active:
        n = int(moved.sel(ion=ion))
        total = int(ds.ions_inside.sel(ion=ion)[0])
        share = f", {abs(n) / total:.1e} of the cell's" if total else ""
        ax.plot(t, ds.ions_moved.sel(ion=ion), label=f"{_ION_LABEL[ion]}: {n:+,d} ions{share}")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_ylabel("net ions entered")
    ax.legend(fontsize=8, loc="best",
              title=f"C|$\\Delta$V|/e = {ions_for_voltage_change(capacitance, delta_v):,.0f} charges",
              title_fontsize=8)


def _plot_clamp_currents(ax, ds, t, active) -> None:
    """Under voltage clamp: the current each ion carries and the clamp current (pA)."""
    currents = ionic_currents(ds)
    for ion in active:
        ax.plot(t, currents.sel(ion=ion) * 1e12, lw=0.8, label=f"I$_{{{ion}}}$ (outward +)")
    ax.plot(t, -ds.electrode_current * 1e12, color="black", lw=0.6, ls=":", label="clamp current (-)")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_ylabel("membrane current (pA)")
    ax.legend(fontsize=8, loc="best")
