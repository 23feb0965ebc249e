"""Everything a run records, declared once.

Each record has a name, dimensions, dtype, unit, meaning, and how it is computed from the model.

Ion counts are the whole cell's (summed over its compartments), as a whole-cell recording sees
them. A cell of one compartment records `membrane_potential[time]` (the layout it always had); a
cable (`declared(cable=True)`) records `membrane_potential[time, compartment]`, with the
compartments' `position` as a coordinate, the ions of each compartment (`ions_in_compartment`)
and the compartment of each spike (`spike_compartment`: every compartment has a spike detector).

A recorded series is computed from `Rows`: the raw rows the kernel wrote (`record_row`: the state
at each recording time), the raw row before them, their times and the model. The t = 0 row and
every later row go through the same declaration, in memory and in the run file alike, so adding
a recorded quantity means adding one entry here (and, if it needs state the raw rows lack, one
line to `kernels.loop.record_row` and `kernels.state.Records`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Rows:
    """What a series is computed from.

    The raw kernel rows (a `Records`, one row per recording), the raw row recorded before them
    (the first row itself at t = 0), their times (s), the global step each row ends, and the
    model (`MembranePatch`) for its constants and current settings.
    """

    raw: Any
    previous: Any
    time: np.ndarray
    steps: np.ndarray
    model: Any


@dataclass(frozen=True)
class Variable:
    """One recorded quantity: its dimensions, dtype, unit and meaning, and how it is computed.

    `compute` takes `Rows` for a series or the model for a constant.
    """

    dims: tuple[str, ...]
    dtype: str
    units: str
    description: str
    compute: Callable[[Any], np.ndarray] | None = None  # from Rows (series) or the model (constants)


@dataclass(frozen=True)
class Layout:
    """The declarations of one kind of run file: a single compartment's, or a cable's."""

    coordinates: dict[str, Variable]
    series: dict[str, Variable]
    events: dict[str, Variable]
    constants: dict[str, Variable]

    @property
    def names(self) -> tuple[str, ...]:
        """Every declared name."""
        return (*self.coordinates, *self.series, *self.events, *self.constants)


def _by_kind(rows: Rows, channel_columns: np.ndarray | None, pump_columns: np.ndarray | None) -> np.ndarray:
    """Columns over the `kind` dimension (channel kinds, synapse entries, pump kinds), zero where a kind has none.

    `channel_columns` are per kernel row (channel kinds, then each synapse's receptors); a synapse
    entry's column is the sum over its synapses.
    """
    n_rows, model = len(rows.time), rows.model
    if channel_columns is None:
        channel_columns = np.zeros((n_rows, len(model.kinds.mode)))
    channels = channel_columns @ model.channel_rows  # a cable's kind has one row per compartment
    receptors = model.open_receptors(channel_columns)
    pumps = pump_columns if pump_columns is not None else np.zeros((n_rows, model.pump_kind_count))
    return np.hstack([channels, receptors, pumps])


def _cell(counts: np.ndarray) -> np.ndarray:
    """Sum counts per (row, compartment, ion) over the cell's compartments."""
    return counts.sum(axis=1)


def _ions_moved(rows: Rows) -> np.ndarray:
    """Net ions into the cell: through channels, and each pump cycle's stoichiometry."""
    raw = rows.raw
    return _cell(raw.influx - raw.efflux) + raw.pump_cycles @ rows.model.pump_stoichiometry  # per kernel row


def _electrode_current(rows: Rows) -> np.ndarray:
    """Mean electrode current (A, into the cell) over each recording interval (0 at t = 0)."""
    model = rows.model
    charge = _cell(np.concatenate([rows.previous.electrode, rows.raw.electrode])) @ model.valence
    charge = charge * model.elementary_charge
    return np.diff(charge) / model.record_every


def _command_potential(rows: Rows) -> np.ndarray:
    """Return the voltage clamp command of the step that ends at each row (of the first step at t = 0)."""
    model = rows.model
    step = np.maximum(rows.steps - 1, 0)
    return model.command_at(model.dt * (step + 0.5))


def _concentration_outside(rows: Rows) -> np.ndarray:
    model = rows.model
    if model.volume_outside > 0:
        return _cell(rows.raw.ions_outside) / (model.avogadro * model.volume_outside)
    return np.tile(model.bath_concentration, (len(rows.time), 1))  # protocol steps fall between segments


#: Time series, one row per recording (time 0 included).
SERIES = {
    "membrane_potential": Variable(("time",), "f8", "V", "membrane potential, inside minus outside",
                                   lambda rows: rows.raw.membrane_potential[:, rows.model.electrode_compartment]),
    "ions_inside": Variable(("time", "ion"), "i8", "count", "ions in the cell, free and buffered",
                            lambda rows: _cell(rows.raw.ions_inside)),
    "ions_outside": Variable(("time", "ion"), "i8", "count",
                             "ions outside; for a clamped bath, the net number the bath received",
                             lambda rows: _cell(rows.raw.ions_outside)),
    "ions_moved": Variable(("time", "ion"), "i8", "count",
                           "cumulative net ions that entered the cell through channels and pumps", _ions_moved),
    "efflux": Variable(("time", "ion"), "i8", "count", "cumulative ions that left the cell through channels",
                       lambda rows: _cell(rows.raw.efflux)),
    "influx": Variable(("time", "ion"), "i8", "count", "cumulative ions that entered the cell through channels",
                       lambda rows: _cell(rows.raw.influx)),
    "open_channels": Variable(("time", "kind"), "f8", "count",
                              "open, unblocked channels per kind, and open receptors per synapse entry, summed over "
                              "its synapses (fractional in mean_field tracking)",
                              lambda rows: _by_kind(rows, rows.raw.open_channels, None)),
    "on_membrane": Variable(("time", "kind"), "i8", "count",
                            "channels, receptors or pumps of each kind on the membrane (open and close change it)",
                            lambda rows: np.tile(rows.model.counts_by_kind(), (len(rows.time), 1))),
    "releases": Variable(("time", "synapse"), "i8", "count",
                         "cumulative vesicles released, per synapse entry (summed over its synapses); a release "
                         "counts from the first recording after it",
                         lambda rows: rows.model.releases_before(rows.steps)),
    "ions_electrode": Variable(("time", "ion"), "i8", "count",
                               "cumulative net ions delivered into the cell by the electrode",
                               lambda rows: _cell(rows.raw.electrode)),
    "electrode_current": Variable(("time",), "f8", "A",
                                  "electrode current into the cell (current or voltage clamp), "
                                  "mean over the preceding recording interval", _electrode_current),
    "command_potential": Variable(("time",), "f8", "V", "voltage clamp command; NaN when not clamped",
                                  _command_potential),
    "pump_cycles": Variable(("time", "kind"), "i8", "count",
                            "cumulative net completed pump cycles per kind (forward minus reverse: an exchanger's "
                            "reverse cycles count down)",
                            lambda rows: _by_kind(rows, None, rows.raw.pump_cycles @ rows.model.pump_rows)),
    "blocked_fraction": Variable(("time", "kind"), "f8", "1", "share of each kind's channels or pumps blocked",
                                 lambda rows: np.tile(rows.model.blocked_fraction(), (len(rows.time), 1))),
    "concentration_inside": Variable(("time", "ion"), "f8", "mol/m^3",
                                     "free inside concentrations (mM): the free share of the ions in the cell "
                                     "(free_fraction) over the cell volume",
                                     lambda rows: _cell(rows.raw.ions_inside) * rows.model.membrane.free_fraction
                                     / (rows.model.avogadro * rows.model.volume_inside)),
    "concentration_outside": Variable(("time", "ion"), "f8", "mol/m^3", "outside concentrations (mM)",
                                      _concentration_outside),
}

#: Events, one row per event.
EVENTS = {
    "spike_time": Variable(("spike",), "f8", "s", "upward crossings of 0 mV (re-armed below -30 mV)"),
}

#: Constants of the run, written once; computed from the model.
CONSTANTS = {
    "membrane_capacitance": Variable((), "f8", "F", "membrane capacitance C", lambda m: m.capacitance),
    "membrane_area": Variable((), "f8", "m^2", "membrane area", lambda m: m.area),
    "volume_inside": Variable((), "f8", "m^3", "cell volume", lambda m: m.volume_inside),
    "volume_outside": Variable((), "f8", "m^3", "extracellular volume; 0 for a clamped bath",
                               lambda m: m.volume_outside),
    "temperature": Variable((), "f8", "K", "temperature", lambda m: m.temperature),
    "impermeant_anions": Variable((), "i8", "count", "impermeant anions A in the cell",
                                  lambda m: m.impermeant_count),
    "impermeant_valence": Variable((), "i8", "1", "valence of A", lambda m: m.config.inside.impermeant_valence),
    "valence": Variable(("ion",), "i8", "1", "valence of each ion", lambda m: m.valence),
    "free_fraction": Variable(("ion",), "f8", "1",
                              "free share of each ion in the cell, 1 / (1 + inside.ca_binding_ratio) for Ca2+, "
                              "1 for the others", lambda m: m.membrane.free_fraction),
    "bath_concentration": Variable(("ion",), "f8", "mol/m^3", "outside concentrations at t = 0",
                                   lambda m: m.initial_bath_concentration),
    "agent_count": Variable(("kind",), "i8", "count",
                            "channels, receptors or pumps of each kind at t = 0 (see on_membrane)",
                            lambda m: m.initial_counts),
}

#: Coordinates: the dimension scales of the file.
COORDINATES = {
    "time": Variable(("time",), "f8", "s", "time since the start of the run"),
    "spike": Variable(("spike",), "i8", "", "spike number"),
    "ion": Variable(("ion",), "str", "", "ion species"),
    "kind": Variable(("kind",), "str", "", "channel kinds, synapse entries (by name), then pump kinds, each in "
                                           "alphabetical order"),
    "synapse": Variable(("synapse",), "str", "", "the [[synapses]] entries, by name in alphabetical order"),
}

#: What a cable records besides (or instead of) the declarations above.
CABLE_SERIES = {
    "membrane_potential": Variable(("time", "compartment"), "f8", "V",
                                   "membrane potential of each compartment, inside minus outside",
                                   lambda rows: rows.raw.membrane_potential),
    "ions_in_compartment": Variable(("time", "compartment", "ion"), "i8", "count", "ions in each compartment",
                                    lambda rows: rows.raw.ions_inside),
}
CABLE_EVENTS = {
    "spike_compartment": Variable(("spike",), "i8", "1", "the compartment of each spike (index along the cable)"),
}
CABLE_CONSTANTS = {
    "position": Variable(("compartment",), "f8", "m", "centre of each compartment, from the start of the cable",
                         lambda m: m.geometry.position),
    "compartment_length": Variable(("compartment",), "f8", "m", "length of each compartment",
                                   lambda m: m.geometry.length),
    "node": Variable(("compartment",), "i8", "1", "1 for a node of Ranvier (every compartment without myelin)",
                     lambda m: m.geometry.node),
    "electrode_compartment": Variable((), "i8", "1", "the compartment of the electrode",
                                      lambda m: m.electrode_compartment),
}
CABLE_COORDINATES = {
    "compartment": Variable(("compartment",), "i8", "", "compartment index along the cable"),
}

STATUSES = ("running", "complete", "interrupted", "failed")


def declared(cable: bool) -> Layout:
    """Return the declarations of a single-compartment run file, or of a cable's."""
    if not cable:
        return Layout(COORDINATES, SERIES, EVENTS, CONSTANTS)
    return Layout({**COORDINATES, **CABLE_COORDINATES}, {**SERIES, **CABLE_SERIES}, {**EVENTS, **CABLE_EVENTS},
                  {**CONSTANTS, **CABLE_CONSTANTS})


def series_of(rows: Rows) -> dict[str, np.ndarray]:
    """Every declared series, computed for these rows, in its declared dtype."""
    series = declared(rows.model.geometry is not None).series
    return {name: np.asarray(var.compute(rows), dtype=var.dtype) for name, var in series.items()}


def constants_of(model: Any) -> dict[str, np.ndarray]:
    """Every declared constant of the model's run."""
    constants = declared(model.geometry is not None).constants
    return {name: np.asarray(var.compute(model), dtype=var.dtype) for name, var in constants.items()}
