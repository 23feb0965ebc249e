"""Run an experiment: build the patch, advance the kernel segment by segment, record.

Segments are short (about 1% of the run) so that the file is flushed and the progress bar
moves often; the kernel's state lives in the patch between segments.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tqdm import tqdm

from channelsim import __version__
from channelsim.config import Config, load_config_text, resolved_toml
from channelsim.constants import ELEMENTARY_CHARGE, IONS
from channelsim.errors import ConfigError
from channelsim.kernels.loop import run_segment
from channelsim.kernels.state import Drive, Records
from channelsim.model import MembranePatch, build
from channelsim.protocol import Schedule
from channelsim.recording.reader import read_checkpoint
from channelsim.recording.writer import RunWriter

#: A segment is at most this many steps (bounds the per-step protocol arrays: 16 MB).
MAX_SEGMENT_STEPS = 2**20


class RunInterrupted(Exception):
    """SIGTERM or Ctrl-C during a run: the file is closed with status `interrupted`."""


def default_output(config: Config) -> Path:
    return Path("data") / "runs" / f"{config.experiment.name}.h5"


def advance(patch: MembranePatch, n_steps: int, schedule: Schedule | None = None) -> dict:
    """Advance the patch by n_steps; return the rows recorded on the way and the spike times."""
    run = patch.config.run
    schedule = schedule or Schedule(patch.config)
    first = patch.step_index
    every = run.steps_per_record
    n_rows = (first + n_steps) // every - first // every
    n_kinds, n_ions = len(patch.populations), len(IONS)
    records = Records(
        membrane_potential=np.zeros(n_rows),
        ions_inside=np.zeros((n_rows, n_ions), dtype=np.int64),
        ions_outside=np.zeros((n_rows, n_ions), dtype=np.int64),
        open_channels=np.zeros((n_rows, n_kinds)),
        efflux=np.zeros((n_rows, n_ions), dtype=np.int64),
        influx=np.zeros((n_rows, n_ions), dtype=np.int64),
        electrode=np.zeros((n_rows, n_ions), dtype=np.int64),
        pump_cycles=np.zeros((n_rows, len(patch.pump_populations)), dtype=np.int64),
        spike_steps=np.zeros(n_steps // 2 + 1, dtype=np.int64),  # a spike takes >= 2 steps
        spike_count=np.zeros(1, dtype=np.int64),
    )
    drive = Drive(injected_charge=schedule.injected_charge(first, n_steps, run.dt),
                  clamp_voltage=schedule.clamp_voltage(first, n_steps, run.dt))
    run_segment(first, n_steps, every, patch.membrane, patch.compartments, patch.kinds, patch.pumps, drive, records)
    patch.step_index += n_steps
    rows = records._asdict()
    spikes = rows.pop("spike_steps")[: rows.pop("spike_count")[0]]
    rows["ions_electrode"] = rows.pop("electrode")
    rows["ions_moved"] = _net_entered(rows["influx"], rows["efflux"], rows["pump_cycles"])
    _by_kind(patch, rows)
    row_steps = every * np.arange(first // every + 1, (first + n_steps) // every + 1)
    rows["command_potential"] = schedule.command_at(run.dt * (row_steps - 0.5))  # of each row's last step
    return {"time": row_steps * run.dt, "rows": rows, "spike_time": spikes * run.dt}


def start(patch: MembranePatch, schedule: Schedule) -> dict:
    """Apply the events due at t = 0 and return the first recorded row."""
    apply_events(patch, schedule)
    row = snapshot(patch, schedule)
    row["electrode_current"] = np.zeros(1)
    return row


def segments(patch: MembranePatch, schedule: Schedule) -> Iterator[dict]:
    """Advance to the end of the run in segments of about 1% (cut at protocol events),
    yielding each segment's rows, spike times and step count."""
    run = patch.config.run
    total = run.n_records * run.steps_per_record
    per_segment = min(MAX_SEGMENT_STEPS, max(run.steps_per_record, total // 100))
    while patch.step_index < total:
        end = min(total, patch.step_index + per_segment)
        upcoming = schedule.next_event_step(patch.step_index)
        if upcoming is not None:
            end = min(end, upcoming)
        n = end - patch.step_index
        segment = advance(patch, n, schedule)
        rows = segment["rows"]
        rows["electrode_current"] = electrode_current(rows["ions_electrode"], patch.electrode_at_last_row,
                                                      patch.membrane.valence, run.record_every)
        if len(rows["ions_electrode"]):
            patch.electrode_at_last_row[:] = rows["ions_electrode"][-1]
        segment["steps"] = n
        yield segment
        apply_events(patch, schedule)


def simulate(config: Config, seed: int | None = None) -> dict:
    """Run a config in memory (no file): the recorded series with t = 0, the spike times and
    the final patch. For notebooks, `channelsim validate` and the tests."""
    patch = build(config, seed)
    schedule = Schedule(config)
    first = start(patch, schedule)
    parts = list(segments(patch, schedule))
    out = {name: np.concatenate([first[name], *(p["rows"][name] for p in parts)]) for name in first}
    out["time"] = np.concatenate([[0.0], *(p["time"] for p in parts)])
    out["spike_time"] = np.concatenate([np.zeros(0), *(p["spike_time"] for p in parts)])
    out["patch"] = patch
    return out


def apply_events(patch: MembranePatch, schedule: Schedule) -> None:
    """Carry out the protocol events (block, unblock, ouabain, set_outside) due now."""
    for event in schedule.events_at(patch.step_index):
        action = event.action
        rng = np.random.default_rng([patch.run_seed, 2, event.index])  # which agents: seeded per event
        if action.action in ("block", "unblock"):
            patch.block(action.target, action.fraction, rng, unblock=action.action == "unblock")
        elif action.action == "ouabain":
            patch.apply_ouabain(action.target, action.concentration, rng)
        else:
            patch.set_outside(action.ion, action.concentration)


def _net_entered(influx: np.ndarray, efflux: np.ndarray, pump_cycles: np.ndarray) -> np.ndarray:
    """Net ions that crossed the membrane into the cell: channels, and 2 K+ in and 3 Na+ out per
    pump cycle (the electrode's ions are counted apart)."""
    moved = influx - efflux
    cycles = pump_cycles.sum(axis=1)
    moved[:, IONS.index("K")] += 2 * cycles
    moved[:, IONS.index("Na")] -= 3 * cycles
    return moved


def _by_kind(patch: MembranePatch, rows: dict) -> None:
    """Per-kind columns over channel kinds then pump kinds; concentrations of every row."""
    n_rows, n_channels, n_pumps = len(rows["membrane_potential"]), len(patch.populations), len(patch.pump_populations)
    rows["open_channels"] = np.hstack([rows["open_channels"], np.zeros((n_rows, n_pumps))])
    rows["pump_cycles"] = np.hstack([np.zeros((n_rows, n_channels), dtype=np.int64), rows["pump_cycles"]])
    rows["blocked_fraction"] = np.tile(patch.blocked_fraction(), (n_rows, 1))  # events fall between segments
    per_mM = 1.0 / (patch.membrane.avogadro * patch.membrane.volume_in)
    rows["concentration_inside"] = rows["ions_inside"] * per_mM
    if patch.membrane.volume_out > 0:
        rows["concentration_outside"] = rows["ions_outside"] / (patch.membrane.avogadro * patch.membrane.volume_out)
    else:
        rows["concentration_outside"] = np.tile(patch.compartments.bath, (n_rows, 1))


def snapshot(patch: MembranePatch, schedule: Schedule) -> dict:
    """The current state as one recorded row."""
    c = patch.compartments
    row = {
        "membrane_potential": np.array([patch.voltage]),
        "ions_inside": c.counts_in[None, :].copy(),
        "ions_outside": c.counts_out[None, :].copy(),
        "open_channels": patch.kinds.open_count[None, :].copy(),
        "efflux": c.efflux_total[None, :].copy(),
        "influx": c.influx_total[None, :].copy(),
        "ions_electrode": c.electrode_total[None, :].copy(),
        "ions_moved": _net_entered(c.influx_total[None, :], c.efflux_total[None, :], patch.pumps.cycles_total[None, :]),
        "command_potential": schedule.clamp_voltage(patch.step_index, 1, patch.config.run.dt),
        "pump_cycles": patch.pumps.cycles_total[None, :].copy(),
    }
    _by_kind(patch, row)
    return row


def electrode_current(ions_electrode: np.ndarray, previous: np.ndarray, valence: np.ndarray,
                      interval: float) -> np.ndarray:
    """Mean electrode current (A, into the cell) over each recording interval."""
    charge = ions_electrode @ valence * ELEMENTARY_CHARGE
    before = np.concatenate([[previous @ valence * ELEMENTARY_CHARGE], charge[:-1]])
    return (charge - before) / interval


def _constants(patch: MembranePatch) -> dict:
    config = patch.config
    return {
        "membrane_capacitance": patch.membrane.capacitance,
        "membrane_area": config.cell.area_m2,
        "volume_inside": patch.membrane.volume_in,
        "volume_outside": patch.membrane.volume_out,
        "temperature": config.cell.temperature,
        "impermeant_anions": patch.impermeant_count,
        "impermeant_valence": config.inside.impermeant_valence,
        "valence": patch.membrane.valence,
        "bath_concentration": patch.compartments.bath,
        "agent_count": patch.counts_by_kind(),
    }


class _StopRequests:
    """SIGTERM and Ctrl-C during a run set a flag that the segment loop checks: raising from a
    signal handler could land anywhere (even inside a callback that swallows it)."""

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


def run_experiment(config: Config, output: Path, seed: int | None = None, command: str = "",
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
    seed = config.run.seed if seed is None else seed
    config = config.model_copy(update={"run": config.run.model_copy(update={"seed": seed})})
    patch = build(config, seed)
    schedule = Schedule(config)
    output.parent.mkdir(parents=True, exist_ok=True)
    attributes = {"config": resolved_toml(config), "seed": seed, "channelsim_version": __version__,
                  "command": command, "experiment": config.experiment.name}
    first = start(patch, schedule)
    writer = RunWriter(output, list(IONS), patch.kind_names, _constants(patch), attributes, patch.state())
    return _continue(writer, patch, schedule, [(np.zeros(1), first, np.zeros(0))], progress)


def resume_experiment(path: Path, command: str = "", progress: bool = True) -> Path:
    """Continue an interrupted or killed run from its checkpoint, in place. The result is
    bit-identical to the uninterrupted run: random numbers depend only on (seed, step, stream)."""
    path = Path(path)
    saved = read_checkpoint(path)
    if saved["status"] == "complete":
        raise ConfigError("--resume", f"{path} is already complete", "there is nothing to resume")
    config = load_config_text(saved["config"], origin=str(path))
    patch = build(config, saved["seed"])
    patch.restore(saved["state"])
    schedule = Schedule(config)
    apply_events(patch, schedule)  # those due at the checkpoint were not yet applied
    attributes = {**saved["attributes"], "resumed": command or "channelsim run --resume"}
    writer = RunWriter(path, list(IONS), patch.kind_names, _constants(patch), attributes, patch.state())
    return _continue(writer, patch, schedule, [(saved["time"], saved["rows"], saved["spike_time"])], progress)


def _continue(writer: RunWriter, patch: MembranePatch, schedule: Schedule, done: list, progress: bool) -> Path:
    """Write the rows already `done`, then simulate to the end; close with the final status."""
    status = "failed"
    try:
        for time, rows, spikes in done:
            writer.append(time, rows, spikes, patch.state())
        run = patch.config.run
        with tqdm(total=run.n_records * run.steps_per_record, initial=patch.step_index, unit="s",
                  unit_scale=run.dt, delay=2.0, disable=not progress, file=sys.stderr,
                  desc=patch.config.experiment.name,
                  bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.4g}/{total:.4g} s simulated "
                             "[{elapsed}<{remaining}]") as bar, _StopRequests() as stop:
            for segment in segments(patch, schedule):
                writer.append(segment["time"], segment["rows"], segment["spike_time"], patch.state())
                bar.update(segment["steps"])
                stop.check()
        status = "complete"
    except (KeyboardInterrupt, RunInterrupted):
        status = "interrupted"
        raise
    finally:
        writer.close(status)
    return writer.path
