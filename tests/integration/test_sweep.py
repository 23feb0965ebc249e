"""Sweeps: the cross product of a grid and seeds.

Local workers or a Dask cluster, reruns that finish what is left, failures recorded per point.
"""

from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import channelsim
from channelsim.cli import main
from channelsim.errors import ConfigError
from channelsim.sweep import SUMMARY_NAME, sweep, sweep_seeds

ROOT = Path(__file__).parents[2]
GRID = {"outside.K": ["5 mM", "40 mM"]}


@pytest.fixture(scope="module")
def config():
    return channelsim.load_config(ROOT / "experiments/few_ions.toml").updated(
        {"run.duration": "2 ms", "cell.radius": "2 um"})


@pytest.fixture(scope="module")
def swept(config, tmp_path_factory):
    directory = tmp_path_factory.mktemp("sweep")
    return directory, sweep(config, GRID, seeds=2, directory=directory, workers=2)


def test_every_point_and_seed_is_a_complete_run_indexed_in_the_summary(config, swept):
    directory, summary = swept
    assert dict(summary.sizes) == {"outside.K": 2, "seed": 2, "ion": 4}
    assert list(summary["outside.K"].values) == GRID["outside.K"]
    assert (summary.status == "complete").all()
    np.testing.assert_array_equal(summary.seed_value.sel({"outside.K": "5 mM"}), sweep_seeds(config.run.seed, 2))
    for k in GRID["outside.K"]:
        for s in range(2):
            point = summary.sel({"outside.K": k, "seed": s})
            ds = channelsim.open_run(str(point.file.values))
            assert ds.attrs["seed"] == int(point.seed_value)
            assert float(ds.concentration_outside.sel(ion="K")[0]) == pytest.approx(float(k.split()[0]))
            assert float(point.final_potential) == float(ds.membrane_potential[-1])
            np.testing.assert_array_equal(point.ions_moved.values, ds.ions_moved.isel(time=-1).values)
    # the summary on disk reads back the same
    import xarray as xr

    xr.testing.assert_identical(xr.open_dataset(directory / SUMMARY_NAME, engine="h5netcdf").load(), summary)
    # raising [K]o depolarises (2 ms in, still on the way from 0 mV to E_K: by ~23 mV, while the
    # thermal noise of this 0.5 pF cell is sqrt(kT/C) = 0.09 mV)
    shift = summary.final_potential.sel({"outside.K": "40 mM"}) - summary.final_potential.sel({"outside.K": "5 mM"})
    assert np.all(shift > 0.01)


def test_spawned_seeds_are_independent_and_reproducible():
    seeds = sweep_seeds(1, 5)
    assert seeds == sweep_seeds(1, 5) and len(set(seeds)) == 5 and all(0 <= s < 2**63 for s in seeds)
    assert sweep_seeds(2, 5) != seeds


def test_a_rerun_skips_complete_runs_and_resumes_interrupted_ones(config, swept):
    directory, summary = swept
    files = [Path(str(f)) for f in summary.file.values.ravel()]
    before = {f: f.stat().st_mtime_ns for f in files}
    interrupted = files[0]
    with h5py.File(interrupted, "r+") as f:
        f.attrs["status"] = "interrupted"
    again = sweep(config, GRID, seeds=2, directory=directory, workers=2)
    assert (again.status == "complete").all()
    assert all(f.stat().st_mtime_ns == before[f] for f in files[1:])  # not touched
    assert interrupted.stat().st_mtime_ns != before[interrupted]  # resumed
    np.testing.assert_array_equal(again.final_potential, summary.final_potential)


def test_a_failed_point_is_recorded_and_does_not_stop_the_others(config, tmp_path):
    # more inside Cl- than cations: no amount of impermeant anions gives the initial voltage
    summary = sweep(config, {"inside.Cl": ["10 mM", "400 mM"]}, directory=tmp_path, workers=2)
    assert str(summary.status.sel({"inside.Cl": "10 mM", "seed": 0}).values) == "complete"
    failed = summary.sel({"inside.Cl": "400 mM", "seed": 0})
    assert str(failed.status.values) == "failed" and "anions outweigh the cations" in str(failed.error.values)
    assert int(failed.spike_count) == -1 and np.isnan(float(failed.final_potential))


def test_a_bad_grid_value_stops_before_anything_runs(config, tmp_path):
    with pytest.raises(ConfigError, match="outside.K"):
        sweep(config, {"outside.K": ["5 mM", "five"]}, directory=tmp_path)
    assert not any(tmp_path.iterdir())


def test_the_cli_runs_a_sweep(tmp_path):
    result = CliRunner().invoke(main, ["sweep", str(ROOT / "experiments/few_ions.toml"), "-o", str(tmp_path),
                                       "--grid", "cell.radius=1 um,2 um", "--set", 'run.duration="1 ms"',
                                       "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "2 runs, 0 not complete" in result.output and (tmp_path / SUMMARY_NAME).is_file()
    result = CliRunner().invoke(main, ["sweep", str(ROOT / "experiments/few_ions.toml"), "-o", str(tmp_path),
                                       "--grid", "cell.radius"])
    assert result.exit_code == 2 and "--grid cell.radius" in result.output


def test_a_dask_cluster_runs_the_same_sweep(config, swept, tmp_path):
    from dask.distributed import LocalCluster

    _, local = swept
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_dask = sweep(config, GRID, seeds=2, directory=tmp_path, scheduler=cluster.scheduler_address)
    np.testing.assert_array_equal(on_dask.final_potential, local.final_potential)
    np.testing.assert_array_equal(on_dask.ions_moved, local.ions_moved)
