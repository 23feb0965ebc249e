"""Figures of a run file (matplotlib, Agg backend: works without a screen).

One figure per run, panels chosen from what the run contains: the membrane potential with its
closed-form references (Nernst potentials, the channels' GHK or chord-conductance potential,
the pump-leak balance, the Donnan end state), all drawn as time series from the concentrations
and open channels recorded at each time; the stimulus; the ions moved (or, under voltage clamp,
the currents; over hours, the concentrations); the open channels and receptors unless every
count is constant; the vesicles released at synapses; the pump turnover; for [K]o steps the
resting potential against [K]o; and for a long train of presynaptic spikes (repeated trials) the
histogram of EPSP amplitudes by number of quanta released, with the binomial expectation. A
paced (with or without a Na+/K+ pump) or threshold-probed myocyte gets its own figure
(`channelsim.cardiac_figure`).
`open`, `close` and presynaptic volleys are labelled on the voltage panel, each volley with its
EPSP amplitude, and the firing threshold is drawn when synaptic input fired the cell.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import numpy as np
import xarray as xr

from channelsim import analysis, beats
from channelsim.channels import KINDS
from channelsim.config.schema import SetOutside, VoltageClamp
from channelsim.errors import ConfigError
from channelsim.physics import ghk_potential, ions_for_voltage_change, nernst_potential
from channelsim.recording.reader import open_run

_ION_LABEL = {"K": "K$^+$", "Na": "Na$^+$", "Cl": "Cl$^-$", "Ca": "Ca$^{2+}$"}
#: A run longer than this (s) is shown on a log time axis with concentrations.
_LONG_RUN_s = 60.0
#: Runs shorter than this (s) are shown in ms, longer ones in s.
_MS_AXIS_BELOW_s = 2.0
#: When V spans less than this (mV) and never spikes, the voltage axis zooms on V, its
#: predictions and the references near it; those further away are listed, not drawn off scale.
_ZOOM_BELOW_mV = 20.0
#: Smallest voltage span (mV) of a zoomed axis, so that noise is not blown up; references
#: within this distance of V stay on a zoomed axis.
_MIN_ZOOM_SPAN_mV = 10.0
#: Descriptions longer than this many characters stay out of the title.
_MAX_TITLE_DESCRIPTION = 90
_LEGEND = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "fontsize": 8, "frameon": False}


def plot_run(path: str | Path, output: str | Path | None = None) -> Path:
    """Write the figure of run file `path` as a PNG (default: beside it) and return its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    output = Path(output) if output else path.with_suffix(".png")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    extension = output.suffix.removeprefix(".").lower()
    if extension not in FigureCanvasAgg.get_supported_filetypes():
        shown = f"{output.name} has no file extension" if not extension else f".{extension} is not an image format"
        raise ConfigError("-o", shown, "end the name in .png, .pdf or .svg (or another matplotlib format), "
                          f"e.g. {output.with_suffix('.png')}")
    if not output.parent.is_dir():
        raise ConfigError("-o", f"the folder of {output} does not exist", "create it or choose another path")
    if output.is_dir() or (output.exists() and not output.is_file()):
        raise ConfigError("-o", f"{output} is not a regular file", "give the path of an image file")
    if output.exists() and path.exists() and output.samefile(path):
        raise ConfigError("-o", f"{output} is the run file itself", "give another name, e.g. "
                          f"{path.with_suffix('.png')}")
    ds = open_run(path)
    fig = run_figure(ds)
    # drawn to a hidden file beside the figure and renamed onto it: never half a figure
    partial = output.with_name(f".{output.name}.partial{output.suffix}")
    try:
        fig.savefig(partial, dpi=120, format=extension)
        os.replace(partial, output)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise ConfigError("-o", f"cannot write {output} ({error.strerror or error})",
                          "choose a folder you can write to") from None
    finally:
        plt.close(fig)
    return output


def run_figure(ds: xr.Dataset):
    """Draw the figure of a run (a `matplotlib.figure.Figure`; the caller closes it).

    Reference lines carry a gid ("E_K", "E_Na", ..., "channels", "pump_leak", "donnan",
    "threshold"; the voltage trace "V") so that tests and notebooks can find them; their data
    are in the figure's time unit (`time_unit(ds)`) and mV.
    """
    import matplotlib.pyplot as plt

    config = analysis.run_config(ds)
    if "compartment" in ds.dims:  # a cable: the impulse along it
        from channelsim.cable_plot import cable_figure

        return cable_figure(ds, lambda fig: _title_and_footer(fig, ds, config))
    scale, unit = time_unit(ds)
    if beats.is_paced_myocyte(ds) or beats.is_probed_myocyte(ds):
        from channelsim.cardiac_figure import cardiac_figure, pump_figure, threshold_figure

        if beats.is_paced_myocyte(ds):
            draw = pump_figure if beats.has_sodium_pump(ds) else cardiac_figure
        else:
            draw = threshold_figure
        fig = draw(ds, scale, unit)
        _title_and_footer(fig, ds, config)
        return fig
    t = ds.time.values * scale
    duration = float(ds.time[-1])
    long_run = duration > _LONG_RUN_s
    clamped = bool(np.isfinite(ds.command_potential.values).any())
    pulses = analysis.current_pulses(ds)
    k_steps = [step for step in config.protocol if isinstance(step, SetOutside) and step.ion == "K"]
    has_pumps = bool(ds.pump_cycles.values[-1].sum() > 0)
    conducting = {entry.kind for entry in config.channels}
    channel_kinds = [kind for kind in ds.kind.values if kind in conducting]
    varying = [kind for kind in channel_kinds if np.ptp(ds.open_channels.sel(kind=kind).values) > 0]
    synapse_entries = list(ds.synapse.values)
    released = ds.sizes["synapse"] > 0 and bool(ds.releases.values[-1].sum() > 0)
    trials = analysis.quantal_trials(ds) if released else None

    volleys = analysis.volleys(ds) if released else []
    panels = ["voltage"] + ["zoom"] * bool(volleys) + ["stimulus"] * bool(pulses)
    panels += ["concentrations" if long_run else "currents" if clamped else "ions"]
    panels += ["channels"] * bool(varying) + ["receptors", "releases"] * released + ["pumps"] * has_pumps
    heights = {"voltage": 3.2, "zoom": 2.4, "stimulus": 0.9, "receptors": 1.5, "releases": 1.2}
    extra = [2.4] * (len(k_steps) > 1) + [2.6] * (trials is not None)
    ratios = [heights.get(panel, 2.0) for panel in panels] + extra
    fig_height = 1.2 * sum(ratios) + 0.9
    fig, axes = plt.subplots(len(ratios), 1, figsize=(10, fig_height),
                             gridspec_kw={"height_ratios": ratios}, squeeze=False)
    axes = list(axes[:, 0])
    footer_in = 0.3
    fig.set_layout_engine("constrained", rect=(0, footer_in / fig_height, 1, 1 - footer_in / fig_height))
    for ax in axes[1:len(panels)]:
        ax.sharex(axes[0])

    for ax, panel in zip(axes[:len(panels)], panels, strict=True):  # the last axes may be the [K]o plot
        if panel == "voltage":
            _plot_voltage(ax, ds, t, clamped, pulses, long_run)
        elif panel == "zoom":
            _plot_epsps(ax, ds, t, volleys)
        elif panel == "stimulus":
            _plot_stimulus(ax, ds, t, pulses, scale)
        elif panel == "concentrations":
            _plot_concentrations(ax, ds, t)
        elif panel == "currents":
            _plot_clamp_currents(ax, ds, t)
        elif panel == "ions":
            _plot_ions_moved(ax, ds, t)
        elif panel == "channels":
            _plot_open_channels(ax, ds, t, channel_kinds)
        elif panel == "receptors":
            _plot_open_channels(ax, ds, t, synapse_entries)
            ax.set_ylabel("open receptors\n(count)")
        elif panel == "releases":
            _plot_releases(ax, ds, t)
        else:
            _plot_pump_rate(ax, ds, t)
        if ax.get_legend() is None and ax.get_legend_handles_labels()[0]:
            ax.legend(**_LEGEND)
    time_axes = axes[:len(panels)]
    for ax in time_axes[:-1]:
        ax.tick_params(labelbottom=False)
    time_axes[-1].set_xlabel(f"time ({unit})")
    if long_run:
        for ax in time_axes:
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter("{x:g}")
        time_axes[0].set_xlim(t[1], t[-1])
    else:
        time_axes[0].set_xlim(t[0], t[-1])
    if len(k_steps) > 1:
        _plot_potassium_dependence(axes[len(panels)], ds, k_steps)
    if trials is not None:
        _plot_quantal(axes[-1], trials)
    _title_and_footer(fig, ds, config)
    return fig


def time_unit(ds: xr.Dataset) -> tuple[float, str]:
    """Factor from seconds and the name of the one time unit a run's figure uses."""
    return (1e3, "ms") if float(ds.time[-1]) < _MS_AXIS_BELOW_s else (1.0, "s")


def _title_and_footer(fig, ds: xr.Dataset, config) -> None:
    """Write the title and the footer.

    Title: experiment name and (short) description. Footer: seed, the --set overrides of the
    command that made the run (quoted as they would be typed), and the status unless complete.
    """
    description = config.experiment.description
    title = ds.attrs["experiment"]
    if description and len(description) <= _MAX_TITLE_DESCRIPTION:
        title += f": {description}"
    fig.suptitle(title, fontsize=12)
    footer = [f"seed {ds.attrs['seed']}"] + [f"--set {shlex.quote(item)}" for item in analysis.overrides(ds)]
    if ds.attrs["status"] != "complete":
        footer.append(f"run {ds.attrs['status']} at t = {float(ds.time[-1]):g} s")
    fig.text(0.01, 0.005, "   ".join(footer), fontsize=8, color="dimgrey", ha="left", va="bottom")


def _ion_color(ds: xr.Dataset, ion: str) -> str:
    return f"C{list(ds.ion.values).index(ion)}"


def _active_ions(ds: xr.Dataset) -> list[str]:
    """Ions that crossed the membrane through channels during the run."""
    last = ds.isel(time=-1)
    return [ion for ion in ds.ion.values if int(last.efflux.sel(ion=ion) + last.influx.sel(ion=ion)) > 0]


def _values_label(name: str, series: np.ndarray, unit: str = "mV") -> str:
    """Label a series with its values.

    "name = x unit" for a series constant to the one decimal shown, "name: first -> last unit"
    for a changing one; potentials with their sign.
    """
    finite = series[np.isfinite(series)]
    if finite.size == 0:
        return f"{name}: undefined"
    number = "{:+.1f}" if unit == "mV" else "{:.1f}"
    first, last = number.format(finite[0]), number.format(finite[-1])
    if np.ptp(finite) < 0.05:
        return f"{name} = {last} {unit}"
    return f"{name}: {first} $\\to$ {last} {unit}"


def _plot_voltage(ax, ds: xr.Dataset, t: np.ndarray, clamped: bool, pulses: list, long_run: bool) -> None:
    """V with every closed-form reference as a stepped time series (right at every time)."""
    v_mV = ds.membrane_potential.values * 1e3
    ax.plot(t, v_mV, color="black", lw=1.0, label="V (clamped)" if clamped else "V (simulated)", gid="V", zorder=2)
    references: list[tuple[str, np.ndarray, dict]] = []
    reversal = analysis.reversal_potentials(ds)
    active = _active_ions(ds)
    for ion in active:
        references.append((f"E_{ion}", reversal.sel(ion=ion).values * 1e3,
                           {"ls": "--", "lw": 1.0, "color": _ion_color(ds, ion),
                            "label": _values_label(f"E$_{{{ion}}}$", reversal.sel(ion=ion).values * 1e3)}))
    config = analysis.run_config(ds)
    pumped = bool(ds.pump_cycles.values[-1].sum() > 0)
    # With one permeant ion the channels' potential is that ion's Nernst potential; with
    # voltage-gated channels it only shadows V, and with synaptic receptors it jumps with every
    # release faster than V can follow.
    synaptic = ds.sizes["synapse"] > 0 and bool(ds.releases.values[-1].sum() > 0)
    if len(active) > 1 and not synaptic and not analysis.voltage_gated(config, float(ds.temperature)):
        predicted, law = analysis.predicted_potential(ds)
        name = f"{law}, channels alone" if pumped else f"{law} (open channels)"
        predicted_mV = predicted.values * 1e3
        references.append(("channels", predicted_mV,
                           {"ls": ":", "lw": 1.4, "color": "dimgrey", "label": _values_label(name, predicted_mV)}))
    if pumped:
        balance = analysis.pump_leak_potential(ds).values * 1e3
        references.append(("pump_leak", balance, {"ls": "-.", "lw": 1.2, "color": "darkviolet",
                                                  "label": _values_label("zero net current, channels + pumps",
                                                                         balance)}))
    block = analysis.pump_block_time(ds)
    pumped_kinds = ds.pump_cycles.values[-1] > 0
    pumps_stopped = long_run and block is not None and bool(np.all(ds.blocked_fraction.values[-1][pumped_kinds] > 0.99))
    if pumps_stopped:
        donnan = analysis.donnan_prediction(ds)[0].values * 1e3
        references.append(("donnan", donnan, {"ls": (0, (5, 2, 1, 2)), "lw": 1.2, "color": "red",
                                              "label": _values_label("Donnan equilibrium (pumps stopped)", donnan)}))

    spikes = ds.sizes["spike"] > 0
    zoom = not clamped and not spikes and np.ptp(v_mV) < _ZOOM_BELOW_mV
    if zoom:  # V, its predictions and the references within _MIN_ZOOM_SPAN_mV of V
        window = (v_mV.min() - _MIN_ZOOM_SPAN_mV, v_mV.max() + _MIN_ZOOM_SPAN_mV)
        near = [v_mV] + [series for gid, series, _ in references if gid in ("channels", "pump_leak")
                         or (np.nanmin(series) >= window[0] and np.nanmax(series) <= window[1])]
        low = min(np.nanmin(series) for series in near)
        high = max(np.nanmax(series) for series in near)
        half = 0.65 * max(high - low, _MIN_ZOOM_SPAN_mV)
        ylim = ((low + high) / 2 - half, (low + high) / 2 + half)
    off_scale = []
    for gid, series, style in references:
        if zoom and (np.nanmin(series) > ylim[1] or np.nanmax(series) < ylim[0]):
            off_scale.append(style["label"])
            style = {**style, "label": "_nolegend_"}
        ax.plot(t, series, drawstyle="steps-pre", gid=gid, zorder=3, **style)
    if zoom:
        ax.set_ylim(*ylim)
        if off_scale:
            ax.text(0.01, 0.02, "off scale: " + "; ".join(off_scale), transform=ax.transAxes, fontsize=8,
                    color="dimgrey", va="bottom")

    bracket = analysis.threshold_bracket(ds)
    if bracket is not None:
        low_mV, high_mV = sorted(1e3 * np.array(bracket))
        ax.axhspan(low_mV, high_mV, color="grey", alpha=0.2, lw=0)
        ax.axhline((low_mV + high_mV) / 2, color="grey", lw=1.0, ls=(0, (1, 1)), gid="threshold",
                   label=f"threshold {(low_mV + high_mV) / 2:+.1f} mV: pulses ending above it fire")
    marks = analysis.protocol_marks(ds)
    if spikes and not pulses and not clamped and not marks:
        count, rate = analysis.spike_rate(ds)
        ax.text(0.01, 0.97, f"{count} spikes in {float(ds.time[-1]):g} s: {rate:.1f} /s", transform=ax.transAxes,
                fontsize=10, va="top", bbox={"facecolor": "white", "edgecolor": "none"})
    if clamped:
        _label_clamp_steps(ax, ds, config)
    if marks:
        _label_protocol_marks(ax, ds, marks, long_run)
    if spikes and analysis.volleys(ds):
        threshold = analysis.spike_threshold(ds)
        if threshold is not None:
            ax.axhline(threshold * 1e3, color="grey", lw=1.0, ls=(0, (1, 1)), gid="threshold",
                       label=f"threshold {threshold * 1e3:+.1f} mV (dV/dt > 10 mV/ms before a spike)")
    if block is not None and 0 < block < float(ds.time[-1]):
        scale, _ = time_unit(ds)
        ax.axvline(block * scale, color="black", lw=0.6, ls=":")
        if long_run:  # the step is a few mV on a run-down of tens: name the moment only
            ax.annotate(" pumps blocked", (block * scale, 1.0), xycoords=("data", "axes fraction"), va="top",
                        fontsize=8)
        else:
            _mark_electrogenic_step(ax, ds, block)
    ax.set_ylabel("membrane potential (mV)")


def _label_clamp_steps(ax, ds: xr.Dataset, config) -> None:
    """Write each voltage-clamp command (mV) above its step."""
    scale, _ = time_unit(ds)
    holding = next(step.potential for step in config.protocol if isinstance(step, VoltageClamp))
    for step in config.protocol:
        if isinstance(step, VoltageClamp) and step.potential != holding:
            end = float(ds.time[-1]) if step.duration is None else step.at + step.duration
            command_mV = step.potential * 1e3
            ax.annotate(f"{command_mV:+.0f} mV".replace("+0 ", "0 "), ((step.at + end) / 2 * scale, command_mV),
                        xytext=(0, 4), textcoords="offset points", ha="center", va="bottom", fontsize=9)


def _label_protocol_marks(ax, ds: xr.Dataset, marks: list[tuple[float, str]], long_run: bool) -> None:
    """Label `open`, `close` and presynaptic volleys at their times; each volley with its EPSP amplitude.

    Volleys that fire are marked "spike", the others with their peak above the baseline.
    """
    scale, _ = time_unit(ds)
    amplitudes = {v["start"]: v for v in analysis.volleys(ds)}
    for i, (at, label) in enumerate(marks):
        x = at * scale
        if long_run and x <= 0:
            continue
        ax.axvline(x, color="black", lw=0.5, ls=":", zorder=1)
        volley = amplitudes.get(at)
        if volley is not None:
            change = volley["amplitude"] if volley["amplitude"] >= -volley["trough"] else volley["trough"]
            label += "\nspike" if volley["fired"] else f"\n{change * 1e3:+.1f} mV"
        ax.annotate(label, (x, 1.0 - 0.07 * (i % 2)), xycoords=("data", "axes fraction"), xytext=(2, -2),
                    textcoords="offset points", va="top", ha="left", fontsize=7, color="dimgrey")
    low, top = ax.get_ylim()
    ax.set_ylim(top=top + 0.2 * (top - low))  # room for the labels


def _plot_epsps(ax, ds: xr.Dataset, t: np.ndarray, volleys: list[dict]) -> None:
    """Zoom on the synaptic potentials: V near rest, each volley's peak marked, the threshold drawn."""
    v_mV = ds.membrane_potential.values * 1e3
    scale, _ = time_unit(ds)
    ax.plot(t, v_mV, color="black", lw=1.0)
    rest = float(np.median(v_mV))
    threshold = analysis.spike_threshold(ds)
    failed = [v["peak"] * 1e3 for v in volleys if not v["fired"]]
    top = max([rest + 5.0, *failed, *([threshold * 1e3] if threshold is not None else [])]) + 3.0
    for volley in volleys:
        if not volley["fired"] and volley["amplitude"] >= -volley["trough"]:
            ax.plot([volley["peak_time"] * scale], [volley["peak"] * 1e3], marker="v", color="C5", ms=5)
    if failed:
        ax.axhline(max(failed), color="C5", lw=0.8, ls="--",
                   label=f"highest peak without a spike: {max(failed):+.1f} mV")
    if threshold is not None:
        ax.axhline(threshold * 1e3, color="grey", lw=1.0, ls=(0, (1, 1)),
                   label=f"spike upstroke begins: {threshold * 1e3:+.1f} mV")
    ax.set_ylim(min(rest, float(v_mV.min())) - 2.0, top)
    ax.set_ylabel("membrane potential,\nzoomed (mV)")


def _mark_electrogenic_step(ax, ds: xr.Dataset, block: float) -> None:
    """Arrow from V before the pumps were blocked to V after, with the closed-form shift."""
    scale, _ = time_unit(ds)
    v = ds.membrane_potential
    before = float(v.sel(time=slice(block / 2, block)).mean()) * 1e3
    end = float(ds.time[-1])
    after = float(v.sel(time=slice(block + 0.75 * (end - block), end)).mean()) * 1e3
    predicted = analysis.electrogenic_shift(ds, block) * 1e3
    x = (block + 0.05 * (end - block)) * scale
    ax.annotate("", (x, after), (x, before), arrowprops={"arrowstyle": "<->", "color": "black", "lw": 1.0})
    ax.annotate(f"pumps blocked: $\\Delta$V = {after - before:+.2f} mV\n"
                f"closed form (pump current): {predicted:+.2f} mV",
                (block * scale, (before + after) / 2), xytext=(-8, 0), textcoords="offset points", ha="right",
                va="center", fontsize=9)


def _plot_stimulus(ax, ds: xr.Dataset, t: np.ndarray, pulses: list, scale: float) -> None:
    """Plot the injected current, each pulse labelled with its amplitude as the config gave it."""
    injected = ds.electrode_current.where(np.isnan(ds.command_potential), 0.0).values
    area = float(ds.membrane_area)
    densities = all(dimension == "current_density" for *_, dimension in pulses)

    def shown(current_A):  # µA/cm^2 when the config gave densities, else pA
        return current_A / area * 1e2 if densities else current_A * 1e12

    values, unit = shown(injected), "$\\mu$A/cm$^2$" if densities else "pA"
    ax.fill_between(t, values, step="pre", color="dimgrey", lw=0)
    for start, end, amplitude, dimension in pulses:
        height = shown(amplitude * area if dimension == "current_density" else amplitude)
        ax.annotate(f"{height:.3g}", ((start + end) / 2 * scale, height), xytext=(0, 2), textcoords="offset points",
                    ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, 1.35 * max(np.max(values), 1e-12))
    ax.set_ylabel(f"stimulus\n({unit})")


def _count_scale(max_abs: float) -> tuple[float, str]:
    """Factor and unit prefix ("10$^6$ ") that write counts up to max_abs with at most three digits."""
    exponent = 3 * int(np.floor(np.log10(max_abs) / 3)) if max_abs >= 1e3 else 0
    return 10.0 ** -exponent, f"10$^{{{exponent}}}$ " if exponent else ""


def _plot_ions_moved(ax, ds: xr.Dataset, t: np.ndarray) -> None:
    """How many ions of each kind entered the cell, against C |dV| / e."""
    active = _active_ions(ds)
    moved = ds.ions_moved.isel(time=-1)
    factor, suffix = _count_scale(float(np.abs(ds.ions_moved.sel(ion=active)).max()) if active else 0.0)
    delta_v = float(ds.membrane_potential[-1] - ds.membrane_potential[0])
    for ion in active:
        n = int(moved.sel(ion=ion))
        total = int(ds.ions_inside.sel(ion=ion)[0])
        ratio = abs(n) / total if total else 0.0
        share = f", {ratio:.1e} of the cell's" if ratio < 1 else f", {ratio:.0f}x the cell's at t = 0"
        share = share if total else ""
        ax.plot(t, ds.ions_moved.sel(ion=ion) * factor, color=_ion_color(ds, ion),
                label=f"{_ION_LABEL[ion]}: {n:+,d}{share}")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_ylabel(f"net ions entered ({suffix}ions)")
    ax.legend(title=f"C|$\\Delta$V|/e = {ions_for_voltage_change(float(ds.membrane_capacitance), delta_v):,.0f}"
                    " charges", title_fontsize=8, **_LEGEND)


def _plot_clamp_currents(ax, ds: xr.Dataset, t: np.ndarray) -> None:
    """Under voltage clamp: the current each ion carries and the clamp current."""
    currents = analysis.ionic_currents(ds)
    active = _active_ions(ds)
    largest = float(max(np.abs(currents.sel(ion=active)).max(), np.abs(ds.electrode_current).max()))
    factor, unit = (1e9, "nA") if largest >= 1e-9 else (1e12, "pA")
    for ion in active:
        ax.plot(t, currents.sel(ion=ion) * factor, lw=0.9, color=_ion_color(ds, ion), drawstyle="steps-pre",
                label=f"I$_{{{ion}}}$ (outward +)")
    ax.plot(t, -ds.electrode_current * factor, color="black", lw=0.6, ls=":", drawstyle="steps-pre",
            label="clamp current, sign flipped")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_ylabel(f"membrane current ({unit})")


def _plot_open_channels(ax, ds: xr.Dataset, t: np.ndarray, kinds: list[str]) -> None:
    """Plot the open channels of each kind (and open receptors of each synapse entry).

    In the colour of the ion it passes (purple for several ions); a second kind of the same ion
    is dashed. The legend gives the most channels or receptors on the membrane.
    """
    config = analysis.run_config(ds)
    defaults = {label: kind for label, kind, _ in analysis.conducting_entries(config)}
    receptors = {entry.name: entry.receptor for entry in config.synapses}
    drawn: list[str] = []
    for kind in kinds:
        ions = list(defaults[kind].permeant_ions)
        key = "+".join(ions)
        color = _ion_color(ds, ions[0]) if len(ions) == 1 else "C4"
        count = int(ds.on_membrane.sel(kind=kind).max())
        name = f"{kind} ({receptors[kind]}, {count:,d} receptors)" if kind in receptors else f"{kind} (of {count:,d})"
        ax.plot(t, ds.open_channels.sel(kind=kind), lw=0.9, color=color, ls="--" if key in drawn else "-", label=name)
        drawn.append(key)
    ax.set_ylabel("open channels (count)")


def _plot_releases(ax, ds: xr.Dataset, t: np.ndarray) -> None:
    """Cumulative vesicles released by each synapse entry."""
    for i, name in enumerate(ds.synapse.values):
        series = ds.releases.sel(synapse=name)
        ax.plot(t, series, drawstyle="steps-post", lw=1.0, color=f"C{5 + i}",
                label=f"{name}: {int(series[-1]):,d} vesicles")
    ax.set_ylabel("vesicles released\n(cumulative)")


def _plot_quantal(ax, trials: dict) -> None:
    """Histogram of the EPSP amplitudes of repeated trials, stacked by the quanta each trial released.

    Each stack's expected size is the binomial weight of its number of quanta k (n synapses,
    release probability p) times the trials; the peaks sit at multiples of the quantum q (the mean
    amplitude of single-quantum trials).
    """
    from math import comb

    amplitude_mV, quanta = trials["amplitude"] * 1e3, trials["releases"]
    n, p, total = trials["n"], trials["p"], len(quanta)
    bins = np.linspace(min(0.0, amplitude_mV.min()), amplitude_mV.max() * 1.05 + 1e-9, 50)
    ks = list(range(int(quanta.max()) + 1))
    ax.hist([amplitude_mV[quanta == k] for k in ks], bins=bins, stacked=True, color=[f"C{k}" for k in ks],
            label=[f"{k} quant{'um' if k == 1 else 'a'}: {int(np.sum(quanta == k))} trials "
                   f"(binomial {total * comb(n, k) * p**k * (1 - p) ** (n - k):.1f})" for k in ks])
    single = amplitude_mV[quanta == 1]
    if single.size:
        q = float(single.mean())
        for k in ks[1:]:
            ax.axvline(k * q, color="black", lw=0.6, ls=":")
        ax.set_title(f"{total} trials, n = {n} synapses, p = {p:g}: peaks at multiples of q = {q:.2f} mV",
                     fontsize=9)
    ax.set_xlabel("EPSP amplitude (mV)")
    ax.set_ylabel("trials")
    ax.legend(title=f"vesicles released by {trials['target']}", title_fontsize=8, **_LEGEND)


def _plot_pump_rate(ax, ds: xr.Dataset, t: np.ndarray) -> None:
    """Completed pump cycles per second of each pump kind (mean over each recording interval)."""
    rate = analysis.pump_rate(ds)
    for kind in ds.kind.values[ds.pump_cycles.values[-1] > 0]:
        count = int(ds.agent_count.sel(kind=kind))
        ax.plot(t[1:], rate.sel(kind=kind)[1:] / 1e6, lw=0.9, color="black", drawstyle="steps-pre",
                label=f"{kind} ({count:,d} pumps)")
    ax.set_ylim(0, 1.15 * max(float(rate.max()) / 1e6, 1e-6))  # keep a steady rate off the frame
    ax.set_ylabel("pump cycles (10$^6$/s)")


def _plot_concentrations(ax, ds: xr.Dataset, t: np.ndarray) -> None:
    """Inside concentrations over a long run, with the Donnan end state once the pumps stop."""
    block = analysis.pump_block_time(ds)
    prediction = analysis.donnan_prediction(ds)[1] if block is not None else None
    for ion in _active_ions(ds):
        c = ds.concentration_inside.sel(ion=ion).values
        ax.plot(t, c, color=_ion_color(ds, ion), label=_values_label(f"[{_ION_LABEL[ion]}]$_i$", c, "mM"))
        if prediction is not None and ion in prediction.ion.values:
            target = prediction.sel(ion=ion).values
            ax.plot(t, target, color=_ion_color(ds, ion), ls=(0, (5, 2, 1, 2)), lw=1.0, drawstyle="steps-pre",
                    label=f"Donnan [{_ION_LABEL[ion]}]$_i$ = {target[-1]:.1f} mM")
    ax.set_ylabel("inside concentration (mM)")


def _plot_potassium_dependence(ax, ds: xr.Dataset, k_steps: list) -> None:
    """Plot the resting V at the end of each [K]o step against [K]o.

    With the Nernst and GHK curves (final inside concentrations, mean open channels) and, per
    step, the pump-leak balance of that time.
    """
    from matplotlib.ticker import FixedLocator, NullLocator

    ends = [step.at for step in k_steps[1:]] + [float(ds.time[-1])]
    k_out = np.array([step.concentration for step in k_steps])
    at_ends = ds.sel(time=ends, method="nearest")
    grid = np.geomspace(k_out.min() * 0.8, k_out.max() * 1.25, 100)
    last = ds.isel(time=-1)
    inside = dict(zip(ds.ion.values, last.concentration_inside.values, strict=True))
    outside = dict(zip(ds.ion.values, last.concentration_outside.values, strict=True))
    temperature = float(ds.temperature)
    config = analysis.run_config(ds)
    open_mean = dict(zip(ds.kind.values, ds.open_channels.mean("time").values, strict=True))
    permeability: dict[str, float] = {}
    for entry in config.channels:
        for ion, share in KINDS[entry.kind].permeant_ions.items():
            if entry.permeation == "ghk":
                permeability[ion] = permeability.get(ion, 0.0) + open_mean[entry.kind] * share * entry.permeability
    ax.plot(grid, [nernst_potential(1, inside["K"], c, temperature) * 1e3 for c in grid], "--",
            color=_ion_color(ds, "K"), label="Nernst E$_K$")
    if permeability:
        ax.plot(grid, [ghk_potential(permeability, inside, {**outside, "K": c}, temperature) * 1e3 for c in grid],
                ":", lw=1.4, color="dimgrey", label="GHK, channels alone")
    if bool(ds.pump_cycles.values[-1].sum() > 0):
        ax.plot(k_out, analysis.pump_leak_potential(at_ends).values * 1e3, "D", mfc="none", color="darkviolet",
                ms=8, label="zero net current, channels + pumps")
    ax.plot(k_out, at_ends.membrane_potential.values * 1e3, "o", color="black", label="simulated V, end of each step")
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(k_out))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter("{x:g}")
    ax.set_xlabel("[K$^+$]$_o$ (mM)")
    ax.set_ylabel("resting potential (mV)")
    ax.legend(**_LEGEND)
