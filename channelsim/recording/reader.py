"""Open a run file as an xarray.Dataset (named dimensions, a `units` attribute per variable).

Files are read in SWMR mode without file locks, so a run that is still being written, or
whose writer was killed, is read up to its last flush. Closed files also open with
`xarray.open_dataset(path, engine="h5netcdf")`, which reads lazily.

`open_run` loads the whole run into memory (and refuses a file whose data would not fit);
`read_ends` reads only its first and last rows, for summaries of files of any size.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np

from channelsim.errors import RunFileError
from channelsim.recording.layout import declared

if TYPE_CHECKING:  # xarray (with pandas) is imported where a Dataset is built: `channelsim run` never needs it
    import xarray as xr

#: Copies of a run's data that `open_run` holds at once (the arrays read, the Dataset).
_OPEN_COPIES = 2


def stored_run(path: str | Path, with_status: bool = False) -> tuple:
    """Return the resolved config (TOML text) and seed stored in a run file, to rerun it (and its status)."""
    path = Path(path)
    _regular_file(path)
    try:
        with open_hdf5(path) as f:
            config, seed = _text(f.attrs["config"]), _text(f.attrs["seed"])
            status = str(_text(f.attrs.get("status", "")))
    except (OSError, KeyError) as error:
        raise RunFileError(f"{path}: holds no channelsim config to rerun ({_short(error)}); "
                           "give a run file written by `channelsim run`") from None
    if not isinstance(config, str) or isinstance(seed, bool) or not isinstance(seed, int):
        raise RunFileError(f"{path}: its config or seed attribute is damaged; give a run file written by "
                           "`channelsim run`")
    return (config, seed, status) if with_status else (config, seed)


def open_run(path: str | Path) -> xr.Dataset:
    """Load a run file into memory and return it as an `xarray.Dataset`.

    Root attributes (`config`, `seed`, `status`, ...) become `ds.attrs`. A run that is still
    going or was killed is read up to its last flush; check `ds.attrs["status"]`. The whole run
    is read at once: a file whose data would not fit in the memory available is refused (read it
    lazily with `xarray.open_dataset(path, engine="h5netcdf")`, or summarise it with `info`).
    """
    path = Path(path)
    with _opened_run(path) as f:
        from channelsim.resources import available_memory

        needed = _OPEN_COPIES * sum(f[name].size * f[name].dtype.itemsize for name in _layout(f).names)
        available = available_memory()
        if available is not None and needed > available:
            raise RunFileError(f"{path}: its data need {needed / 1e9:.3g} GB of memory, more than the "
                               f"{available / 1e9:.3g} GB available; read parts of it with "
                               f"xarray.open_dataset(path, engine=\"h5netcdf\"), or summarise it with channelsim info")
        return _guarded(path, lambda: _dataset(f))


def read_ends(path: str | Path) -> tuple[xr.Dataset, int, int]:
    """Read what a summary shows, without loading the rest of the run.

    Returns the run's first and last recorded rows (as a Dataset of those times, without spikes),
    its number of rows and its number of spikes.
    """
    path = Path(path)
    with _opened_run(path) as f:
        return _guarded(path, lambda: (_dataset(f, ends=True),
                                       min(f[name].shape[0] for name in ("time", *_layout(f).series)),
                                       min(f["spike"].shape[0], f["spike_time"].shape[0])))


class _opened_run:
    """Context manager: a run file opened for reading, checked to be a channelsim run."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> h5py.File:
        path = self.path
        _regular_file(path)
        try:
            self.file = open_hdf5(path)
        except OSError as error:
            raise RunFileError(f"{path}: not a readable HDF5 file ({_short(error)}); "
                               "give a file written by `channelsim run`") from None
        missing = [name for name in ("config", "status") if name not in self.file.attrs]
        missing += [name for name in _layout(self.file).names if name not in self.file]
        if missing:
            self.file.close()
            raise RunFileError(f"{path}: not a channelsim run file (missing {', '.join(missing)}); "
                               "give a file written by `channelsim run`")
        return self.file

    def __exit__(self, *exc) -> None:
        self.file.close()


def _guarded(path: Path, read):
    """`read()`, with the errors of a file damaged beyond the checks above as RunFileError."""
    try:
        return read()
    except OSError as error:
        raise RunFileError(f"{path}: not a readable HDF5 file ({_short(error)}); "
                           "give a file written by `channelsim run`") from None
    except (KeyError, ValueError, TypeError, IndexError) as error:
        raise RunFileError(f"{path}: cannot be read as a run ({_short(error)}); rerun it with channelsim run") from None


def read_checkpoint(path: str | Path) -> dict:
    """Read what `--resume` needs.

    The config, seed, status, root attributes, the saved state, and how many rows and spikes were
    recorded up to it (rows a killed writer appended after it are dropped). The rows themselves
    stay in the file (`RunWriter` copies them block by block).

    The checkpoint's structure is checked here (its slot, its counts of rows and spikes against
    the recorded series, every array readable); its contents by `MembranePatch.restore`. A damaged
    file raises RunFileError naming the dataset.
    """
    path = Path(path)
    _regular_file(path)
    fix = f"the file is damaged: rerun it (channelsim run --from {path} -o NEW.h5)"
    where = "the file"
    try:
        with open_hdf5(path) as f:
            for name in ("config", "seed", "status"):
                if name not in f.attrs:
                    raise RunFileError(f"{path}: holds no {name} attribute, so it is not a channelsim run file; "
                                       "give a file written by `channelsim run`")
            config, seed, status = _text(f.attrs["config"]), _text(f.attrs["seed"]), status_of(f)
            if not isinstance(config, str):
                raise RunFileError(f"{path}: attribute config: not text; {fix}")
            if isinstance(seed, bool) or not isinstance(seed, int):
                raise RunFileError(f"{path}: attribute seed: {seed!r} is not an integer; {fix}")
            where = "checkpoint/active"
            active = f["checkpoint/active"][()]
            if active.shape != (1,) or active.dtype.kind != "i" or int(active[0]) not in (-1, 0, 1):
                raise RunFileError(f"{path}: checkpoint/active: {active!r} is not 0 or 1; {fix}")
            if int(active[0]) < 0:
                raise RunFileError(f"{path}: was stopped before its first row; rerun it instead "
                                   f"(channelsim run --from {path} -o NEW.h5)")
            slot = f"checkpoint/{int(active[0])}"
            checkpoint = f[slot]
            counts = {}
            for name in ("rows", "spikes"):
                where = f"{slot}/{name}"
                value = checkpoint[name][()]
                if value.shape != (1,) or value.dtype.kind != "i":
                    raise RunFileError(f"{path}: {where}: not one integer; {fix}")
                counts[name] = int(value[0])
            rows, spikes = counts["rows"], counts["spikes"]
            for name in ("time", *_layout(f).series):
                if not 1 <= rows <= f[name].shape[0]:
                    raise RunFileError(f"{path}: {slot}/rows: {rows} rows, but {name} holds {f[name].shape[0]}; "
                                       f"{fix}")
            for name in ("spike", "spike_time"):
                if not 0 <= spikes <= f[name].shape[0]:
                    raise RunFileError(f"{path}: {slot}/spikes: {spikes} spikes, but {name} holds "
                                       f"{f[name].shape[0]}; {fix}")
            state = {}
            for name in checkpoint:
                if name not in ("rows", "spikes"):
                    where = f"{slot}/{name}"
                    state[name] = checkpoint[name][()]
            where = "time"
            last_time = float(f["time"][rows - 1])
            return {
                "config": config, "seed": seed, "status": status, "slot": slot,
                "attributes": {k: _text(f.attrs[k]) for k in ("config", "seed", "channelsim_version", "command",
                                                              "experiment", "created") if k in f.attrs},
                "state": state, "rows": rows, "spikes": spikes, "last_time": last_time,
            }
    except RunFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError, IndexError) as error:
        raise RunFileError(f"{path}: {where}: cannot be read ({_short(error)}); {fix}") from None


def status_of(f: h5py.File) -> str:
    """Return the `status` attribute of an open run file, as text."""
    return str(_text(f.attrs["status"]))


def _text(value):
    """Return an attribute as Python text or number (HDF5 strings may come back as bytes)."""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value.item() if isinstance(value, np.generic) else value


def _short(error: BaseException) -> str:
    """Return the first line of an error (HDF5's run long), at most 200 characters."""
    text = str(error)
    return text.splitlines()[0][:200] if text else type(error).__name__


def _regular_file(path: Path) -> None:
    """Raise a RunFileError unless `path` is a regular file (a FIFO or device could block or never end)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        raise RunFileError(f"{path}: no such run file; check the path (runs go to data/runs/ by default)") from None
    if not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a pipe, socket or device)"
        raise RunFileError(f"{path}: is {what}; give a run file written by `channelsim run`")


def open_hdf5(path: Path) -> h5py.File:
    """Open for reading; a file still (or last) open for writing is read in SWMR mode.

    SWMR is only tried then: on a damaged file its reader retries failed reads for a long time.
    """
    try:
        return h5py.File(path, "r", locking=False)
    except OSError as error:
        if "already open for write" not in str(error):
            raise
    return h5py.File(path, "r", swmr=True, locking=False)


def _dataset(f: h5py.File, ends: bool = False) -> xr.Dataset:
    """Read every declared variable; time rows are cut to the shortest series.

    A writer killed mid-append may have extended some series and not others. `ends`: only the first
    and last rows, no spikes.
    """
    layout = _layout(f)
    rows = min(f[name].shape[0] for name in ("time", *layout.series))
    spikes = min(f[name].shape[0] for name in ("spike", *layout.events))
    if rows == 0:
        raise ValueError("no rows recorded")
    selected = {"time": sorted({0, rows - 1}) if ends else slice(0, rows), "spike": slice(0, 0 if ends else spikes)}

    def read(name: str, dims: tuple[str, ...]) -> np.ndarray:
        data = f[name][selected[dims[0]]] if dims and dims[0] in selected else f[name][()]
        return data.astype(str) if data.dtype.kind in "OS" else data

    every = {**layout.coordinates, **layout.series, **layout.events, **layout.constants}
    attrs = {k: _text(v) for k, v in f.attrs.items()}
    return to_dataset({name: read(name, var.dims) for name, var in every.items()}, attrs)


def _layout(f: h5py.File):
    """Return the declarations of this file: a cable's if it has compartments."""
    return declared("compartment" in f)


def to_dataset(columns: dict[str, np.ndarray], attrs: dict) -> xr.Dataset:
    """Build the Dataset of a run from its arrays by declared name.

    This is what `open_run` returns for a file and `channelsim.simulate` for a run in memory, so
    the two cannot differ.
    """
    def variable(name: str, var) -> tuple:
        described = {"units": var.units, "long_name": var.description} if var.units else {"long_name": var.description}
        return var.dims, columns[name], described

    import xarray as xr

    layout = declared("compartment" in columns)
    coords = {name: variable(name, var) for name, var in layout.coordinates.items()}
    variables = {name: variable(name, var) for name, var in {**layout.series, **layout.events,
                                                             **layout.constants}.items()}
    dataset = xr.Dataset(variables, coords=coords, attrs=attrs)
    return dataset.set_coords("position") if "position" in dataset else dataset
