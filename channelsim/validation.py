"""`channelsim validate`: a quick physics self-check against closed forms (well under a minute).

Each check runs a small simulation and compares one number with its closed form; the tolerance
is stated per check (statistical errors for stochastic runs, one ion of rounding otherwise).
The full validation lives in the test suite (tests/validation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from channelsim.config import parse_config
from channelsim.constants import AVOGADRO, ELEMENTARY_CHARGE, IONS
from channelsim.engine import run_in_memory
from channelsim.model import build
from channelsim.physics import ghk_potential, ions_for_voltage_change, nernst_potential

_CELL = {"shape": "sphere", "radius": "5 um", "temperature": "37 degC"}
_INSIDE = {"K": "140 mM", "Na": "10 mM", "Cl": "10 mM"}
_OUTSIDE = {"K": "5 mM", "Na": "145 mM", "Cl": "110 mM"}


@dataclass
class Check:
    """One self-check: a simulated number against its closed form, with the tolerance and unit it is judged in."""

    name: str
    expected: float
    simulated: float
    tolerance: float
    unit: str

    @property
    def passed(self) -> bool:
        """Whether the simulated value lies within `tolerance` of the expected one."""
        return abs(self.simulated - self.expected) <= self.tolerance


def _run(channels: list[dict], duration: str = "40 ms", pumps: list[dict] = ()) -> tuple[dict, object]:
    """Run briefly in memory; return the recorded arrays by name, and the model."""
    config = parse_config({"experiment": {"name": "validate"},
                           "run": {"duration": duration, "dt": "10 us", "record_every": "0.1 ms"},
                           "cell": _CELL, "inside": _INSIDE, "outside": _OUTSIDE,
                           "channels": channels, "pumps": list(pumps)})
    model = build(config)
    ds = run_in_memory(model)
    return {name: ds[name].values for name in ds.variables}, model


def _nernst(kind: str, ion: str, tracking: str) -> Check:
    out, patch = _run([{"kind": kind, "count": 2000, "tracking": tracking}])
    i = IONS.index(ion)
    c_in = out["ions_inside"][-1, i] / (AVOGADRO * patch.volume_inside)
    c_out = patch.compartments.bath[i]
    expected = nernst_potential(int(patch.membrane.valence[i]), c_in, c_out, patch.config.cell.temperature)
    tail = out["membrane_potential"][200:]
    # 5 standard errors of the mean of 20 batch means (samples are correlated over ~1 ms)
    batches = np.array([b.mean() for b in np.array_split(tail, 20)])
    return Check(f"Nernst E_{ion} ({tracking})", expected * 1e3, tail.mean() * 1e3,
                 5e3 * batches.std(ddof=1) / math.sqrt(20) + 1e-6, "mV")


def _ghk() -> Check:
    channels = [{"kind": k, "count": n, "tracking": "mean_field"}
                for k, n in (("k_leak", 2000), ("na_leak", 80), ("cl_leak", 900))]
    out, patch = _run(channels)
    c_in = dict(zip(IONS, out["ions_inside"][-1] / (AVOGADRO * patch.volume_inside), strict=True))
    c_out = dict(zip(IONS, patch.compartments.bath, strict=True))
    permeability = {ion: e.count * e.permeability
                    for ion, e in zip(("K", "Na", "Cl"), patch.config.channels, strict=True)}
    expected = ghk_potential(permeability, c_in, c_out, patch.config.cell.temperature)
    return Check("GHK, three leaks (mean field)", expected * 1e3, out["membrane_potential"][-1] * 1e3,
                 3e3 * ELEMENTARY_CHARGE / patch.capacitance, "mV")


def _charge() -> Check:
    out, patch = _run([{"kind": "k_leak", "count": 2000, "tracking": "agent"}])
    dv = out["membrane_potential"][-1] - out["membrane_potential"][0]
    return Check("K+ ions moved = C |dV| / e", ions_for_voltage_change(patch.capacitance, dv),
                 -float(out["ions_moved"][-1, 0]), 0.5, "ions")


def _stoichiometry() -> Check:
    out, _ = _run([], duration="10 ms", pumps=[{"kind": "na_k_atpase", "count": 100_000}])
    cycles = float(out["pump_cycles"][-1, 0])
    na_out = float(out["ions_inside"][0, 1] - out["ions_inside"][-1, 1])
    return Check("pump: Na+ out per cycle", 3.0, na_out / cycles, 0.0, "ions")


CHECKS: list[Callable[[], Check]] = [
    lambda: _nernst("k_leak", "K", "agent"),
    lambda: _nernst("na_leak", "Na", "population"),
    lambda: _nernst("cl_leak", "Cl", "agent"),
    _ghk,
    _charge,
    _stoichiometry,
]


def validate() -> tuple[str, bool]:
    """Run every check; return a table and whether all passed."""
    checks = [check() for check in CHECKS]
    lines = [f"{'check':<34}{'expected':>14}{'simulated':>14}{'tolerance':>12}  unit  result"]
    for c in checks:
        lines.append(f"{c.name:<34}{c.expected:>14.6g}{c.simulated:>14.6g}{c.tolerance:>12.3g}  {c.unit:<5} "
                     f"{'PASS' if c.passed else 'FAIL'}")
    return "\n".join(lines), all(c.passed for c in checks)
