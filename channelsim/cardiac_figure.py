"""Figures of a myocyte, paced or probed for its threshold.

Paced: V with E_K and E_Na, the currents of each kind, [Ca2+]i, APD90 per beat. Probed by pulses
of rising amplitude: V and the pulses, the weakest that fired marked.

`channelsim.plotting.run_figure` draws them for runs that `beats.is_paced_myocyte` and
`beats.is_probed_myocyte` recognise.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from channelsim import analysis, beats

#: Current density: A/m^2 -> uA/cm^2.
_UA_PER_CM2 = 100.0
_LABELS = {"lr_na": "I$_{Na}$ (lr_na)", "ca_l": "I$_{si}$ (ca_l, Ca$^{2+}$)", "lr_k": "I$_K$ (lr_k)",
           "lr_k1": "I$_{K1}$ (lr_k1)", "lr_kp": "I$_{Kp}$ (lr_kp)", "lr_b": "I$_b$ (lr_b)",
           "ncx": "I$_{NaCa}$ (ncx)", "pmca": "I$_{pCa}$ (pmca)", "na_k_atpase": "I$_{NaK}$ (na_k_atpase)"}


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
    v_mV = ds.membrane_potential.values * 1e3
    ax.plot(t, v_mV, color="black", lw=1.0, label="V (simulated)", gid="V")
    reversal = analysis.reversal_potentials(ds) * 1e3
    for ion, color in (("K", "tab:blue"), ("Na", "tab:red")):
        e = reversal.sel(ion=ion).values
        ax.plot(t, e, ls="--", lw=1.0, color=color, gid=f"E_{ion}", drawstyle="steps-pre",
                label=f"E$_{{{ion}}}$ {e[-1]:+.1f} mV")
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
    ax.plot(t, ds.membrane_potential.values * 1e3, color="black", lw=1.0, label="V (simulated)", gid="V")
    reversal = analysis.reversal_potentials(ds) * 1e3
    for ion, color in (("K", "tab:blue"), ("Na", "tab:red")):
        e = reversal.sel(ion=ion).values
        ax.plot(t, e, ls="--", lw=1.0, color=color, gid=f"E_{ion}", drawstyle="steps-pre",
                label=f"E$_{{{ion}}}$ {e[-1]:+.1f} mV")
    ax.set_ylabel("membrane potential (mV)")
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
