"""The HDF5 run file: public layout, units, resolved config, readable by xarray."""

import tomllib

import numpy as np
import pytest
import xarray as xr

import channelsim
from channelsim.config import load_config, parse_config
from channelsim.engine import run_experiment
from channelsim.errors import RunFileError
from channelsim.recording.layout import CONSTANTS, SERIES
from tests.helpers import make_config

CHANNELS = [{"kind": "k_leak", "count": 500, "open_probability": 0.5},
            {"kind": "na_leak", "count": 20, "tracking": "population"}]


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "run.h5"
    config = make_config(CHANNELS, ['run.duration="2 ms"'])
    run_experiment(config, path, seed=11, command="test", progress=False)
    return path, config


def test_xarray_opens_the_file_with_named_dimensions_and_units(run_file):
    path, config = run_file
    for ds in (channelsim.open_run(path), xr.open_dataset(path, engine="h5netcdf")):
        assert ds.membrane_potential.dims == ("time",)
        assert ds.ions_inside.dims == ("time", "ion")
        assert ds.open_channels.dims == ("time", "kind")
        assert list(ds.ion.values) == ["K", "Na", "Cl", "Ca"]
        assert list(ds.kind.values) == ["k_leak", "na_leak"]
        assert ds.sizes["time"] == config.run.n_records + 1
        for name, var in {**SERIES, **CONSTANTS}.items():
            assert ds[name].attrs["units"] == var.units, name
        assert ds.time.attrs["units"] == "s"
        np.testing.assert_allclose(ds.time.values, np.arange(21) * 1e-4, rtol=1e-12)


def test_root_attributes_and_the_resolved_config_reproduce_the_run(run_file, tmp_path):
    path, config = run_file
    ds = channelsim.open_run(path)
    assert ds.attrs["status"] == "complete"
    assert ds.attrs["seed"] == 11
    assert ds.attrs["command"] == "test"
    assert ds.attrs["channelsim_version"] == channelsim.__version__
    stored = parse_config(tomllib.loads(ds.attrs["config"]))
    assert stored.run.seed == 11
    assert stored.channels[0].permeability == config.channels[0].permeability
    # the stored config alone reruns to identical data
    rerun = tmp_path / "rerun.toml"
    rerun.write_text(ds.attrs["config"])
    again = run_experiment(load_config(rerun), tmp_path / "again.h5", progress=False)
    ds2 = channelsim.open_run(again)
    for name in SERIES:
        np.testing.assert_array_equal(ds[name].values, ds2[name].values)


def test_open_run_rejects_what_is_not_a_run(tmp_path):
    with pytest.raises(RunFileError, match="no such run file"):
        channelsim.open_run(tmp_path / "missing.h5")
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all")
    with pytest.raises(RunFileError, match="not a readable HDF5 file"):
        channelsim.open_run(junk)
    import h5py

    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    with pytest.raises(RunFileError, match="not a channelsim run file"):
        channelsim.open_run(tmp_path / "other.h5")
