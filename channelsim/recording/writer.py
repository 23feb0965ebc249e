"""Write a run file incrementally.

The file is created before the first step, appended and flushed per segment, so a run stopped at
any moment leaves a file readable up to its last flush.

The file is written in HDF5's single-writer/multiple-reader (SWMR) mode: its metadata are
flushed in an order that keeps the file consistent at every instant, so even a writer killed
mid-write (SIGKILL, power loss) leaves a file that SWMR readers (`open_run`) can open. Attributes
cannot change in SWMR mode, so `status` is set by reopening the file after it is closed.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import h5py
import numpy as np

from channelsim.recording.layout import CONSTANTS, COORDINATES, EVENTS, SERIES, STATUSES

#: Rows per chunk. Each append rewrites the last, partly filled chunk and HDF5 does not reuse
#: the old space: 512-row chunks keep an hour-long run file at ~3 MB (4096 rows: ~20 MB).
_CHUNK_ROWS = 512


class RunWriter:
    """An open run file. Use as a context manager; `close(status)` records how the run ended."""

    def __init__(self, path: Path, ions: list[str], kinds: list[str], constants: dict, attributes: dict,
                 state: dict[str, np.ndarray], synapses: list[str] = ()):
        self.path = Path(path)
        # built under a hidden name and moved into place once in SWMR mode, so that the run
        # file never exists in a state an interrupted writer could leave unreadable
        partial = self.path.with_name(f".{self.path.name}.partial")
        # libver: files stay readable by HDF5 1.14 tools and allow SWMR
        self.file = h5py.File(partial, "w", libver=("v110", "v114"))
        f = self.file
        for name in ("time", "spike"):
            f.create_dataset(name, shape=(0,), maxshape=(None,), dtype=COORDINATES[name].dtype, chunks=(_CHUNK_ROWS,))
        f.create_dataset("ion", data=np.array(ions, dtype=object), dtype=h5py.string_dtype())
        f.create_dataset("kind", data=np.array(kinds, dtype=object), dtype=h5py.string_dtype())
        f.create_dataset("synapse", data=np.array(list(synapses), dtype=object), dtype=h5py.string_dtype())
        for name, var in COORDINATES.items():
            f[name].make_scale(name)
            if var.units:
                f[name].attrs["units"] = var.units
            f[name].attrs["long_name"] = var.description
        sizes = {"ion": len(ions), "kind": len(kinds), "synapse": len(synapses)}
        for name, var in {**SERIES, **EVENTS}.items():
            width = tuple(sizes[d] for d in var.dims[1:])
            f.create_dataset(name, shape=(0, *width), maxshape=(None, *width), dtype=var.dtype,
                             chunks=(_CHUNK_ROWS, *width) if all(width) or not width else None,
                             compression="gzip", compression_opts=1, shuffle=True)
            self._describe(name, var)
        for name, var in CONSTANTS.items():
            f.create_dataset(name, data=np.asarray(constants[name], dtype=var.dtype))
            self._describe(name, var)
        # two checkpoint slots, written alternately; `active` is switched only after a slot is
        # complete and flushed, so a writer killed mid-checkpoint leaves the previous one whole
        checkpoint = f.create_group("checkpoint")
        checkpoint.attrs["long_name"] = "simulation state after the last flushed segment (for --resume)"
        checkpoint.create_dataset("active", data=np.array([-1], dtype=np.int64))
        for slot in ("0", "1"):
            group = checkpoint.create_group(slot)
            for name, array in state.items():
                group.create_dataset(name, data=array)
            for name in ("rows", "spikes"):
                group.create_dataset(name, data=np.zeros(1, dtype=np.int64))
        f.attrs["created"] = datetime.now(UTC).isoformat(timespec="seconds")  # unless resumed
        for key, value in attributes.items():
            f.attrs[key] = value
        f.attrs["status"] = "running"
        f.swmr_mode = True
        os.replace(partial, self.path)

    def _describe(self, name: str, var) -> None:
        dataset = self.file[name]
        dataset.attrs["units"] = var.units
        dataset.attrs["long_name"] = var.description
        for axis, dim in enumerate(var.dims):
            dataset.dims[axis].attach_scale(self.file[dim])

    def append(self, time: np.ndarray, series: dict[str, np.ndarray], spike_time: np.ndarray,
               state: dict[str, np.ndarray]) -> None:
        """Append rows (one per recording) and spikes, save the state they end in, and flush."""
        start = self.file["spike"].shape[0]
        self._extend({"spike": np.arange(start, start + len(spike_time)), "spike_time": spike_time})
        self._extend({"time": time, **{name: series[name] for name in SERIES}})
        self.file.flush()
        active = self.file["checkpoint/active"]
        slot = self.file[f"checkpoint/{1 - max(int(active[0]), 0)}"]
        for name, array in state.items():
            slot[name][...] = array
        slot["rows"][0] = self.file["time"].shape[0]
        slot["spikes"][0] = self.file["spike"].shape[0]
        self.file.flush()
        active[0] = int(slot.name[-1])
        self.file.flush()

    def _extend(self, columns: dict[str, np.ndarray]) -> None:
        for name, values in columns.items():
            dataset = self.file[name]
            start = dataset.shape[0]
            dataset.resize(start + len(values), axis=0)
            dataset[start:] = values

    def close(self, status: str) -> None:
        """Close the file and set its `status` (one of `STATUSES`).

        The status is written by reopening the file: attributes cannot change in SWMR mode.
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        self.file.close()
        with h5py.File(self.path, "r+") as f:
            f.attrs["status"] = status
