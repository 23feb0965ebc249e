"""Parameter sweeps: one run file per grid point and seed, and a summary that indexes them.

The cross product of the grid (keys as in ``--set``, protocol entries included) and the seeds
runs in local worker processes, or on a Dask distributed cluster when a scheduler address is
given; each worker uses one numba thread so the cores are not oversubscribed. Seeds come from
``numpy.random.SeedSequence(run.seed).spawn``, so they are independent and reproducible. Running
the same sweep again skips the runs that are complete and resumes the interrupted ones; a point
that fails is recorded with its error and does not stop the others.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import xarray as xr

from channelsim.analysis import electrode_potential
from channelsim.config import Config, load_config_text, resolved_toml
from channelsim.errors import ConfigError, RunFileError

#: The summary file in the sweep's folder.
SUMMARY_NAME = "summary.nc"


@dataclass(frozen=True)
class Point:
    """One run of a sweep: its position in the grid, its settings, seed and run file."""

    index: tuple[int, ...]  # position along each grid key, then the seed's
    settings: dict[str, str]
    seed: int
    path: Path
    config_text: str  # the resolved config of this point


def sweep_seeds(base_seed: int, count: int) -> list[int]:
    """Independent seeds for `count` repeats, spawned from the config's own seed (0 <= s < 2^63)."""
    children = np.random.SeedSequence(base_seed).spawn(count)
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in children]


def parse_grid(items: Iterable[str]) -> dict[str, list[str]]:
    """``KEY=V1,V2,...`` command-line grid axes as a mapping of key to values."""
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or "." not in key or not values.strip():
            raise ConfigError(f"--grid {item}", "is not KEY=V1,V2,... with a dotted key",
                              'write e.g. --grid outside.K="2.5 mM,5 mM,10 mM"')
        grid[key.strip()] = [value.strip() for value in values.split(",") if value.strip()]
    return grid


def plan(config: Config, grid: Mapping[str, Sequence], seeds: int, directory: Path) -> list[Point]:
    """Every point of the sweep, each config validated now, so a bad value stops nothing half-run."""
    if seeds < 1:
        raise ConfigError("--seeds", f"{seeds} repeats", "give at least 1")
    keys = list(grid)
    for key in keys:
        if not grid[key]:
            raise ConfigError(f"--grid {key}", "has no values", "give at least one value")
    points = []
    seed_values = sweep_seeds(config.run.seed, seeds)
    for combination in itertools.product(*(range(len(grid[key])) for key in keys)):
        settings = {key: grid[key][i] for key, i in zip(keys, combination, strict=True)}
        resolved = config.updated(settings)
        for s, seed in enumerate(seed_values):
            name = "_".join([f"{key}={_file_safe(settings[key])}" for key in keys] + [f"seed{s}"])
            seeded = resolved.model_copy(update={"run": resolved.run.model_copy(update={"seed": seed})})
            points.append(Point((*combination, s), {k: str(v) for k, v in settings.items()}, seed,
                                directory / "runs" / f"{name}.h5", resolved_toml(seeded)))
    return points


def _file_safe(value: object) -> str:
    return "".join(c if c.isalnum() or c in ".-" else "" for c in str(value).replace(" ", ""))


def run_point(point: Point) -> dict:
    """Run (or resume, or reuse) one point in this process and return its summary values.

    Meant for worker processes: it pins numba to one thread, and reports a failure as values
    (status `failed` and the error) instead of raising.
    """
    import numba

    numba.set_num_threads(1)
    from channelsim.engine import resume_experiment, run_experiment

    try:
        state = _status(point)
        if state != "complete":
            if state in ("interrupted", "running", "failed"):
                resume_experiment(point.path, command="channelsim sweep (resumed)", progress=False)
            else:
                config = load_config_text(point.config_text, origin=str(point.path))
                point.path.parent.mkdir(parents=True, exist_ok=True)
                run_experiment(config, point.path, seed=point.seed, command="channelsim sweep", force=True,
                               progress=False)
        return summarise(point.path)
    except Exception as error:  # one failed point must not stop the sweep
        return {"status": "failed", "error": f"{type(error).__name__}: {error}"}


def _status(point: Point) -> str | None:
    """Status of the point's run file if it holds this point's run (same config and seed), else None."""
    from channelsim.recording.reader import stored_run

    if not point.path.exists():
        return None
    try:
        config_text, seed, status = stored_run(point.path, with_status=True)
    except RunFileError:
        return None
    return status if (config_text, seed) == (point.config_text, point.seed) else None


def summarise(path: Path) -> dict:
    """Read the summary values of one run file: final V, spikes, ions moved, status."""
    from channelsim import open_run

    ds = open_run(path)
    duration = float(ds.time[-1])
    moved = ds.ions_moved.isel(time=-1).values
    return {"status": str(ds.attrs["status"]), "error": "",
            "final_potential": float(electrode_potential(ds)[-1]),
            "spike_count": int(ds.sizes["spike"]), "spike_rate": ds.sizes["spike"] / duration if duration else 0.0,
            "ions_moved": moved.astype(np.int64), "ions": [str(ion) for ion in ds.ion.values]}


def sweep(config: Config, grid: Mapping[str, Sequence], seeds: int = 1, directory: str | Path = "data/sweeps/sweep",
          workers: int | None = None, scheduler: str | None = None, progress: bool = False) -> xr.Dataset:
    """Run a sweep and return its summary (also written to ``directory/summary.nc``).

    Parameters
    ----------
    config : Config
        The experiment every point starts from.
    grid : mapping of str to sequence
        Values per ``--set`` key, e.g. ``{"outside.K": ["2.5 mM", "10 mM"]}``; the sweep is their
        cross product.
    seeds : int
        Repeats per grid point, with seeds spawned from ``config.run.seed``.
    directory : path
        Where the run files (``runs/``) and the summary go.
    workers : int, optional
        Local worker processes (default: the number of cores); ignored with `scheduler`.
    scheduler : str, optional
        Address of a Dask distributed scheduler (e.g. ``tcp://10.0.0.5:8786``) to run on instead.
    progress : bool
        Show a progress bar over runs.
    """
    directory = Path(directory)
    points = plan(config, {key: list(values) for key, values in grid.items()}, seeds, directory)
    directory.mkdir(parents=True, exist_ok=True)
    # runs already complete are summarised here: a rerun only starts workers for what is left
    results = {number: summarise(point.path) for number, point in enumerate(points) if _status(point) == "complete"}
    pending = [number for number in range(len(points)) if number not in results]
    runner = _dask_runs if scheduler else _local_runs
    from tqdm import tqdm

    with tqdm(total=len(points), initial=len(results), unit="run", disable=not progress, file=sys.stderr,
              desc="sweep") as bar:
        if pending:
            for number, values in runner([points[n] for n in pending], workers, scheduler):
                results[pending[number]] = values
                bar.update(1)
    summary = _summary(points, results, {key: list(values) for key, values in grid.items()}, seeds)
    summary.to_netcdf(directory / SUMMARY_NAME, engine="h5netcdf")
    return summary


def _local_runs(points: list[Point], workers: int | None, scheduler: str | None):
    """Yield (point number, summary values) as local worker processes finish them."""
    workers = min(workers or os.cpu_count() or 1, len(points))
    # spawn: a fresh interpreter per worker (forking a process that holds numba threads is unsafe)
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(run_point, point): number for number, point in enumerate(points)}
        for future in as_completed(futures):
            yield futures[future], future.result()


def _dask_runs(points: list[Point], workers: int | None, scheduler: str | None):
    """Yield (point number, summary values) as the Dask cluster at `scheduler` finishes them."""
    from dask.distributed import Client
    from dask.distributed import as_completed as dask_completed

    with Client(scheduler) as client:
        futures = {client.submit(run_point, point, pure=False): number for number, point in enumerate(points)}
        for future in dask_completed(list(futures)):
            yield futures[future], future.result()


def _summary(points: list[Point], results: dict[int, dict], grid: dict[str, list], seeds: int) -> xr.Dataset:
    """Build the summary Dataset: one entry per grid value and seed, with its values and file."""
    shape = tuple(len(values) for values in grid.values()) + (seeds,)
    ions = next((r["ions"] for r in results.values() if "ions" in r), ["K", "Na", "Cl", "Ca"])
    arrays: dict[str, np.ndarray] = {
        "final_potential": np.full(shape, np.nan), "spike_count": np.full(shape, -1, dtype=np.int64),
        "spike_rate": np.full(shape, np.nan), "ions_moved": np.zeros((*shape, len(ions)), dtype=np.int64),
        "status": np.full(shape, "", dtype=object), "error": np.full(shape, "", dtype=object),
        "file": np.full(shape, "", dtype=object), "seed_value": np.zeros(shape, dtype=np.int64)}
    for number, point in enumerate(points):
        values = results[number]
        arrays["status"][point.index] = values["status"]
        arrays["error"][point.index] = values["error"]
        arrays["file"][point.index] = str(point.path)
        arrays["seed_value"][point.index] = point.seed
        if "final_potential" in values:
            for name in ("final_potential", "spike_count", "spike_rate", "ions_moved"):
                arrays[name][point.index] = values[name]
    dims = (*grid, "seed")
    described: dict[str, tuple[str, str]] = {
        "final_potential": ("V", "membrane potential at the end of the run"),
        "spike_count": ("count", "spikes recorded (-1: the run failed)"),
        "spike_rate": ("1/s", "spikes per second of simulated time"),
        "ions_moved": ("count", "net ions that entered the cell by the end of the run"),
        "status": ("", "status of the run file (complete, interrupted, failed)"),
        "error": ("", "why the run failed ('' if it did not)"),
        "file": ("", "the run file"), "seed_value": ("", "the run's seed")}
    variables = {name: ((*dims, "ion") if name == "ions_moved" else dims,
                        arrays[name].astype(str) if arrays[name].dtype == object else arrays[name],
                        {"units": described[name][0], "long_name": described[name][1]} if described[name][0]
                        else {"long_name": described[name][1]})
                 for name in arrays}
    coords = {key: (key, np.array([str(v) for v in values])) for key, values in grid.items()}
    coords |= {"seed": ("seed", np.arange(seeds)), "ion": ("ion", np.array(ions))}
    return xr.Dataset(variables, coords=coords, attrs={"grid": ", ".join(grid), "runs": len(points)})

