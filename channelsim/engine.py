"""Run an experiment: cut the model's run into segments, write them, handle signals and progress.

The model (`MembranePatch`) owns the state and advances itself; the engine only decides how
far each segment goes (about a second of wall-clock time, so that a run file's appends,
checkpoints and flushes cost little, while a stopped or killed run loses little) and where the
rows go: a run file, or a Dataset in memory.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from channelsim import __version__
from channelsim.config import Config, load_config_text, resolved_toml
from channelsim.constants import IONS
from channelsim.errors import ConfigError, RunFileError
from channelsim.model import MembranePatch, Segment, build
from channelsim.model.checkpoint import CheckpointError
from channelsim.model.patch import checked_seed
from channelsim.recording.reader import read_checkpoint, to_dataset
from channelsim.recording.writer import RunLock, RunWriter, is_disk_full
from channelsim.resources import check_disk, check_memory, estimate, reserve_bytes, segment_steps

if TYPE_CHECKING:  # only runs in memory build a Dataset (`to_dataset` imports xarray)
    import xarray as xr

#: A segment ends at the first kernel call to end after this many seconds (wall clock) ...
SEGMENT_SECONDS = 1.0
#: ... or later, so that handling a segment (writing its rows, the checkpoint and the flushes) takes
#: at most this share of the run's time (a large model's checkpoint takes long).
WRITE_SHARE = 0.01
#: A run file's name, with the ".lock" of its lock file and the "." and ".partial" of the file
#: it is built as, must fit the 255 bytes of a file name.
MAX_FILE_NAME_BYTES = 255 - len(".") - len(".partial")
#: The `command` attribute of runs started from Python rather than the command line.
PYTHON_COMMAND = "channelsim (Python API)"


class RunInterrupted(Exception):
    """SIGTERM or Ctrl-C during a run: the file is closed with status `interrupted`.

    For a signal that came after the last step, the status is `complete`: then `complete` is True.
    """

    def __init__(self, message: str = "", complete: bool = False):
        super().__init__(message)
        self.complete = complete


class RunFailed(Exception):
    """A run stopped by its environment (a full disk).

    The message says what was kept and how to continue.
    """


def default_output(config: Config) -> Path:
    """Return where a run's file goes unless the command line names one: data/runs/NAME.h5 (relative path)."""
    return Path("data") / "runs" / f"{config.experiment.name}.h5"


def segments(model: MembranePatch, stop: Callable[[], bool] | None = None,
             progress: Callable[[int], object] | None = None) -> Iterator[Segment]:
    """Advance the model to the end of its run in segments of about SEGMENT_SECONDS each.

    A segment is longer when handling the previous one took more than WRITE_SHARE of that, and at
    most `resources.segment_steps` steps (which bounds the rows it holds). Where segments end
    changes no recorded number: random numbers depend only on (seed, step, stream).

    With `stop`, a segment ends early (within about a second) once `stop()` is True. `progress`
    is given the model's step index after every kernel call.
    """
    longest = segment_steps(model.config)
    seconds = SEGMENT_SECONDS
    while not model.finished:
        def ended(deadline: float = time.perf_counter() + seconds) -> bool:
            if progress is not None:
                progress(model.step_index)
            return time.perf_counter() >= deadline or (stop is not None and stop())

        segment = model.advance(longest, stop=ended)
        handed_over = time.perf_counter()
        yield segment
        seconds = max(SEGMENT_SECONDS, (time.perf_counter() - handed_over) / WRITE_SHARE)


def _attributes(model: MembranePatch, command: str) -> dict:
    """Root attributes of a run (the file adds `created` and `status`)."""
    return {"config": resolved_toml(model.config), "seed": model.run_seed, "channelsim_version": __version__,
            "command": command, "experiment": model.config.experiment.name}


def run_in_memory(model: MembranePatch, command: str = PYTHON_COMMAND) -> xr.Dataset:
    """Run a built model to its end without a file.

    The Dataset equals what `open_run` reads from the same run written by `run_experiment` (but
    for the `created` time stamp).
    """
    parts = [model.current_row(), *segments(model)]
    columns = {name: np.concatenate([p.rows[name] for p in parts]) for name in parts[0].rows}
    spikes = np.concatenate([p.spike_time for p in parts])
    columns |= model.constants() | {
        "time": np.concatenate([p.time for p in parts]), "spike": np.arange(len(spikes)), "spike_time": spikes,
        "ion": np.array(IONS, dtype=str), "kind": np.array(model.kind_names, dtype=str),
        "synapse": np.array(model.synapse_names, dtype=str)}
    if model.geometry is not None:
        columns["compartment"] = np.arange(len(model.geometry.length))
    attrs = _attributes(model, command) | {"created": _now(), "status": "complete"}
    return to_dataset(columns, dict(sorted(attrs.items())))


def simulate(config: Config, seed: int | None = None, force_large: bool = False) -> xr.Dataset:
    """Run `config` in memory (seed defaults to its run.seed) and return the run as a Dataset.

    A run whose rows would not fit in memory is refused (ConfigError) unless `force_large`.
    """
    check_memory(config, in_memory=True, force=force_large)
    return run_in_memory(build(config, seed, force_large=force_large))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class _StopRequests:
    """SIGTERM and Ctrl-C during a run set a flag that the run checks between kernel calls.

    The flag is also checked after every segment. Raising from a signal handler could land
    anywhere (even inside a callback that swallows it, or in the middle of writing the file).
    Installed before the run file is first written and removed after its final status is, so no
    signal is lost.
    """

    def __init__(self):
        self.signal: int | None = None
        self._previous: dict = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._request)
        return self

    def _request(self, signum, frame) -> None:
        self.signal = signum

    def requested(self) -> bool:
        return self.signal is not None

    def check(self) -> None:
        if self.signal is not None:
            raise RunInterrupted(f"stopped by signal {self.signal}")

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def output_path(output: Path) -> Path:
    """Return the run file `output` will write, checked before anything runs.

    It must be a `.h5` name the file system can hold (with the suffixes of its lock and partial
    files), not a folder; a symbolic link is followed, so that its target is written.
    """
    output = Path(output)
    if output.suffix != ".h5":
        raise ConfigError("-o", f"{output} does not end in .h5", "give an output path ending in .h5")
    if len(os.fsencode(output.name)) > MAX_FILE_NAME_BYTES:
        raise ConfigError("-o", f"the file name {output.name[:40]}... is {len(os.fsencode(output.name))} bytes long, "
                          f"more than the {MAX_FILE_NAME_BYTES} a run file's name may have", "give a shorter name")
    if output.is_dir():
        raise ConfigError("-o", f"{output} is a folder", "give the path of a .h5 file in it")
    if output.is_symlink():
        output = output.resolve()
    if output.exists() and not output.is_file():
        raise ConfigError("-o", f"{output} is not a regular file", "give the path of a .h5 file")
    return output


def run_experiment(config: Config, output: Path, seed: int | None = None, command: str = PYTHON_COMMAND,
                   force: bool = False, progress: bool = True, force_large: bool = False) -> Path:
    """Simulate `config` and write the run file `output`; return its path.

    Nothing is written when the config or output path is unusable, when another process is
    writing `output`, or when the run would not fit in memory or on disk (unless `force_large`).
    The file's status ends as `complete`, `interrupted` (Ctrl-C, SIGTERM) or `failed`; the data up
    to then are kept, with a checkpoint from which `resume_experiment` continues.
    """
    output = output_path(output)
    if output.exists() and not force:
        raise ConfigError("-o", f"{output} already exists", "pass --force to overwrite it or choose another -o")
    model = build(config, seed, force_large=force_large)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError("-o", f"cannot create the folder {output.parent} ({error.strerror})",
                          "choose a folder you can write to") from None
    with RunLock(output):
        if output.exists() and not force:  # written by another run meanwhile
            raise ConfigError("-o", f"{output} already exists", "pass --force to overwrite it or choose another -o")
        check_disk(model.config, output, force=force_large)
        with _StopRequests() as stop:
            try:
                writer = RunWriter(output, list(IONS), model.kind_names, model.constants(),
                                   _attributes(model, command), model.state(), model.synapse_names,
                                   rows=_row_tuple(model.current_row()),
                                   reserve_bytes=reserve_bytes(model.config))
            except (OSError, RuntimeError) as error:  # h5py reports a failed write as either
                if isinstance(error, RuntimeError) and not is_disk_full(error):
                    raise
                raise _write_error(output, error) from None
            return _continue(writer, model, stop, progress)


def resume_experiment(path: Path, command: str = "", progress: bool = True, force_large: bool = False) -> Path:
    """Continue an interrupted, failed or killed run from its checkpoint.

    The result is bit-identical to the uninterrupted run: random numbers depend only on (seed,
    step, stream).

    The file is rebuilt beside itself with the rows up to the checkpoint and replaces the
    original only once complete, so the original survives anything that happens before. A file
    that another process is still writing is refused; a symbolic link's target is updated.
    """
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    with RunLock(path):
        saved = read_checkpoint(path)
        if saved["status"] == "complete":
            raise ConfigError("--resume", f"{path} is already complete", "there is nothing to resume")
        model = build(load_config_text(saved["config"], origin=f"{path}: attribute config"),
                      checked_seed(saved["seed"], f"{path}: attribute seed"), force_large=force_large)
        try:
            model.restore(saved["state"])
        except CheckpointError as error:
            raise RunFileError(f"{path}: {saved['slot']}/{error.name}: {error.problem}; the file is damaged: "
                               f"rerun it (channelsim run --from {path} -o NEW.h5)") from None
        expected_rows = model.step_index // model.config.run.steps_per_record + 1
        if saved["rows"] != expected_rows or not np.isclose(saved["last_time"], (expected_rows - 1) *
                                                            model.config.run.record_every, rtol=1e-9, atol=0):
            raise RunFileError(f"{path}: {saved['slot']}/rows: {saved['rows']} rows up to t = {saved['last_time']:g} s "
                               f"do not match the {model.step_index} steps saved; the file is damaged: rerun it "
                               f"(channelsim run --from {path} -o NEW.h5)")
        check_disk(model.config, path, force=force_large)
        attributes = {**saved["attributes"], "resumed": command or "channelsim run --resume"}
        with _StopRequests() as stop:
            try:
                writer = RunWriter(path, list(IONS), model.kind_names, model.constants(), attributes, model.state(),
                                   model.synapse_names, source=(path, saved["rows"], saved["spikes"]),
                                   reserve_bytes=reserve_bytes(model.config))
            except (OSError, RuntimeError) as error:
                if isinstance(error, RuntimeError) and not is_disk_full(error):
                    raise
                raise _write_error(path, error) from None
            return _continue(writer, model, stop, progress)


def _row_tuple(segment: Segment) -> tuple:
    return segment.time, segment.rows, segment.spike_time


def _write_error(path: Path, error: Exception) -> Exception:
    """Return the error to report when a run file cannot be created.

    A full disk is a failure of the run (RunFailed), anything else (no permission, a read-only file
    system) bad input.
    """
    if is_disk_full(error):
        return RunFailed(f"no space left on the disk of {path}: nothing was written (any file there is as it "
                         "was); free some space and run again")
    reason = getattr(error, "strerror", None) or str(error).splitlines()[0]
    return ConfigError(str(path), f"cannot be written ({reason})", "choose another -o or a folder you can write to")


def _continue(writer: RunWriter, model: MembranePatch, stop: _StopRequests, progress: bool) -> Path:
    """Simulate to the end, appending every segment; close the file with the final status.

    Raises RunInterrupted (status `interrupted`; also after the final status when a signal came
    too late to stop the run, which is then `complete`), RunFailed (a full disk: the file keeps
    what its last flush wrote) or the error that stopped the run (status `failed`).
    """
    status = "failed"
    run = model.config.run
    row_bytes = estimate(model.config).row_bytes
    try:
        with tqdm(total=model.total_steps, initial=model.step_index, unit="s",
                  unit_scale=run.dt, delay=2.0, disable=not progress, file=sys.stderr,
                  desc=model.config.experiment.name,
                  bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.4g}/{total:.4g} s simulated "
                             "[{elapsed}<{remaining}]") as bar:
            stop.check()
            for segment in segments(model, stop.requested, progress=lambda step: bar.update(step - bar.n)):
                if not writer.room_for(len(segment.time), row_bytes):
                    raise RunFailed(_disk_full_message(writer, model))
                writer.append(segment.time, segment.rows, segment.spike_time, model.state())
                stop.check()
        status = "complete"
    except (KeyboardInterrupt, RunInterrupted):
        status = "interrupted"
        raise
    except (OSError, RuntimeError) as error:  # h5py reports a failed write as either
        if is_disk_full(error):
            writer.abandon()
            raise RunFailed(_disk_full_message(writer, model)) from None
        raise
    finally:
        if not writer.abandoned:
            try:
                writer.close(status)
            except (OSError, RuntimeError) as error:
                if not is_disk_full(error):
                    raise
                writer.abandon()
                raise RunFailed(_disk_full_message(writer, model)) from None
    if stop.requested():
        raise RunInterrupted(f"stopped by signal {stop.signal} after the run completed", complete=True)
    return writer.path


def _disk_full_message(writer: RunWriter, model: MembranePatch) -> str:
    return (f"no space left on the disk of {writer.path}: the run stopped, and the file keeps its rows up to "
            f"t = {writer.saved_time:.6g} s; free some space, then continue it with channelsim run --resume "
            f"{writer.path}")
