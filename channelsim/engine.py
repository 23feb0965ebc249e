"""Run an experiment: build the patch, advance the kernel segment by segment, record.

Segments are short (about 1% of the run) so that the file is flushed and the progress bar
moves often; the kernel's state lives in the patch between segments.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
from pathlib import Path

import numpy as np
from tqdm import tqdm

from channelsim import __version__
from channelsim.config import Config, resolved_toml
from channelsim.constants import AVOGADRO, ELEMENTARY_CHARGE, FARADAY, GAS_CONSTANT, IONS
from channelsim.errors import ConfigError
from channelsim.kernels.loop import run_segment
from channelsim.model import MembranePatch, build
from channelsim.recording.writer import RunWriter

#: Agent arrays at least this long are updated in parallel (a parallel region costs ~8 us to
#: enter: DESIGN.md section 9).
PARALLEL_THRESHOLD = 100_000


class RunInterrupted(Exception):
    """SIGTERM or Ctrl-C during a run: the file is closed with status `interrupted`."""


def default_output(config: Config) -> Path:
    return Path("data") / "runs" / f"{config.experiment.name}.h5"


def advance(patch: MembranePatch, n_records: int, parallel_threshold: int = PARALLEL_THRESHOLD) -> dict:
    """Advance the patch by n_records recording intervals; return the recorded rows."""
    run = patch.config.run
    n_kinds = len(patch.populations)
    records = {
        "membrane_potential": np.zeros(n_records),
        "ions_inside": np.zeros((n_records, len(IONS)), dtype=np.int64),
        "ions_outside": np.zeros((n_records, len(IONS)), dtype=np.int64),
        "open_channels": np.zeros((n_records, n_kinds)),
        "efflux": np.zeros((n_records, len(IONS)), dtype=np.int64),
        "influx": np.zeros((n_records, len(IONS)), dtype=np.int64),
    }
    n_steps = n_records * run.steps_per_record
    temperature = patch.config.cell.temperature
    run_segment(
        patch.step_index, n_steps, run.steps_per_record, run.dt, patch.run_seed,
        patch.capacitance, patch.fixed_charge, patch.valence, patch.volume_in, patch.volume_out,
        patch.bath, GAS_CONSTANT * temperature / FARADAY, AVOGADRO, ELEMENTARY_CHARGE,
        patch.counts_in, patch.counts_out, patch.efflux_total, patch.influx_total,
        patch.kind_mode, patch.kind_ion, patch.kind_permeation, patch.kind_unitary,
        patch.kind_n_states, patch.kind_count, patch.conducting, patch.table, patch.v_min, patch.v_step,
        patch.agent_states, patch.agent_offset, patch.population, patch.occupancy, patch.flux_carry,
        patch.open_count, parallel_threshold,
        records["membrane_potential"], records["ions_inside"], records["ions_outside"],
        records["open_channels"], records["efflux"], records["influx"],
    )
    patch.step_index += n_steps
    records["ions_moved"] = records["influx"] - records["efflux"]
    return records


def snapshot(patch: MembranePatch) -> dict:
    """The current state as one recorded row."""
    moved = patch.influx_total - patch.efflux_total
    return {
        "membrane_potential": np.array([patch.voltage]),
        "ions_inside": patch.counts_in[None, :].copy(),
        "ions_outside": patch.counts_out[None, :].copy(),
        "open_channels": patch.open_count[None, :].copy(),
        "efflux": patch.efflux_total[None, :].copy(),
        "influx": patch.influx_total[None, :].copy(),
        "ions_moved": moved[None, :],
    }


def _constants(patch: MembranePatch) -> dict:
    config = patch.config
    return {
        "membrane_capacitance": patch.capacitance,
        "membrane_area": config.cell.area_m2,
        "volume_inside": patch.volume_in,
        "volume_outside": patch.volume_out,
        "temperature": config.cell.temperature,
        "impermeant_anions": patch.impermeant_count,
        "impermeant_valence": config.inside.impermeant_valence,
        "valence": patch.valence,
        "bath_concentration": patch.bath,
        "channel_count": patch.kind_count,
    }


def _raise_interrupted(signum, frame):
    raise RunInterrupted(f"signal {signum}")


def run_experiment(config: Config, output: Path, seed: int | None = None, command: str = "",
                   force: bool = False, progress: bool = True) -> Path:
    """Simulate `config` and write the run file `output`; return its path.

    Nothing is written when the config or output path is unusable. The file's status ends as
    `complete`, `interrupted` (Ctrl-C, SIGTERM) or `failed`; the data up to then are kept.
    """
    output = Path(output)
    if output.suffix != ".h5":
        raise ConfigError("-o", f"{output} does not end in .h5", "give an output path ending in .h5")
    if output.exists() and not force:
        raise ConfigError("-o", f"{output} already exists", "pass --force to overwrite it or choose another -o")
    seed = config.run.seed if seed is None else seed
    config = config.model_copy(update={"run": config.run.model_copy(update={"seed": seed})})
    patch = build(config, seed)
    output.parent.mkdir(parents=True, exist_ok=True)
    attributes = {"config": resolved_toml(config), "seed": seed, "channelsim_version": __version__,
                  "command": command, "experiment": config.experiment.name}
    writer = RunWriter(output, list(IONS), [p.kind for p in patch.populations], _constants(patch), attributes)
    previous_handler = signal.getsignal(signal.SIGTERM)
    is_main = threading.current_thread() is threading.main_thread()
    if is_main:
        signal.signal(signal.SIGTERM, _raise_interrupted)
    status = "failed"
    try:
        writer.append(np.zeros(1), snapshot(patch))
        total = config.run.n_records
        per_segment = min(10_000, max(1, math.ceil(total / 100)))
        record_dt = config.run.record_every
        with tqdm(total=total, unit="rec", delay=2.0, disable=not progress, file=sys.stderr,
                  desc=config.experiment.name) as bar:
            done = 0
            while done < total:
                n = min(per_segment, total - done)
                rows = advance(patch, n)
                writer.append(record_dt * np.arange(done + 1, done + n + 1), rows)
                done += n
                bar.update(n)
        status = "complete"
    except (KeyboardInterrupt, RunInterrupted):
        status = "interrupted"
        raise
    finally:
        writer.close(status)
        if is_main:
            signal.signal(signal.SIGTERM, previous_handler)
    return output
