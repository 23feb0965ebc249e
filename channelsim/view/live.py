"""What the live view draws, without the browser: a patch that keeps its history, and the figures.

`LivePatch` is a `MembranePatch` that remembers, after every Mesa step, the membrane potential,
each ion's Nernst potential from the concentrations of that moment, and the ions that have crossed.
The figures are plain matplotlib, so they are tested (and usable in a notebook) without a server.
"""

from __future__ import annotations

import time

import numpy as np
from matplotlib.figure import Figure

from channelsim.constants import ELEMENTARY_CHARGE, IONS, VALENCE
from channelsim.model.patch import MembranePatch
from channelsim.physics.closed_forms import thermal_voltage

#: Channels and pumps drawn per kind at most: a browser redraws a few thousand markers in ~0.1 s;
#: beyond this a uniform sample stands for the kind (positions are uniform, so the first ones are).
DRAWN_PER_KIND = 1500
#: The share of the time the live view spends drawing, at most: the simulation runs at 80 % or
#: more of its unwatched speed.
DRAW_SHARE = 0.2
#: Recordings the voltage trace keeps (the most recent ones), and the most one step advances, so
#: that the trace always shows the last few steps.
TRACE_ROWS = 20_000
MAX_RECORDS_PER_STEP = TRACE_ROWS // 4


class LivePatch(MembranePatch):
    """A membrane patch for the live view: a `MembranePatch` that keeps what the page plots.

    Its `history` holds, per recording, the time (s), the membrane potential (V), each ion's
    Nernst potential (V) and the net ions that have entered the cell, each a list of arrays.
    """

    def __init__(self, config, seed=None, **kwargs):
        super().__init__(config, seed, **kwargs)
        self.profile: np.ndarray | None = None  # a cable's V along it at the last recording
        self._initial_voltages = self._voltages()
        self.history = {"time": [], "membrane_potential": [], "reversal": [], "ions_moved": []}
        self.draw_seconds: dict[str, float] = {}  # what the page's last redraw of each figure took
        self._seconds_per_record = 0.0  # wall time per recording interval of the last step
        self._remember(self.current_row())

    def step(self) -> None:
        """Advance, remember, collect: Mesa's step, sized so that drawing takes at most `DRAW_SHARE` of the time.

        At least one recording interval; as many as fill (1 - DRAW_SHARE) / DRAW_SHARE times the
        last redraw, at the speed the previous step ran, up to `MAX_RECORDS_PER_STEP`.
        """
        budget = sum(self.draw_seconds.values()) * (1.0 - DRAW_SHARE) / DRAW_SHARE
        records = 1
        if budget and self._seconds_per_record:
            records = min(MAX_RECORDS_PER_STEP, max(1, int(budget / self._seconds_per_record)))
        started = time.perf_counter()
        self._remember(self.advance(records * self.config.run.steps_per_record))
        self._seconds_per_record = (time.perf_counter() - started) / records
        self.running = not self.finished
        self.datacollector.collect(self)

    def _remember(self, segment) -> None:
        rows = segment.rows
        inside, outside = rows["concentration_inside"], rows["concentration_outside"]
        valence = np.array([VALENCE[ion] for ion in IONS])
        with np.errstate(divide="ignore", invalid="ignore"):
            reversal = thermal_voltage(self.temperature) / valence * np.log(outside / inside)
        v = rows["membrane_potential"]
        if v.ndim == 2:  # a cable: every compartment's V; the trace follows the electrode's
            self.profile, v = v[-1], v[:, self.electrode_compartment]
        for name, values in (("time", segment.time), ("membrane_potential", v),
                             ("reversal", reversal), ("ions_moved", rows["ions_moved"])):
            self.history[name].append(values)
        if sum(len(t) for t in self.history["time"]) > 2 * TRACE_ROWS:  # keep the lists short
            for name, parts in self.history.items():
                self.history[name] = [np.concatenate(parts)[-TRACE_ROWS:]]

    def trace(self) -> dict[str, np.ndarray]:
        """Return the most recent `TRACE_ROWS` recordings, as arrays."""
        return {name: np.concatenate(parts)[-TRACE_ROWS:] for name, parts in self.history.items()}

    def _voltages(self) -> np.ndarray:
        """Membrane potential (V) of every compartment now."""
        return np.atleast_1d(self.current_row().rows["membrane_potential"][0])

    def charge_moved(self) -> tuple[float, float, float]:
        """Return the charge (in e) that entered since t = 0 through the membrane, from the electrode, and C dV / e.

        C dV / e is summed over the compartments; it equals the other two together (no ion is lost).
        """
        valence = np.array([VALENCE[ion] for ion in IONS])
        through_membrane = float(self.history["ions_moved"][-1][-1] @ valence)
        from_electrode = float(self.compartments.electrode_total.sum(axis=0) @ valence)
        change = self._voltages() - self._initial_voltages
        return through_membrane, from_electrode, float(self.compartments.capacitance @ change) / ELEMENTARY_CHARGE

    def session_config(self) -> dict:
        """Return the config as given, with this session's actions in its protocol and the seed it ran with."""
        given = {**self.config._given}
        given["run"] = {**given.get("run", {}), "seed": self.run_seed}
        return given


KIND_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink",
                "tab:olive", "tab:cyan")


def membrane_figure(model: MembranePatch) -> Figure:
    """Channels and pumps at their positions on the membrane (unrolled into a square), by kind and state.

    Filled: open; hollow: closed; grey cross: blocked. Agent-tracked kinds show each channel's own
    state; population and mean-field kinds track only how many are open, so that many of the drawn
    channels are shown open, chosen afresh each time.
    """
    figure = Figure(figsize=(6.0, 5.4))  # fixed margins: a constrained layout would double the drawing time
    ax = figure.add_axes((0.14, 0.2, 0.72, 0.72))
    side_um = np.sqrt(model.area) * 1e6
    shown = total = 0
    colours = iter(KIND_COLOURS * 4)
    for population in model.populations:
        xy, is_open, blocked = _channels_drawn(model, population)
        label = f"{population.kind} ({population.tracking}): {population.open_count:,.0f} of {population.count:,} open"
        _draw_states(ax, xy, is_open, blocked, next(colours), label)
        shown, total = shown + len(xy), total + population.count
    for synapses in model.synapse_populations:
        xy, is_open = _receptors_drawn(model, synapses, side_um)
        label = (f"{synapses.name}: {synapses.kind} receptors ({synapses.tracking}), "
                 f"{synapses.open_count:,.0f} of {synapses.count * synapses.receptors:,} open")
        _draw_states(ax, xy, is_open, np.zeros(len(xy), bool), next(colours), label)
        shown, total = shown + len(xy), total + synapses.count * synapses.receptors
    for population in model.pump_populations:
        n = min(population.count, DRAWN_PER_KIND)
        xy = np.random.default_rng([model.run_seed, 4, population.index]).uniform(0.0, side_um, (n, 2))
        blocked = np.arange(n) < round(n * model.blocked_fraction()[model.kind_names.index(population.kind)])
        active = int(model.pumps.active[population.index])
        ax.scatter(*xy[~blocked].T, s=5, marker="s", color="0.25", zorder=0,
                   label=f"{population.kind}: {active:,} of {population.count:,} pumps active")
        ax.scatter(*xy[blocked].T, s=5, marker="x", color="0.6", zorder=0)
        shown, total = shown + n, total + population.count
    ax.set(xlim=(0, side_um), ylim=(0, side_um), aspect="equal", xlabel="position (µm)", ylabel="position (µm)",
           title=f"{shown:,} of {total:,} channels and pumps drawn")
    figure.legend(loc="lower center", ncols=2, fontsize=7, frameon=False)
    return figure


def _draw_states(ax, xy: np.ndarray, is_open: np.ndarray, blocked: np.ndarray, colour: str, label: str) -> None:
    """Open channels filled, closed hollow, blocked as grey crosses."""
    ax.scatter(*xy[is_open & ~blocked].T, s=14, color=colour, label=label)
    ax.scatter(*xy[~is_open & ~blocked].T, s=14, facecolors="none", edgecolors=colour, linewidths=0.6)
    ax.scatter(*xy[blocked].T, s=12, marker="x", color="0.6", linewidths=0.6)


def _channels_drawn(model: MembranePatch, population) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions, open and blocked flags of the channels of a kind drawn (at most `DRAWN_PER_KIND`).

    Agent tracking: the channels on the membrane, each with its own state. Population and mean
    field: that many channels, the open and blocked ones among them picked at random.
    """
    if population.tracking == "agent":
        slots = population.present[:DRAWN_PER_KIND]
        conducting = model.kinds.conducting[population.index, : len(population.scheme.states)]
        return (population.positions_um[slots], conducting[population.states[slots]].astype(bool),
                population.blocked[slots].astype(bool))
    n, present = min(population.count, DRAWN_PER_KIND), max(population.count, 1)
    blocked, is_open = _random_flags(n, model.kinds.blocked[population.index] / present), np.zeros(n, bool)
    free = np.flatnonzero(~blocked)
    is_open[np.random.default_rng().permutation(free)[: round(n * population.open_count / present)]] = True
    return population.positions_um[:n], is_open, blocked


def _receptors_drawn(model: MembranePatch, synapses, side_um: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions and open flags of a synapse entry's receptors: a disc of them at each synapse.

    Each synapse's open count is its own (its kernel row); which of its receptors are drawn open is
    picked at random.
    """
    rng = np.random.default_rng([model.run_seed, 5, synapses.index])
    centres = rng.uniform(0.1 * side_um, 0.9 * side_um, (synapses.count, 2))
    per_synapse = min(synapses.receptors, max(1, DRAWN_PER_KIND // synapses.count))
    offsets = rng.normal(0.0, 0.015 * side_um, (per_synapse, 2))
    xy = (centres[:, None, :] + offsets[None, :, :]).reshape(-1, 2)
    open_share = synapses.open_at() / synapses.receptors
    is_open = np.concatenate([_random_flags(per_synapse, share) for share in open_share])
    return xy, is_open


def _random_flags(n: int, share: float) -> np.ndarray:
    """N flags, round(n * share) of them set, at random."""
    flags = np.zeros(n, bool)
    flags[np.random.default_rng().permutation(n)[: round(n * share)]] = True
    return flags


def trace_figure(model: LivePatch) -> Figure:
    """Membrane potential against time, with each ion's Nernst potential from the concentrations of each moment."""
    trace = model.trace()
    seconds = trace["time"][-1] > 10.0  # long runs in s, short ones in ms
    t, t_unit = (trace["time"], "s") if seconds else (trace["time"] * 1e3, "ms")
    figure = Figure(figsize=(6.4, 4.4))
    ax = figure.add_axes((0.12, 0.12, 0.6, 0.8))
    for i, ion in enumerate(IONS):
        e_mV = trace["reversal"][:, i] * 1e3
        if np.all(np.isfinite(e_mV)):
            ax.plot(t, e_mV, "--", lw=1, label=f"E$_{{{ion}}}$ = {e_mV[-1]:.1f} mV")
    ax.plot(t, trace["membrane_potential"] * 1e3, color="k", lw=1.5,
            label=f"V = {trace['membrane_potential'][-1] * 1e3:.1f} mV")
    ax.set(xlabel=f"time ({t_unit})", ylabel="membrane potential (mV)", title="Membrane potential")
    figure.legend(loc="upper right", fontsize=8, frameon=False)
    return figure


def cable_figure(model: LivePatch) -> Figure:
    """Draw a cable's membrane potential along it at the last recording (nodes of Ranvier marked)."""
    figure = Figure(figsize=(6.4, 3.2))
    ax = figure.add_axes((0.12, 0.18, 0.84, 0.7))
    position_mm = model.geometry.position * 1e3
    profile_mV = (model.profile if model.profile is not None else model._voltages()) * 1e3
    ax.plot(position_mm, profile_mV, color="k", lw=1.2)
    nodes = model.geometry.node.astype(bool)
    if not nodes.all():
        ax.plot(position_mm[nodes], profile_mV[nodes], "o", ms=3, color="tab:red", label="nodes of Ranvier")
        ax.legend(loc="upper right", fontsize=8, frameon=False)
    ax.set(xlabel="position along the axon (mm)", ylabel="membrane potential (mV)", ylim=(-100, 60),  # HH, LR1 range
           title=f"Along the axon at t = {model.simulated_time * 1e3:.2f} ms")
    return figure
