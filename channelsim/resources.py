"""What a run will need (steps, rows, file size, memory), checked before it starts.

A run that would not fit in memory or on disk is refused before anything is allocated or
written, with the fix (record less often, track the channels as a population, shorten the run);
`--force-large` (``force_large=True`` in Python) runs it anyway. The estimates are upper bounds:
the run file is compressed, so it usually takes less than its estimate.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from channelsim.config import Config
from channelsim.errors import ConfigError
from channelsim.units import readable_quantity

#: Bytes of memory per agent-tracked channel: its state and blocked flag (1 byte each), its place
#: in the per-state groups and its index there (4 bytes each, 8 for a kind of 2^31 agents or more),
#: and temporaries when blocking.
AGENT_CHANNEL_BYTES = 48
#: Bytes per agent-tracked pump: its blocked flag and the temporaries of a block or ouabain step.
AGENT_PUMP_BYTES = 24
#: Bytes of one number of a recorded row (every series is 8 bytes per value).
VALUE_BYTES = 8
#: Copies of a segment's rows held at once while it is computed and written (raw rows, the series
#: computed from them, the joined segment).
SEGMENT_COPIES = 3
#: Copies of all rows a run in memory holds at its end (its segments, the joined columns, the Dataset).
IN_MEMORY_COPIES = 3
#: Temporaries besides the run's own arrays (the interpreter and the libraries are already
#: loaded when the memory available is read, so they are not counted again).
BASE_BYTES = 64 * 2**20
#: A run file's structure and the chunks its appends rewrite, besides the rows themselves.
FILE_OVERHEAD_BYTES = 4 * 2**20
#: A segment (the steps between two writes of a run file, `channelsim.engine.segments`) is at most
#: this many steps, and its rows at most SEGMENT_ROW_BYTES (uncompressed).
SEGMENT_STEPS = 2**20
SEGMENT_ROW_BYTES = 8 * 2**20
#: Bytes per row of the kernel's channel state (a channel kind, or one synapse's receptors): its
#: counts, occupancies, state groups and carries for schemes of up to 8 states and 4 ions.
KERNEL_ROW_BYTES = 1024
#: Bytes per presynaptic spike reaching a synapse: its time, its release draw, the step and the
#: synapse of a release (8 bytes each).
SPIKE_BYTES = 32
#: The transmitter array of one kernel call (steps x synapses, 1 byte each) is at most this large
#: (`channelsim.model.patch.MAX_TRANSMITTER_CELLS`).
TRANSMITTER_BYTES = 2**24


@dataclass(frozen=True)
class Needs:
    """What a run needs: steps, rows, and upper bounds of its disk and memory.

    Its steps and recorded rows, the bytes of one row, and upper bounds of its file, of its model's
    arrays and of its peak memory written to a file or run in memory.
    """

    steps: int
    rows: int
    row_bytes: int
    file_bytes: int
    model_bytes: int
    file_run_bytes: int
    in_memory_bytes: int


def row_bytes(config: Config) -> int:
    """Bytes of one recorded row of every series (uncompressed), the time included."""
    from channelsim.constants import IONS
    from channelsim.recording.layout import declared

    geometry = config.cell.geometry
    sizes = {"time": 1, "ion": len(IONS), "kind": len(config.channels) + len(config.synapses) + len(config.pumps),
             "synapse": len(config.synapses), "compartment": 1 if geometry is None else len(geometry.length)}
    series = declared(geometry is not None).series
    return VALUE_BYTES * (1 + sum(math.prod(sizes[d] for d in var.dims[1:]) for var in series.values()))


def kernel_rows(config: Config) -> int:
    """Return the rows of the kernel's channel state: a channel kind's, or one synapse's receptors."""
    return len(config.channels) + sum(entry.count for entry in config.synapses)


def segment_steps(config: Config) -> int:
    """Return the most steps a segment of a run of `config` takes.

    SEGMENT_STEPS, and rows of at most SEGMENT_ROW_BYTES (at least one recording interval): the
    recorded series, and the value each kernel row records in every row.
    """
    every = config.run.steps_per_record
    per_row = row_bytes(config) + kernel_rows(config) * VALUE_BYTES
    return min(SEGMENT_STEPS, steps(config), every * max(1, SEGMENT_ROW_BYTES // per_row))


def segment_rows(config: Config) -> int:
    """Return the most rows a segment of a run of `config` holds."""
    return segment_steps(config) // config.run.steps_per_record + 1


def model_bytes(config: Config) -> int:
    """Upper bound of the model's own arrays: per-agent state, transition tables, kernel buffers.

    Agent-tracked channels count with every channel `open` steps may add, receptors with those of
    every synapse; each synapse is a kernel row, recorded in every row of a segment.
    """
    opened = {}
    for step in config.protocol:
        if step.action == "open":
            opened[step.target] = opened.get(step.target, 0) + step.count
    agents = sum(entry.count + opened.get(entry.kind, 0) for entry in config.channels if entry.tracking == "agent")
    agents += sum(entry.count * entry.receptors for entry in config.synapses if entry.tracking == "agent")
    pumps = sum(entry.count for entry in config.pumps if entry.tracking == "agent")
    n_tables = len(config.channels) + 2 * len(config.synapses)  # a receptor's tables: transmitter absent, present
    tables = n_tables * 6 * 4001 * 8 * 8 * 8  # tables of up to 8 states, and expm's temporaries
    kernel = 32 * min(SEGMENT_STEPS, steps(config))  # per-step protocol arrays and spike buffer of one call
    synapses = (kernel_rows(config) * (KERNEL_ROW_BYTES + SEGMENT_COPIES * segment_rows(config) * VALUE_BYTES)
                + SPIKE_BYTES * math.ceil(config.presynaptic_spikes())
                + (TRANSMITTER_BYTES if config.synapses else 0))
    return agents * AGENT_CHANNEL_BYTES + pumps * AGENT_PUMP_BYTES + tables + kernel + synapses


def steps(config: Config) -> int:
    """Return the time steps of a run of `config`: its recording intervals times the steps in each."""
    return config.run.n_records * config.run.steps_per_record


def estimate(config: Config) -> Needs:
    """Estimate what running `config` needs (upper bounds)."""
    run = config.run
    rows = run.n_records + 1
    per_row = row_bytes(config)
    model = model_bytes(config)
    return Needs(
        steps=steps(config), rows=rows, row_bytes=per_row, file_bytes=rows * per_row + FILE_OVERHEAD_BYTES,
        model_bytes=model, file_run_bytes=BASE_BYTES + model + SEGMENT_COPIES * segment_rows(config) * per_row,
        in_memory_bytes=BASE_BYTES + model + IN_MEMORY_COPIES * rows * per_row)


def available_memory() -> int | None:
    """Return the memory available to a new allocation without swapping (bytes).

    MemAvailable of /proc/meminfo, else the free physical pages; None when neither is known.
    """
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _size(n_bytes: float) -> str:
    for unit, factor in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= factor:
            return f"{n_bytes / factor:.3g} {unit}"
    return f"{n_bytes:.0f} bytes"


def _fewer_rows(config: Config, max_rows: float) -> str | None:
    """Suggest a `run.record_every` that records at most `max_rows` rows.

    It is a whole multiple of dt that divides the duration, written as the config would write it;
    None if even one row per run is too many.
    """
    run = config.run
    if max_rows < 2:
        return None
    first = max(1, math.ceil(run.n_records / (max_rows - 1)))
    # the first divisor of n_records from `first` on (a bounded search: n_records itself divides it)
    factor = next((f for f in range(first, min(run.n_records, 2 * first + 1000) + 1) if run.n_records % f == 0),
                  run.n_records)
    return readable_quantity(run.dt * run.steps_per_record * factor, "time", exact=True)


def check_memory(config: Config, in_memory: bool = False, force: bool = False) -> Needs:
    """Refuse (ConfigError) a run whose arrays would not fit in the memory available, unless `force`.

    A run in memory keeps every row, a run written to a file one segment's rows.
    """
    needs = estimate(config)
    available = available_memory()
    if force or available is None:
        return needs
    if needs.model_bytes + BASE_BYTES > available:
        agents = max(config.channels, key=lambda e: e.count if e.tracking == "agent" else -1, default=None)
        if agents is not None and agents.tracking == "agent" and agents.count * AGENT_CHANNEL_BYTES > available / 4:
            raise ConfigError(f"channels.{agents.kind}.tracking", f"{agents.count:,} agent-tracked channels need "
                              f"{_size(needs.model_bytes)} of memory, more than the {_size(available)} available",
                              f"use --set channels.{agents.kind}.tracking=population (the same statistics without "
                              "per-channel memory), or pass --force-large to try anyway")
        pumps = max(config.pumps, key=lambda e: e.count if e.tracking == "agent" else -1, default=None)
        if pumps is not None and pumps.tracking == "agent":
            raise ConfigError(f"pumps.{pumps.kind}.tracking", f"{pumps.count:,} agent-tracked pumps need "
                              f"{_size(needs.model_bytes)} of memory, more than the {_size(available)} available",
                              f"use --set pumps.{pumps.kind}.tracking=population, or pass --force-large to try anyway")
        raise ConfigError("channels", f"the channels need {_size(needs.model_bytes)} of memory, more than the "
                          f"{_size(available)} available", "track them as a population, or pass --force-large")
    peak = needs.in_memory_bytes if in_memory else needs.file_run_bytes
    if peak > available:
        spare = (available - BASE_BYTES - needs.model_bytes) / (IN_MEMORY_COPIES * needs.row_bytes)
        every = _fewer_rows(config, spare) if in_memory else None
        fix = (f"record less often (e.g. run.record_every = \"{every}\"), " if every else "") + \
            "shorten run.duration, " + ("or write a run file instead (channelsim.run), or pass force_large=True"
                                        if in_memory else "or pass --force-large to try anyway")
        raise ConfigError("run.record_every", f"the run's {needs.rows:,} rows need {_size(peak)} of memory, more "
                          f"than the {_size(available)} available", fix)
    return needs


def check_disk(config: Config, output: Path, force: bool = False) -> Needs:
    """Refuse (ConfigError) a run whose file would not fit on the disk of `output`, unless `force`."""
    needs = estimate(config)
    if force:
        return needs
    folder = Path(output).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return needs
    if needs.file_bytes > free:
        every = _fewer_rows(config, (free - FILE_OVERHEAD_BYTES) / needs.row_bytes)
        fix = (f"record less often (e.g. --set run.record_every=\"{every}\"), " if every else "") + \
            "shorten run.duration, free space or choose another -o, or pass --force-large to try anyway"
        raise ConfigError("run.record_every", f"the run file would take up to {_size(needs.file_bytes)} "
                          f"({needs.rows:,} rows), more than the {_size(free)} free on {folder}", fix)
    return needs


def reserve_bytes(config: Config) -> int:
    """Return the disk a run file sets aside (`RunWriter`) to flush and close whole when the disk fills up.

    Twice a segment's rows and the chunks an append rewrites, and 1 MB; at most 64 MB.
    """
    per_row = row_bytes(config)
    return min(64 * 2**20, 2 * (segment_rows(config) + 512) * per_row + 2**20)
