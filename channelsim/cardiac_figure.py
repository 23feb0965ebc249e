"""Figures of a myocyte, paced or probed for its threshold.

Paced: V with E_K and E_Na, the currents of each kind, [Ca2+]i, APD90 per beat. Paced with a
Na+/K+ pump (its Na+ load and the pump's response, with or without a glycoside): V, the diastolic
potential against E_K, [Na]i, the pump's current and blocked share, the Ca2+ transient of each
beat. Probed by pulses of rising amplitude: V and the pulses, the weakest that fired marked.

`channelsim.plotting.run_figure` draws them for runs that `beats.is_paced_myocyte`,
`beats.has_sodium_pump` and `beats.is_probed_myocyte` recognise.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from channelsim import analysis, beats
from channelsim.units import readable_quantity

#: Current density: A/m^2 -> uA/cm^2.
_UA_PER_CM2 = 100.0
_LABELS = {"lr_na": "I$_{Na}$ (lr_na)", "ca_l": "I$_{si}$ (ca_l, Ca$^{2+}$)", "lr_k": "I$_K$ (lr_k)",
           "lr_k1": "I$_{K1}$ (lr_k1)", "lr_kp": "I$_{Kp}$ (lr_kp)", "lr_b": "I$_b$ (lr_b)",
           "ncx": "I$_{NaCa}$ (ncx)", "pmca": "I$_{pCa}$ (pmca)", "na_k_atpase": "I$_{NaK}$ (na_k_atpase)"}
_NERNST_COLOR = {"K": "tab:blue", "Na": "tab:red"}
#: Height (mV) of the diastolic-potential panel above the lowest of V and E_K.
_DIASTOLIC_SPAN_mV = 8.0
#: Time (s) after the last beat of a train by which its Ca2+ transient and repolarisation are over.
_SETTLE_s = 2.0


def _voltage_with_nernst(ax, ds: xr.Dataset, t: np.ndarray) -> xr.DataArray:
    """Plot V (gid "V"), E_K and E_Na (gids "E_K", "E_Na") at every recorded time; return every ion's (mV)."""
    ax.plot(t, ds.membrane_potential.values * 1e3, color="black", lw=1.0, label="V (simulated)", gid="V")
    reversal = analysis.reversal_potentials(ds) * 1e3
    for ion in ("K", "Na"):
        e = reversal.sel(ion=ion).values
        ax.plot(t, e, ls="--", lw=1.0, color=_NERNST_COLOR[ion], gid=f"E_{ion}", drawstyle="steps-pre",
                label=f"E$_{{{ion}}}$ {e[-1]:+.1f} mV")
    ax.set_ylabel("membrane potential (mV)")
    return reversal


def cardiac_figure(ds: xr.Dataset, scale: float, unit: str):
    """Draw the paced myocyte's figure (a `matplotlib.figure.Figure`; the caller closes it).

    `scale` and `unit` are the time axis' (`plotting.time_unit`). The voltage trace has gid "V",
    the Nernst lines "E_K" and "E_Na".
    """
    import matplotlib.pyplot as plt

    t = ds.time.values * scale
    measured = beats.beats(ds)
    currents = beats.kind_currents(ds) * _UA_PER_CM2
    ratios = [3.2, 1.6, 2.4, 1.6, 1.8]
    height, footer = 1.2 * sum(ratios) + 0.9, 0.3
    fig, axes = plt.subplots(len(ratios), 1, figsize=(10, height), gridspec_kw={"height_ratios": ratios})
    fig.set_layout_engine("constrained", rect=(0, footer / height, 1, 1 - footer / height))
    for ax in axes[1:4]:
        ax.sharex(axes[0])

    ax = axes[0]
    reversal = _voltage_with_nernst(ax, ds, t)
    if measured:
        last = measured[-1]
        e_k, e_na = reversal.sel(ion="K").values[-1], reversal.sel(ion="Na").values[-1]
        for text in (f"last beat: rest {last['rest'] * 1e3:+.1f} mV, {last['rest'] * 1e3 - e_k:+.1f} from E$_K$",
                     f"peak {last['peak'] * 1e3:+.1f} mV, {last['peak'] * 1e3 - e_na:+.1f} from E$_{{Na}}$",
                     f"APD$_{{90}}$ {last['apd90'] * 1e3:.0f} ms"):
            ax.plot([], [], " ", label=text)
    ax.set_ylabel("membrane potential (mV)")

    ax = axes[1]
    if "lr_na" in currents.kind.values:
        ax.plot(t, currents.sel(kind="lr_na").values, color="tab:red", lw=0.8, label=_LABELS["lr_na"])
    ax.set_ylabel("I$_{Na}$\n(uA/cm$^2$)")

    ax = axes[2]
    others = [kind for kind in currents.kind.values if kind != "lr_na"]
    for kind in others:
        ax.plot(t, currents.sel(kind=kind).values, lw=0.9, label=_LABELS.get(kind, kind))
    ax.axhline(0.0, color="grey", lw=0.5)
    if others:
        span = np.nanpercentile(np.abs(currents.sel(kind=others).values), 99.5)
        ax.set_ylim(-1.1 * span, 1.1 * span)
    ax.set_ylabel("outward current\n(uA/cm$^2$)")

    ax = axes[3]
    ax.plot(t, ds.concentration_inside.sel(ion="Ca").values * 1e3, color="tab:green", lw=1.0,
            label="free [Ca$^{2+}$]$_i$")
    ax.set_ylabel("[Ca$^{2+}$]$_i$ (uM)")
    ax.set_xlabel(f"time ({unit})")
    for axis in axes[:3]:
        axis.tick_params(labelbottom=False)
    axes[0].set_xlim(t[0], t[-1])

    ax = axes[4]
    numbers = np.arange(1, len(measured) + 1)
    apd = np.array([b["apd90"] * 1e3 for b in measured])
    ax.plot(numbers, apd, "o-", color="black", ms=4, label="APD$_{90}$ of each beat")
    if len(measured) > 2:
        mean, error = beats.beat_statistics(measured)["apd90"]
        ax.axhline(mean * 1e3, color="grey", lw=1.0, ls=":",
                   label=f"mean of beats 2-{len(measured)}: {mean * 1e3:.1f} +- {error * 1e3:.1f} ms (SE)")
    ax.set_xlabel("beat")
    ax.set_ylabel("APD$_{90}$ (ms)")
    ax.set_xticks(numbers)
    for axis in axes:
        if axis.get_legend_handles_labels()[0]:
            axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def threshold_figure(ds: xr.Dataset, scale: float, unit: str):
    """Draw a myocyte probed by pulses of rising amplitude: V, the pulses, the weakest that fired.

    The voltage trace has gid "V", the Nernst lines "E_K" and "E_Na", the marked pulse "threshold".
    """
    import matplotlib.pyplot as plt

    t = ds.time.values * scale
    found = beats.excitability(ds)
    pulses = analysis.current_pulses(ds)
    height, footer = 6.5, 0.3
    fig, (ax, ax_pulse) = plt.subplots(2, 1, figsize=(10, height), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    fig.set_layout_engine("constrained", rect=(0, footer / height, 1, 1 - footer / height))
    _voltage_with_nernst(ax, ds, t)
    density = pulses[0][3] == "current_density"
    factor, label = (100.0, "uA/cm$^2$") if density else (1e12, "pA")  # A/m^2 -> uA/cm^2: x 100
    for start, _, amplitude, _ in pulses:
        ax_pulse.vlines(start * scale, 0, amplitude * factor, color="grey", lw=1.0)
    if np.isfinite(found["threshold"]):
        start = next(p[0] for p in pulses if p[2] == found["threshold"])
        ax_pulse.vlines(start * scale, 0, found["threshold"] * factor, color="tab:red", lw=2.0, gid="threshold",
                        label=f"weakest that fired: {found['threshold'] * factor:.3g} {label}")
        ax.plot([], [], " ", label=f"rest {found['rest'] * 1e3:+.1f} mV; first AP: peak {found['peak'] * 1e3:+.1f} mV, "
                f"dV/dt max {found['dvdt_max']:.0f} V/s")
    else:
        ax.plot([], [], " ", label=f"rest {found['rest'] * 1e3:+.1f} mV; no pulse fired")
    ax_pulse.set_ylabel(f"pulse ({label})")
    ax_pulse.set_xlabel(f"time ({unit})")
    ax.set_xlim(t[0], t[-1])
    for axis in (ax, ax_pulse):
        if axis.get_legend_handles_labels()[0]:
            axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def pump_figure(ds: xr.Dataset, scale: float, unit: str):
    """Draw a paced myocyte with a Na+/K+ pump (a `matplotlib.figure.Figure`; the caller closes it).

    V with E_K and E_Na; the diastolic potential against E_K (zoomed: the pump's
    after-hyperpolarisation); [Na]i; the pump's outward current and the share of pumps a glycoside
    binds; the free [Ca2+]i peak of every beat. The train is shaded and each `ouabain` step
    marked on every panel. The voltage trace has gid "V", the Nernst lines "E_K" and "E_Na".
    """
    import matplotlib.pyplot as plt

    t = ds.time.values * scale
    config = analysis.run_config(ds)
    measured = beats.beats(ds)
    pulses = analysis.current_pulses(ds)
    drugs = [step for step in config.protocol if step.action == "ouabain" and step.concentration > 0]
    ratios = [2.4, 2.0, 1.8, 1.8, 1.6]
    height, footer = 1.2 * sum(ratios) + 0.9, 0.3
    fig, axes = plt.subplots(len(ratios), 1, figsize=(10, height), sharex=True, gridspec_kw={"height_ratios": ratios})
    fig.set_layout_engine("constrained", rect=(0, footer / height, 1, 1 - footer / height))

    ax = axes[0]
    reversal = _voltage_with_nernst(ax, ds, t)

    ax = axes[1]
    v_mV, e_k = ds.membrane_potential.values * 1e3, reversal.sel(ion="K").values
    ax.plot(t, v_mV, color="black", lw=1.0, label="V between beats")
    ax.plot(t, e_k, ls="--", lw=1.0, color=_NERNST_COLOR["K"], drawstyle="steps-pre", label="E$_K$")
    for text in _diastolic_readings(ds, measured, pulses, drugs):
        ax.plot([], [], " ", label=text)
    bottom = min(v_mV.min(), e_k.min()) - 0.5
    ax.set_ylim(bottom, bottom + _DIASTOLIC_SPAN_mV)
    ax.set_ylabel("diastolic V\n(mV)")

    ax = axes[2]
    na = ds.concentration_inside.sel(ion="Na").values
    ax.plot(t, na, color="tab:red", lw=1.2, label=f"[Na$^+$]$_i$ {na[0]:.2f} mM -> max {na.max():.2f}, "
            f"end {na[-1]:.2f} mM")
    ax.set_ylabel("[Na$^+$]$_i$ (mM)")

    ax = axes[3]
    pump = analysis.pump_rate(ds).sel(kind="na_k_atpase").values
    current = pump * -analysis.pump_charge_per_cycle("na_k_atpase") / float(ds.membrane_area) * _UA_PER_CM2
    ax.plot(t, current, color="tab:purple", lw=0.8, label="I$_{NaK}$, mean over each record")
    ax.set_ylabel("pump current\n(uA/cm$^2$)")
    blocked = ds.blocked_fraction.sel(kind="na_k_atpase").values
    if blocked.max() > 0:
        twin = ax.twinx()
        twin.plot(t, blocked * 100, color="grey", lw=1.0, ls=":", drawstyle="steps-pre")
        twin.set_ylabel("pumps blocked (%)", color="grey")
        twin.set_ylim(-5, 105)
        ax.plot([], [], ls=":", color="grey", label=f"pumps blocked: {blocked[-1] * 100:.1f} % at the end")

    ax = axes[4]
    starts = np.array([b["start"] for b in measured])
    calcium = ds.concentration_inside.sel(ion="Ca")
    ax.plot(t, calcium.values * 1e3, color="tab:green", lw=0.5, alpha=0.4, label="free [Ca$^{2+}$]$_i$")
    ax.plot(starts * scale, [b["calcium_peak"] * 1e3 for b in measured], "o", ms=3, color="tab:green",
            label="peak of each beat")
    ax.plot(starts * scale, calcium.sel(time=starts, method="nearest").values * 1e3, "s", ms=3, color="tab:olive",
            label="diastolic, before each beat")
    ax.set_ylabel("free [Ca$^{2+}$]$_i$\n(uM)")
    ax.set_xlabel(f"time ({unit})")

    quiet_after = pulses and float(ds.time[-1]) - pulses[-1][1] > _SETTLE_s
    for axis in axes:
        if quiet_after:
            axis.axvspan(pulses[0][0] * scale, pulses[-1][1] * scale, color="gold", alpha=0.12, lw=0)
        for step in drugs:
            axis.axvline(step.at * scale, color="tab:purple", lw=1.0, ls="-.")
    if quiet_after:
        axes[0].plot([], [], color="gold", alpha=0.3, lw=6, label=f"train: {len(pulses)} beats")
    for step in drugs:
        dose = readable_quantity(step.concentration, "concentration")
        axes[0].plot([], [], color="tab:purple", lw=1.0, ls="-.", label=f"ouabain {dose} at {step.at * scale:g} {unit}")
    axes[0].set_xlim(t[0], t[-1])
    for axis in axes:
        if axis.get_legend_handles_labels()[0]:
            axis.legend(loc="upper left", bbox_to_anchor=(1.1, 1.0), fontsize=8, frameon=False)
    return fig


def _diastolic_readings(ds: xr.Dataset, measured: list[dict], pulses: list, drugs: list) -> list[str]:
    """Describe the diastolic V: before the train, before a glycoside, at the last beat, after the train."""
    t, v_mV = ds.time.values, ds.membrane_potential.values * 1e3
    texts = []
    if measured:
        texts.append(f"rest before the first beat {measured[0]['rest'] * 1e3:+.2f} mV")
        for step in drugs:
            last = [b for b in measured if b["start"] < step.at]
            if last:
                texts.append(f"before ouabain {last[-1]['rest'] * 1e3:+.2f} mV")
        texts.append(f"before the last beat {measured[-1]['rest'] * 1e3:+.2f} mV")
    if pulses and t[-1] - pulses[-1][1] > _SETTLE_s:
        settled = v_mV[int(np.searchsorted(t, pulses[-1][1] + _SETTLE_s))]
        texts.append(f"{_SETTLE_s:g} s after the train {settled:+.2f} mV, at the end {v_mV[-1]:+.2f} mV")
    return texts
