"""Open a run file as an xarray.Dataset (named dimensions, a `units` attribute per variable)."""

from __future__ import annotations

from pathlib import Path

import h5py
import xarray as xr

from channelsim.errors import RunFileError
from channelsim.recording.layout import SERIES


def stored_run(path: str | Path) -> tuple[str, int]:
    """The resolved config (TOML text) and seed stored in a run file, to rerun it."""
    path = Path(path)
    try:
        with h5py.File(path, "r", locking=False) as f:
            return str(f.attrs["config"]), int(f.attrs["seed"])
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
        with h5py.File(path, "r", locking=False) as f:
            missing = [name for name in ("config", "status") if name not in f.attrs]
            missing += [name for name in SERIES if name not in f]
    except OSError as error:
        raise RunFileError(f"{path}: not a readable HDF5 file ({error}); "
                           "give a file written by `channelsim run`") from None
    if missing:
        raise RunFileError(f"{path}: not a channelsim run file (missing {', '.join(missing)}); "
                           "give a file written by `channelsim run`")
    try:
        with xr.open_dataset(path, engine="h5netcdf", phony_dims="access",
                             decode_times=False, lock=False) as dataset:
            return dataset.load()
    except Exception as error:  # damaged beyond what the checks above see
        raise RunFileError(f"{path}: cannot be read as a run ({error}); "
                           "rerun it with channelsim run") from None
