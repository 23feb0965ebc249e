"""Write a run file incrementally.

The file is created complete with its first rows and checkpoint, appended and flushed per
segment (`channelsim.engine.segments`), so a run stopped at any moment leaves a file readable up to its last flush.

The file is written in HDF5's single-writer/multiple-reader (SWMR) mode: its metadata are
flushed in an order that keeps the file consistent at every instant, so even a writer killed
mid-write (SIGKILL, power loss) leaves a file that SWMR readers (`open_run`) can open.

A file is built under a hidden name beside its destination (`.NAME.h5.partial`) with everything
it starts with: the t = 0 row, or for `--resume` the rows of the file it continues, and a
checkpoint. Only then is it synced and renamed over the destination, in one atomic step: until
that moment the destination is untouched, after it the new file holds everything the old one
did. `status` is a fixed-length string, overwritten in place (the same bytes at the same
offset) and flushed before the file is closed, so the file stays readable whenever its writer dies.

`RunLock` keeps a second writer away from a file being written: an exclusive `flock` on
`NAME.h5.lock`, which the operating system releases when its holder exits, even when killed.
"""

from __future__ import annotations

import errno
import fcntl
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import h5py
import numpy as np

from channelsim.errors import ConfigError
from channelsim.recording.layout import STATUSES, declared

#: Rows per chunk. Each append rewrites the last, partly filled chunk and HDF5 does not reuse
#: the old space: 512-row chunks keep an hour-long run file at ~3 MB (4096 rows: ~20 MB).
_CHUNK_ROWS = 512
#: HDF5 filters of the recorded series, by kind of number (both standard, readable by any HDF5
#: library). Counts (integers): scale-offset, which stores a chunk's values less their minimum in as
#: few bits as they need, lossless for integers and about 3 times faster than gzip. Reals: byte
#: shuffle and gzip, level 1.
_FILTERS = {"i": {"scaleoffset": 0}, "f": {"compression": "gzip", "compression_opts": 1, "shuffle": True}}
#: Rows copied at a time when a resumed file takes over the rows of the file it continues.
_COPY_ROWS = 1 << 16
#: The status attribute: a fixed-length string, so that the final status overwrites it in place.
STATUS_DTYPE = np.dtype("S16")
#: Free disk space kept in reserve besides a segment's own bytes (see `RunWriter.room_for`).
_DISK_MARGIN_BYTES = 1 << 20


def is_disk_full(error: BaseException) -> bool:
    """Whether an error from writing a file means the disk (or quota) is full."""
    return (getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT)
            or "No space left on device" in str(error) or "errno = 28," in str(error))


class RunLock:
    """An exclusive lock on writing the run file `path`: `flock` on `path` + ".lock".

    Use as a context manager. A lock held by another process (a run writing the file, or
    resuming it) raises ConfigError naming that process; a lock file left by a killed process is
    not held (the kernel released it) and is taken over. The lock file is removed on release.
    """

    def __init__(self, path: Path):
        self.run_file = Path(path)
        self.path = Path(f"{path}.lock")
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        """Take the lock (over a lock file a killed process left), or raise ConfigError."""
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as error:
                raise ConfigError(str(self.run_file), f"cannot be written: no lock file can be made in "
                                  f"{self.path.parent} ({error.strerror})",
                                  "choose a folder you can write to") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise ConfigError(str(self.run_file), f"is being written by another channelsim process "
                                  f"(pid {holder})", "wait for that run to end, or stop it first") from None
            try:  # the previous holder may have removed the file between our open and flock
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
                self._fd = fd
                return self
            os.close(fd)

    def __exit__(self, *exc) -> None:
        """Release the lock and remove its lock file."""
        if self._fd is not None:
            try:
                os.unlink(self.path)
            except OSError:
                pass
            os.close(self._fd)  # releases the flock
            self._fd = None


class RunWriter:
    """An open run file; `close(status)` records how the run ended.

    Parameters
    ----------
    path : Path
        The run file. It is replaced only once the new file holds its first rows and checkpoint.
    ions, kinds : list of str
        The `ion` and `kind` coordinates.
    constants, attributes : dict
        The run's constants (by declared name) and root attributes.
    state : dict of arrays
        The model's `state()`: the first checkpoint.
    synapses : list of str
        The `synapse` coordinate: the [[synapses]] entries by name.
    rows : tuple (time, series by name, spike times), optional
        Rows the file starts with (the t = 0 row of a new run).
    source : tuple (path, rows, spikes), optional
        A run file whose first `rows` rows and `spikes` spikes the new file starts with (`--resume`);
        read in blocks, never whole.
    """

    def __init__(self, path: Path, ions: list[str], kinds: list[str], constants: dict, attributes: dict,
                 state: dict[str, np.ndarray], synapses: list[str] = (), rows: tuple | None = None,
                 source: tuple | None = None, reserve_bytes: int = 0):
        self.path = Path(path)
        partial = self.path.with_name(f".{self.path.name}.partial")
        partial.unlink(missing_ok=True)  # left by a writer killed before its rename
        self._reserve = self.path.with_name(f".{self.path.name}.reserve")
        self.layout = declared("position" in constants)  # a cable's constants include its positions
        self._hold_reserve(reserve_bytes)
        try:
            # libver: files stay readable by HDF5 1.14 tools and allow SWMR
            self.file = h5py.File(partial, "w", libver=("v110", "v114"))
            self._create(ions, kinds, synapses, constants, attributes, state)
            if source is not None:
                self._copy(*source)
            if rows is not None:
                time, series, spike_time = rows
                self._extend_rows(time, series, spike_time)
            self._save_checkpoint(state, slot=0)
            self.file.swmr_mode = True  # flushes
            _sync(partial)
            os.replace(partial, self.path)
            _sync(self.path.parent)
        except BaseException:
            try:
                self.file.close()
            except Exception:  # noqa: BLE001 - the first error is the one to report
                pass
            partial.unlink(missing_ok=True)
            self._release_reserve()
            raise

    def _hold_reserve(self, n_bytes: int) -> None:
        """Set aside `n_bytes` of disk in a hidden file beside the run (`.NAME.h5.reserve`).

        The reserve is given back when the disk fills up, so that the file can still be flushed and
        closed whole.
        """
        self._reserve.unlink(missing_ok=True)  # left by a killed writer
        if n_bytes <= 0:
            return
        try:
            fd = os.open(self._reserve, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError:
            return
        try:
            os.posix_fallocate(fd, 0, n_bytes)
        except OSError:  # no room even for the reserve: the run stops at its first append
            self._reserve.unlink(missing_ok=True)
        finally:
            os.close(fd)

    def _release_reserve(self) -> bool:
        """Give the reserve's disk space back; whether there was one."""
        try:
            self._reserve.unlink()
            return True
        except OSError:
            return False

    def _create(self, ions: list[str], kinds: list[str], synapses: list[str], constants: dict, attributes: dict,
                state: dict[str, np.ndarray]) -> None:
        f, layout = self.file, self.layout
        # one handle per dataset, open until close: HDF5 writes a dataset's cached chunks when
        # its last handle closes, and an error there (a full disk) would be lost in a
        # destructor; with the handles kept, it surfaces at `flush`, where `append` sees it
        self._datasets = {name: f.create_dataset(name, shape=(0,), maxshape=(None,), chunks=(_CHUNK_ROWS,),
                                                 dtype=layout.coordinates[name].dtype) for name in ("time", "spike")}
        scales = {name: f.create_dataset(name, data=np.array(list(labels), dtype=object), dtype=h5py.string_dtype())
                  for name, labels in (("ion", ions), ("kind", kinds), ("synapse", synapses))}
        sizes = {"ion": len(ions), "kind": len(kinds), "synapse": len(synapses)}
        if "compartment" in layout.coordinates:
            sizes["compartment"] = len(constants["position"])
            scales["compartment"] = f.create_dataset("compartment", data=np.arange(sizes["compartment"],
                                                                                   dtype=np.int64))
        scales |= self._datasets
        for name, var in layout.coordinates.items():
            scales[name].make_scale(name)
            if var.units:
                scales[name].attrs["units"] = var.units
            scales[name].attrs["long_name"] = var.description
        for name, var in {**layout.series, **layout.events}.items():
            width = tuple(sizes[d] for d in var.dims[1:])
            self._datasets[name] = f.create_dataset(
                name, shape=(0, *width), maxshape=(None, *width), dtype=var.dtype,
                chunks=(_CHUNK_ROWS, *width) if all(width) or not width else None, **_FILTERS[np.dtype(var.dtype).kind])
            _describe(self._datasets[name], var, scales)
        for name, var in layout.constants.items():
            _describe(f.create_dataset(name, data=np.asarray(constants[name], dtype=var.dtype)), var, scales)
        # two checkpoint slots, written alternately; `active` is switched only after a slot is
        # complete and flushed, so a writer killed mid-checkpoint leaves the previous one whole
        # (kept open, as `_Fixed`: looking a dataset up by its path costs more than writing it)
        checkpoint = f.create_group("checkpoint")
        checkpoint.attrs["long_name"] = "simulation state after the last flushed segment (for --resume)"
        self._checkpoint = {"active": _Fixed.create(checkpoint, "active", np.array([-1], dtype=np.int64))}
        counts = {"rows": np.zeros(1, dtype=np.int64), "spikes": np.zeros(1, dtype=np.int64)}
        for slot in (0, 1):
            group = checkpoint.create_group(str(slot))
            self._checkpoint[slot] = {name: _Fixed.create(group, name, np.asarray(array))
                                      for name, array in (state | counts).items()}
        f.attrs["created"] = datetime.now(UTC).isoformat(timespec="seconds")  # unless resumed
        for key, value in attributes.items():
            f.attrs[key] = value
        f.attrs.create("status", np.array(b"running", dtype=STATUS_DTYPE))

    def _copy(self, source: Path, rows: int, spikes: int) -> None:
        """Copy the first `rows` rows and `spikes` spikes of run file `source`, block by block."""
        from channelsim.recording.reader import open_hdf5

        with open_hdf5(source) as old:
            for names, count in ((("time", *self.layout.series), rows), (("spike", *self.layout.events), spikes)):
                for start in range(0, count, _COPY_ROWS):
                    stop = min(count, start + _COPY_ROWS)
                    self._extend({name: old[name][start:stop] for name in names})

    @property
    def rows(self) -> int:
        """Rows written so far (the length of `time`)."""
        return self._datasets["time"].shape[0]

    #: The time (s) of the last row the latest checkpoint covers: where a resume continues.
    saved_time: float = 0.0

    def room_for(self, n_rows: int, row_bytes: int) -> bool:
        """Tell whether the disk has room to append `n_rows` rows of `row_bytes` bytes (uncompressed).

        Room is also needed for the rewrite of each dataset's last chunk, and a margin.
        """
        try:
            free = os.statvfs(self.path.parent)
        except OSError:
            return True
        return free.f_bavail * free.f_frsize >= (n_rows + _CHUNK_ROWS) * row_bytes + _DISK_MARGIN_BYTES

    def append(self, time: np.ndarray, series: dict[str, np.ndarray], spike_time: np.ndarray,
               state: dict[str, np.ndarray]) -> None:
        """Append rows (one per recording) and spikes, save the state they end in, and flush.

        On a full disk the reserve is given back and the file flushed again, so that it stays
        whole (its checkpoint the one before these rows, unless it was saved), and the error is
        raised for the run to stop; the file can then be closed as usual.
        """
        try:
            self._extend_rows(time, series, spike_time)
            active = int(self._checkpoint["active"].dataset[0])
            self._save_checkpoint(state, slot=1 - max(active, 0))
        except (OSError, RuntimeError) as error:  # h5py reports a failed flush as either
            if is_disk_full(error) and self._release_reserve():
                try:
                    self.file.flush()  # with the reserve's room: what is cached gets written
                except (OSError, RuntimeError):  # HDF5 may refuse to flush again after a failed flush
                    pass  # ("slist already enabled"): the file keeps its last flush; the full disk is the error
            raise

    def _extend_rows(self, time: np.ndarray, series: dict[str, np.ndarray], spike_time: np.ndarray) -> None:
        start = self._datasets["spike"].shape[0]
        # events other than spike_time (a cable's spike_compartment) travel among the series by name
        events = {name: series[name] for name in self.layout.events if name != "spike_time"}
        self._extend({"spike": np.arange(start, start + len(spike_time)), "spike_time": spike_time, **events})
        self._extend({"time": time, **{name: series[name] for name in self.layout.series}})

    def _save_checkpoint(self, state: dict[str, np.ndarray], slot: int) -> None:
        """Write the state into checkpoint slot `slot`, flush, then make it the active one.

        The flush also writes the rows appended before: the slot becomes active only once they
        and it are in the file.
        """
        group = self._checkpoint[slot]
        for name, array in state.items():
            _overwrite(group[name], array)
        _overwrite(group["rows"], np.array([self._datasets["time"].shape[0]]))
        _overwrite(group["spikes"], np.array([self._datasets["spike"].shape[0]]))
        self.file.flush()
        _overwrite(self._checkpoint["active"], np.array([slot]))
        self.file.flush()
        self.saved_time = float(self._datasets["time"][-1])

    def _extend(self, columns: dict[str, np.ndarray]) -> None:
        for name, values in columns.items():
            _append(self._datasets[name], np.asarray(values))

    def close(self, status: str) -> None:
        """Record `status` and close the file.

        The status is written before the file is closed, still in SWMR mode, by overwriting the
        fixed-length attribute in place (no object is created or moved) and flushing. A writer
        killed at any moment leaves a file that SWMR readers open (a file reopened for writing
        without SWMR would not open at all after a kill), with its old status or its new one.
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        try:
            self._write_status(status)
            self._datasets.clear()
            self._checkpoint.clear()
            self.file.close()
        except (OSError, RuntimeError) as error:
            if not (is_disk_full(error) and self._release_reserve()):
                raise
            self._write_status(status)
            self.file.close()
        self._release_reserve()

    def abandon(self) -> None:
        """Record the status `failed` and close the file after a failed write (a full disk).

        This happens only if HDF5 still can; if it cannot, the file stays as its last flush left it
        (readable, status `running`, resumable from its checkpoint).
        """
        self.abandoned = True
        self._release_reserve()
        try:
            self._write_status("failed")
            self._datasets.clear()
            self._checkpoint.clear()
            self.file.close()
        except Exception:  # noqa: BLE001 - the disk is full: nothing more can be written
            pass

    abandoned = False

    def _write_status(self, status: str) -> None:
        self.file.attrs.modify("status", np.array(status.encode(), dtype=STATUS_DTYPE))
        self.file.flush()


def _describe(dataset: h5py.Dataset, var, scales: dict[str, h5py.Dataset]) -> None:
    """Give a dataset its units, meaning and dimension scales."""
    dataset.attrs["units"] = var.units
    dataset.attrs["long_name"] = var.description
    for axis, dim in enumerate(var.dims):
        dataset.dims[axis].attach_scale(scales[dim])


def _append(dataset: h5py.Dataset, values: np.ndarray) -> None:
    """Append `values` (rows along the first axis) to `dataset`, which is extendible along it.

    The same as resizing it and writing `dataset[start:] = values`, by HDF5's own calls (h5py's
    indexing costs ~0.1 ms a call, and a segment appends to 15 datasets).
    """
    if len(values) == 0:
        return
    start, width = dataset.id.shape[0], dataset.id.shape[1:]
    if values.shape[1:] != width:
        raise ValueError(f"{dataset.name}: cannot append rows of shape {values.shape[1:]} to rows of shape {width}")
    dataset.id.set_extent((start + len(values), *width))
    file_space = dataset.id.get_space()
    file_space.select_hyperslab((start,) + (0,) * len(width), values.shape)
    dataset.id.write(h5py.h5s.create_simple(values.shape), file_space,
                     np.ascontiguousarray(values, dtype=dataset.dtype))


class _Fixed(NamedTuple):
    """A dataset of fixed shape with its shape and type, kept (h5py reads them from the file each time)."""

    dataset: h5py.Dataset
    shape: tuple[int, ...]
    dtype: np.dtype

    @classmethod
    def create(cls, group: h5py.Group, name: str, array: np.ndarray) -> _Fixed:
        """Create the dataset `name` in `group` holding `array`."""
        return cls(group.create_dataset(name, data=array), array.shape, array.dtype)


def _overwrite(target: _Fixed, array: np.ndarray) -> None:
    """Write `array` over the whole of a dataset, which has its shape.

    The same bytes as `dataset[...] = array`, by HDF5's own write call: h5py's indexing costs
    ~0.1 ms a call, and a checkpoint writes ~60 small arrays per segment.
    """
    array = np.asarray(array)
    if array.shape != target.shape:
        raise ValueError(f"{target.dataset.name}: cannot write an array of shape {array.shape} over shape "
                         f"{target.shape}")
    if array.size:
        target.dataset.id.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(array, dtype=target.dtype))


def _sync(path: Path) -> None:
    """Flush a file's or a folder's data to the disk (so a rename cannot outrun them)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
