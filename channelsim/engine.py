"""Run an experiment: cut the model's run into segments, write them, handle signals and progress.

The model (`MembranePatch`) owns the state and advances itself; the engine only decides how
far each segment goes (about 1% of the run, so the file is flushed and the progress bar moves
often) and where the rows go: a run file, or a Dataset in memory.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import xarray as xr
from tqdm import tqdm

from channelsim import __version__
from channelsim.config import Config, load_config_text, resolved_toml
from channelsim.constants import IONS
from channelsim.errors import ConfigError
from channelsim.model import MembranePatch, Segment, build
from channelsim.recording.reader import read_checkpoint, to_dataset
from channelsim.recording.writer import RunWriter

#: A segment is at most this many steps.
MAX_SEGMENT_STEPS = 2**20
#: The `command` attribute of runs started from Python rather than the command line.
PYTHON_COMMAND = "channelsim (Python API)"


class RunInterrupted(Exception):
    """SIGTERM or Ctrl-C during a run: the file is closed with status `interrupted`."""


def default_output(config: Config) -> Path:
    """Return where a run's file goes unless the command line names one: data/runs/NAME.h5 (relative path)."""
    return Path("data") / "runs" / f"{config.experiment.name}.h5"


def segments(model: MembranePatch) -> Iterator[Segment]:
    """Advance the model to the end of its run in segments of about 1% of it."""
    run = model.config.run
    per_segment = min(MAX_SEGMENT_STEPS, max(run.steps_per_record, model.total_steps // 100))
    while not model.finished:
        yield model.advance(per_segment)


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
    attrs = _attributes(model, command) | {"created": _now(), "status": "complete"}
    return to_dataset(columns, dict(sorted(attrs.items())))


def simulate(config: Config, seed: int | None = None) -> xr.Dataset:
    """Run `config` in memory (seed defaults to its run.seed) and return the run as a Dataset."""
    return run_in_memory(build(config, seed))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class _StopRequests:
    """SIGTERM and Ctrl-C during a run set a flag that the segment loop checks.

    Raising from a signal handler could land anywhere (even inside a callback that swallows it).
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

    def check(self) -> None:
        if self.signal is not None:
            raise RunInterrupted(f"stopped by signal {self.signal}")

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def run_experiment(config: Config, output: Path, seed: int | None = None, command: str = PYTHON_COMMAND,
                   force: bool = False, progress: bool = True) -> Path:
    """Simulate `config` and write the run file `output`; return its path.

    Nothing is written when the config or output path is unusable. The file's status ends as
    `complete`, `interrupted` (Ctrl-C, SIGTERM) or `failed`; the data up to then are kept, with a
    checkpoint from which `resume_experiment` continues.
    """
    output = Path(output)
    if output.suffix != ".h5":
        raise ConfigError("-o", f"{output} does not end in .h5", "give an output path ending in .h5")
    if output.exists() and not force:
        raise ConfigError("-o", f"{output} already exists", "pass --force to overwrite it or choose another -o")
    model = build(config, seed)
    output.parent.mkdir(parents=True, exist_ok=True)
    first = model.current_row()
    writer = RunWriter(output, list(IONS), model.kind_names, model.constants(), _attributes(model, command),
                       model.state(), model.synapse_names)
    return _continue(writer, model, [first], progress)


def resume_experiment(path: Path, command: str = "", progress: bool = True) -> Path:
    """Continue an interrupted or killed run from its checkpoint, in place.

    The result is bit-identical to the uninterrupted run: random numbers depend only on
    (seed, step, stream).
    """
    path = Path(path)
    saved = read_checkpoint(path)
    if saved["status"] == "complete":
        raise ConfigError("--resume", f"{path} is already complete", "there is nothing to resume")
    model = build(load_config_text(saved["config"], origin=str(path)), saved["seed"])
    model.restore(saved["state"])
    attributes = {**saved["attributes"], "resumed": command or "channelsim run --resume"}
    writer = RunWriter(path, list(IONS), model.kind_names, model.constants(), attributes, model.state(),
                       model.synapse_names)
    done = Segment(saved["time"], saved["rows"], saved["spike_time"], 0)
    return _continue(writer, model, [done], progress)


def _continue(writer: RunWriter, model: MembranePatch, done: list[Segment], progress: bool) -> Path:
    """Write the segments already `done`, then simulate to the end; close with the final status."""
    status = "failed"
    try:
        for segment in done:
            writer.append(segment.time, segment.rows, segment.spike_time, model.state())
        run = model.config.run
        with tqdm(total=model.total_steps, initial=model.step_index, unit="s",
                  unit_scale=run.dt, delay=2.0, disable=not progress, file=sys.stderr,
                  desc=model.config.experiment.name,
                  bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.4g}/{total:.4g} s simulated "
                             "[{elapsed}<{remaining}]") as bar, _StopRequests() as stop:
            for segment in segments(model):
                writer.append(segment.time, segment.rows, segment.spike_time, model.state())
                bar.update(segment.steps)
                stop.check()
        status = "complete"
    except (KeyboardInterrupt, RunInterrupted):
        status = "interrupted"
        raise
    finally:
        writer.close(status)
    return writer.path
