"""Names, dimensions and units of everything in a run file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variable:
    dims: tuple[str, ...]
    dtype: str
    units: str
    description: str


#: Time series, one row per recording (time 0 included).
SERIES = {
    "membrane_potential": Variable(("time",), "f8", "V", "membrane potential, inside minus outside"),
    "ions_inside": Variable(("time", "ion"), "i8", "count", "ions in the cell"),
    "ions_outside": Variable(("time", "ion"), "i8", "count",
                             "ions outside; for a clamped bath, the net number the bath received"),
    "ions_moved": Variable(("time", "ion"), "i8", "count",
                           "cumulative net ions that entered the cell through channels and pumps"),
    "efflux": Variable(("time", "ion"), "i8", "count", "cumulative ions that left the cell through channels"),
    "influx": Variable(("time", "ion"), "i8", "count", "cumulative ions that entered the cell through channels"),
    "open_channels": Variable(("time", "kind"), "f8", "count",
                              "open, unblocked channels per kind (fractional in mean_field tracking)"),
    "ions_electrode": Variable(("time", "ion"), "i8", "count",
                               "cumulative net ions delivered into the cell by the electrode"),
    "electrode_current": Variable(("time",), "f8", "A",
                                  "electrode current into the cell (current or voltage clamp), "
                                  "mean over the preceding recording interval"),
    "command_potential": Variable(("time",), "f8", "V", "voltage clamp command; NaN when not clamped"),
    "pump_cycles": Variable(("time", "kind"), "i8", "count", "cumulative completed pump cycles per kind"),
    "blocked_fraction": Variable(("time", "kind"), "f8", "1", "share of each kind's channels or pumps blocked"),
    "concentration_inside": Variable(("time", "ion"), "f8", "mol/m^3", "inside concentrations (mM)"),
    "concentration_outside": Variable(("time", "ion"), "f8", "mol/m^3", "outside concentrations (mM)"),
}

#: Events, one row per event.
EVENTS = {
    "spike_time": Variable(("spike",), "f8", "s", "upward crossings of 0 mV (re-armed below -30 mV)"),
}

#: Constants of the run, written once.
CONSTANTS = {
    "membrane_capacitance": Variable((), "f8", "F", "membrane capacitance C"),
    "membrane_area": Variable((), "f8", "m^2", "membrane area"),
    "volume_inside": Variable((), "f8", "m^3", "cell volume"),
    "volume_outside": Variable((), "f8", "m^3", "extracellular volume; 0 for a clamped bath"),
    "temperature": Variable((), "f8", "K", "temperature"),
    "impermeant_anions": Variable((), "i8", "count", "impermeant anions A in the cell"),
    "impermeant_valence": Variable((), "i8", "1", "valence of A"),
    "valence": Variable(("ion",), "i8", "1", "valence of each ion"),
    "bath_concentration": Variable(("ion",), "f8", "mol/m^3", "outside concentrations at t = 0"),
    "agent_count": Variable(("kind",), "i8", "count", "channels or pumps of each kind"),
}

STATUSES = ("running", "complete", "interrupted", "failed")
