"""Open a run file as an xarray.Dataset (named dimensions, a `units` attribute per variable).

Files are read in SWMR mode without file locks, so a run that is still being written, or
whose writer was killed, is read up to its last flush. Closed files also open with
`xarray.open_dataset(path, engine="h5netcdf")`.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import xarray as xr

from channelsim.errors import RunFileError
from channelsim.recording.layout import CONSTANTS, COORDINATES, EVENTS, SERIES


def stored_run(path: str | Path, with_status: bool = False) -> tuple:
    """Return the resolved config (TOML text) and seed stored in a run file, to rerun it (and its status)."""
    path = Path(path)
    try:
        with _open(path) as f:
            stored = str(f.attrs["config"]), int(f.attrs["seed"])
            return (*stored, str(f.attrs["status"])) if with_status else stored
    except (OSError, KeyError) as error:
        raise RunFileError(f"{path}: holds no channelsim config to rerun ({error}); "
                           "give a run file written by `channelsim run`") from None


def open_run(path: str | Path) -> xr.Dataset:
    """Load a run file into memory and return it as an `xarray.Dataset`.

    Root attributes (`config`, `seed`, `status`, ...) become `ds.attrs`. A run that is still
    going or was killed is read up to its last flush; check `ds.attrs["status"]`.
    """
    path = Path(path)
    if not path.is_file():
        raise RunFileError(f"{path}: no such run file; check the path (runs go to data/runs/ by default)")
    try:
        with _open(path) as f:
            missing = [name for name in ("config", "status") if name not in f.attrs]
            missing += [name for name in (*SERIES, *CONSTANTS, *EVENTS) if name not in f]
            if missing:
                raise RunFileError(f"{path}: not a channelsim run file (missing {', '.join(missing)}); "
                                   "give a file written by `channelsim run`")
            return _dataset(f)
    except OSError as error:
        raise RunFileError(f"{path}: not a readable HDF5 file ({error}); "
                           "give a file written by `channelsim run`") from None
    except (KeyError, ValueError, TypeError) as error:  # damaged beyond what the checks see
        raise RunFileError(f"{path}: cannot be read as a run ({error}); rerun it with channelsim run") from None


def read_checkpoint(path: str | Path) -> dict:
    """Read what `--resume` needs.

    The config, seed, root attributes, the saved state and the rows and spikes recorded up to it
    (rows a killed writer appended after it are dropped).
    """
    path = Path(path)
    if not path.is_file():
        raise RunFileError(f"{path}: no such run file; check the path")
    try:
        with _open(path) as f:
            active = int(f["checkpoint/active"][0])
            if active < 0:
                raise RunFileError(f"{path}: was stopped before its first row; rerun it instead")
            checkpoint = f[f"checkpoint/{active}"]
            rows, spikes = int(checkpoint["rows"][0]), int(checkpoint["spikes"][0])
            if rows < 1:
                raise RunFileError(f"{path}: was stopped before its first row; rerun it instead")
            return {
                "config": str(f.attrs["config"]), "seed": int(f.attrs["seed"]), "status": str(f.attrs["status"]),
                "attributes": {k: f.attrs[k] for k in ("config", "seed", "channelsim_version", "command",
                                                       "experiment", "created")},
                "state": {name: checkpoint[name][()] for name in checkpoint if name not in ("rows", "spikes")},
                "time": f["time"][:rows],
                "rows": {name: f[name][:rows] for name in SERIES},
                "spike_time": f["spike_time"][:spikes],
            }
    except (OSError, KeyError) as error:
        raise RunFileError(f"{path}: holds no checkpoint to resume from ({error}); "
                           "rerun it with channelsim run") from None


def _open(path: Path) -> h5py.File:
    """Open for reading; a file still (or last) open for writing is read in SWMR mode.

    SWMR is only tried then: on a damaged file its reader retries failed reads for a long time.
    """
    try:
        return h5py.File(path, "r", locking=False)
    except OSError as error:
        if "already open for write" not in str(error):
            raise
    return h5py.File(path, "r", swmr=True, locking=False)


def _dataset(f: h5py.File) -> xr.Dataset:
    """Read every declared variable; time rows are cut to the shortest series.

    A writer killed mid-append may have extended some series and not others.
    """
    rows = min(f[name].shape[0] for name in ("time", *SERIES))
    spikes = min(f["spike"].shape[0], f["spike_time"].shape[0])
    length = {"time": rows, "spike": spikes}

    def read(name: str, dims: tuple[str, ...]) -> np.ndarray:
        data = f[name][: length[dims[0]]] if dims and dims[0] in length else f[name][()]
        return data.astype(str) if data.dtype.kind in "OS" else data

    declared = {**COORDINATES, **SERIES, **EVENTS, **CONSTANTS}
    attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in attrs.items()}
    return to_dataset({name: read(name, var.dims) for name, var in declared.items()}, attrs)


def to_dataset(columns: dict[str, np.ndarray], attrs: dict) -> xr.Dataset:
    """Build the Dataset of a run from its arrays by declared name.

    This is what `open_run` returns for a file and `channelsim.simulate` for a run in memory, so
    the two cannot differ.
    """
    def variable(name: str, var) -> tuple:
        described = {"units": var.units, "long_name": var.description} if var.units else {"long_name": var.description}
        return var.dims, columns[name], described

    coords = {name: variable(name, var) for name, var in COORDINATES.items()}
    variables = {name: variable(name, var) for name, var in {**SERIES, **EVENTS, **CONSTANTS}.items()}
    return xr.Dataset(variables, coords=coords, attrs=attrs)
