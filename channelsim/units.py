"""Quantities written as strings with units ("10 mM", "37 degC") parsed into SI floats.

Each physical dimension has a table of accepted units (factor to SI, plus an offset for
temperature). `format_quantity` writes a value back in the SI unit of its dimension so the
resolved config re-parses to the identical float.
"""

from __future__ import annotations

import math
import re

# dimension -> (SI symbol written back, {unit: factor to SI})
_UNITS: dict[str, tuple[str, dict[str, float]]] = {
    "time": ("s", {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9,
                   "min": 60.0, "h": 3600.0}),
    "length": ("m", {"m": 1.0, "cm": 1e-2, "mm": 1e-3, "um": 1e-6, "µm": 1e-6, "nm": 1e-9}),
    "area": ("m^2", {"m^2": 1.0, "cm^2": 1e-4, "mm^2": 1e-6, "um^2": 1e-12, "µm^2": 1e-12}),
    # mol/m^3 is numerically mM: the resolved config writes "mM"
    "concentration": ("mM", {"M": 1e3, "mM": 1.0, "uM": 1e-3, "µM": 1e-3, "nM": 1e-6,
                             "mol/m^3": 1.0}),
    "volume": ("m^3", {"m^3": 1.0, "L": 1e-3, "mL": 1e-6, "uL": 1e-9, "nL": 1e-12,
                       "pL": 1e-15, "fL": 1e-18, "um^3": 1e-18, "µm^3": 1e-18}),
    "voltage": ("V", {"V": 1.0, "mV": 1e-3, "uV": 1e-6, "µV": 1e-6}),
    "specific_capacitance": ("F/m^2", {"F/m^2": 1.0, "uF/cm^2": 1e-2, "µF/cm^2": 1e-2}),
    "conductance": ("S", {"S": 1.0, "nS": 1e-9, "pS": 1e-12}),
    "permeability": ("m^3/s", {"m^3/s": 1.0, "cm^3/s": 1e-6, "um^3/s": 1e-18}),
    "current": ("A", {"A": 1.0, "mA": 1e-3, "uA": 1e-6, "µA": 1e-6, "nA": 1e-9, "pA": 1e-12}),
    "current_density": ("A/m^2", {"A/m^2": 1.0, "mA/cm^2": 10.0, "uA/cm^2": 1e-2, "µA/cm^2": 1e-2,
                                  "nA/cm^2": 1e-5, "pA/um^2": 1.0}),
    "rate": ("/s", {"/s": 1.0, "1/s": 1.0, "Hz": 1.0, "/min": 1.0 / 60.0}),
    "density": ("/m^2", {"/m^2": 1.0, "/um^2": 1e12, "/µm^2": 1e12, "/cm^2": 1e4}),
    "temperature": ("K", {"K": 1.0, "degC": 1.0}),
    "resistivity": ("ohm m", {"ohm m": 1.0, "ohm cm": 1e-2, "kohm cm": 10.0}),
}
_OFFSET = {"degC": 273.15}
_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S.*?)\s*$")


def units_of(dimension: str) -> list[str]:
    """Return the unit symbols accepted for `dimension`."""
    return list(_UNITS[dimension][1])


def parse_quantity(text: object, dimension: str) -> float:
    """Parse "number unit" into SI; raise ValueError with the accepted units on failure."""
    si_symbol, table = _UNITS[dimension]
    accepted = ", ".join(table)
    if not isinstance(text, str):
        raise ValueError(f"{text!r} has no unit; write it as a string with a unit, "
                         f'e.g. "{text} {si_symbol}" (units: {accepted})')
    match = _QUANTITY.match(text)
    if match is None or match.group(2) not in table:
        raise ValueError(f"{text!r} is not a {dimension.replace('_', ' ')}; "
                         f"write a number and one of the units {accepted}")
    number, unit = float(match.group(1)), match.group(2)
    value = number * table[unit] + _OFFSET.get(unit, 0.0)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is too large for a number (it overflows to infinity); "
                         f"write a finite {dimension.replace('_', ' ')}")
    return value


def format_quantity(value: float, dimension: str) -> str:
    """Write an SI value as a string that `parse_quantity` turns back into the same float."""
    return f"{float(value)!r} {_UNITS[dimension][0]}"


def readable_quantity(value: float, dimension: str, exact: bool = False) -> str:
    """Write `value` (SI) as a string `parse_quantity` accepts, in the unit that reads best.

    The unit that reads best gives a number from 1 to 1000 where one exists, with at most 4
    significant digits: for messages, e.g. 1e-09 s -> "1 ns". With `exact`, the string reads back
    to `value` (to a relative 1e-12), in the SI unit with every digit if no shorter form does: for
    limits and values that a message suggests.
    """
    si_symbol, table = _UNITS[dimension]
    if dimension == "temperature":
        return f"{value:.6g} K" if not exact or float(f"{value:.6g}") == value else format_quantity(value, dimension)
    best, best_score = None, math.inf
    for unit, factor in table.items():
        x = abs(value) / factor
        text = f"{value / factor:.4g} {unit}"
        if not unit.isascii() or (x == 0 and unit != si_symbol):
            continue
        if exact and not math.isclose(parse_quantity(text, dimension), value, rel_tol=1e-12):
            continue
        score = 0.0 if 1 <= x < 1000 else min(abs(math.log10(x)), abs(math.log10(x / 1000))) if x else 0.0
        if score < best_score - 1e-12:
            best, best_score = text, score
    return best if best is not None else format_quantity(value, dimension)
