"""Quantities derived from a run (an `xarray.Dataset` from `open_run`), for notebooks and plots."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import xarray as xr

from channelsim.channels import KINDS
from channelsim.config import parse_config
from channelsim.constants import AVOGADRO, ELEMENTARY_CHARGE, FARADAY, GAS_CONSTANT
from channelsim.physics import chord_conductance_potential, ghk_potential


def concentrations_inside(ds: xr.Dataset) -> xr.DataArray:
    """Inside concentrations (mol/m^3 = mM) over time."""
    c = ds.ions_inside / (AVOGADRO * ds.volume_inside)
    return c.assign_attrs(units="mol/m^3")


def concentrations_outside(ds: xr.Dataset) -> xr.DataArray:
    """Outside concentrations (mol/m^3): the clamped bath, or counts / volume."""
    if float(ds.volume_outside) == 0.0:
        c = ds.bath_concentration.broadcast_like(ds.ions_outside).astype(float)
    else:
        c = ds.ions_outside / (AVOGADRO * ds.volume_outside)
    return c.assign_attrs(units="mol/m^3")


def reversal_potentials(ds: xr.Dataset) -> xr.DataArray:
    """Nernst potential of each ion (V) over time, from the current concentrations."""
    thermal_v = GAS_CONSTANT * float(ds.temperature) / FARADAY
    with np.errstate(divide="ignore", invalid="ignore"):
        e = thermal_v / ds.valence * np.log(concentrations_outside(ds) / concentrations_inside(ds))
    return e.assign_attrs(units="V")


def charge_moved(ds: xr.Dataset) -> xr.DataArray:
    """Net charge that entered the cell since t = 0 (C): e * sum_i z_i * ions_moved_i."""
    return (ELEMENTARY_CHARGE * (ds.ions_moved * ds.valence).sum("ion")).assign_attrs(units="C")


def summary(path: str | Path) -> str:
    """A short text description of a run file."""
    from channelsim.recording.reader import open_run

    ds = open_run(path)
    v = ds.membrane_potential
    moved = ds.ions_moved.isel(time=-1)
    lines = [
        f"{path}: experiment {ds.attrs['experiment']!r}, status {ds.attrs['status']}, seed {ds.attrs['seed']}",
        f"  channelsim {ds.attrs['channelsim_version']}, created {ds.attrs['created']}",
        f"  recorded {ds.sizes['time']} rows to t = {float(ds.time[-1]):.6g} s",
        f"  membrane: C = {float(ds.membrane_capacitance) * 1e12:.4g} pF, "
        f"area = {float(ds.membrane_area) * 1e12:.4g} um^2, volume = {float(ds.volume_inside) * 1e15:.4g} pL",
        f"  V: {float(v[0]) * 1e3:.3f} mV -> {float(v[-1]) * 1e3:.3f} mV",
        "  channels and pumps: " + ", ".join(f"{k} x {int(n)}" for k, n in zip(ds.kind.values, ds.agent_count.values)),
        "  net ions entered: " + ", ".join(f"{ion} {int(n):+d}" for ion, n in zip(ds.ion.values, moved.values)),
    ]
    return "\n".join(lines)


def predicted_potential(ds: xr.Dataset, index: int = -1) -> tuple[float, str]:
    """Closed-form steady potential at recording `index` from the open channels then.

    GHK voltage equation when every channel is GHK-permeant and ions are monovalent;
    otherwise the chord-conductance formula with Nernst potentials (ohmic channels).
    """
    config = parse_config(tomllib.loads(ds.attrs["config"]))
    row = ds.isel(time=index)
    inside = dict(zip(ds.ion.values, concentrations_inside(row).values))
    outside = dict(zip(ds.ion.values, concentrations_outside(row).values))
    reversal = dict(zip(ds.ion.values, reversal_potentials(row).values))
    open_count = dict(zip(ds.kind.values, row.open_channels.values))
    weights: dict[str, float] = {}
    ghk = all(entry.permeation == "ghk" for entry in config.channels)
    for entry in config.channels:
        ion = KINDS[entry.kind].ion
        unitary = entry.permeability if ghk else entry.conductance
        weights[ion] = weights.get(ion, 0.0) + open_count[entry.kind] * unitary
    weights = {ion: w for ion, w in weights.items() if w > 0}
    if not weights:
        return float("nan"), "no open channels"
    if ghk and all(ion in ("K", "Na", "Cl") for ion in weights):
        return ghk_potential(weights, inside, outside, float(ds.temperature)), "GHK"
    return chord_conductance_potential(weights, reversal), "chord conductance"


def ionic_currents(ds: xr.Dataset) -> xr.DataArray:
    """Membrane current carried by each ion through channels and pumps (A, outward positive),
    mean over each recording interval: -z e (change of the net ions entered) / interval.
    The first row is 0."""
    entered = ds.ions_moved.astype(float)
    change = entered.diff("time", label="upper") / ds.time.diff("time", label="upper")
    current = (-ELEMENTARY_CHARGE * ds.valence * change).reindex(time=ds.time, fill_value=0.0)
    return current.assign_attrs(units="A")


def donnan_prediction(ds: xr.Dataset) -> tuple[float, dict[str, float]]:
    """The Gibbs-Donnan equilibrium this cell tends to once its pumps are stopped: the ions with
    channels equilibrate with the bath, the others and the impermeant anions stay (V, mM)."""
    from channelsim.physics import donnan_equilibrium

    config = parse_config(tomllib.loads(ds.attrs["config"]))
    permeant = {KINDS[entry.kind].ion for entry in config.channels if entry.count > 0}
    last = ds.isel(time=-1)
    outside = dict(zip(ds.ion.values, last.concentration_outside.values))
    inside = dict(zip(ds.ion.values, last.concentration_inside.values))
    impermeant = float(ds.impermeant_valence * ds.impermeant_anions) / (AVOGADRO * float(ds.volume_inside))
    return donnan_equilibrium({ion: outside[ion] for ion in permeant},
                              {ion: c for ion, c in inside.items() if ion not in permeant},
                              impermeant, float(ds.temperature))
