"""The Python API for notebooks, and the model through Mesa's own API."""

from pathlib import Path

import mesa
import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

import channelsim
from channelsim.cli import main
from channelsim.errors import ConfigError
from channelsim.model import MembranePatch

ROOT = Path(__file__).parents[2]
NERNST = ROOT / "experiments/nernst_k.toml"
SHORT = {"run.duration": "2 ms", "channels.k_leak.count": 300}


@pytest.fixture(scope="module")
def config():
    return channelsim.load_config(NERNST).updated(SHORT)


def test_simulate_gives_exactly_what_open_run_reads_from_the_file(config, tmp_path):
    path = channelsim.run(config, tmp_path / "run.h5", seed=5)
    on_disk = channelsim.open_run(path)
    in_memory = channelsim.simulate(config, seed=5)
    assert on_disk.attrs.keys() == in_memory.attrs.keys()
    assert {k: v for k, v in on_disk.attrs.items() if k != "created"} == \
        {k: v for k, v in in_memory.attrs.items() if k != "created"}
    xr.testing.assert_identical(on_disk.drop_attrs(deep=False), in_memory.drop_attrs(deep=False))


def test_simulate_of_a_synaptic_run_is_its_run_file(tmp_path):
    """Synapses through the Python API: releases[time, synapse], on_membrane and the synapse coordinate."""
    quanta = channelsim.load_config(ROOT / "experiments/quantal_release.toml").updated(
        {"protocol.0.count": 8, "run.duration": "0.2 s"})
    on_disk = channelsim.open_run(channelsim.run(quanta, tmp_path / "quanta.h5", seed=3))
    in_memory = channelsim.simulate(quanta, seed=3)
    xr.testing.assert_identical(on_disk.drop_attrs(deep=False), in_memory.drop_attrs(deep=False))
    assert list(in_memory.synapse.values) == ["excitatory"] and 0 < int(in_memory.releases[-1, 0]) <= 8 * 5


def test_load_config_takes_a_path_or_text_and_updated_takes_set_keys():
    text = NERNST.read_text()
    assert channelsim.load_config(text) == channelsim.load_config(NERNST) == channelsim.load_config(str(NERNST))
    base = channelsim.load_config(ROOT / "experiments/hyperkalaemia.toml")
    changed = base.updated({"outside.K": "20 mM", "protocol.0.at": "5 ms",
                            "channels.k_leak.count": None, "channels.k_leak.density": "1 /um^2"})
    assert changed.outside.K == pytest.approx(20.0) and base.outside.K != changed.outside.K
    assert changed.protocol[0].at == pytest.approx(5e-3)
    assert changed.channels[[e.kind for e in changed.channels].index("k_leak")].count == \
        round(1e12 * changed.cell.area_m2)  # None removed the count, so the density sets it
    with pytest.raises(ConfigError, match="protocol.99.at: the config has"):
        base.updated({"protocol.99.at": "5 ms"})


def test_set_reaches_protocol_entries_by_index(tmp_path):
    out = tmp_path / "run.h5"
    result = CliRunner().invoke(main, ["run", str(ROOT / "experiments/pump_electrogenic.toml"), "-o", str(out),
                                       "--quiet", "--set", 'run.duration="20 ms"', "--set", 'protocol.0.at="10 ms"'])
    assert result.exit_code == 0, result.output
    blocked = channelsim.open_run(out).blocked_fraction.sel(kind="na_k_atpase")
    assert float(blocked.sel(time=9e-3, method="nearest")) == 0.0
    assert float(blocked.sel(time=11e-3, method="nearest")) == 1.0


def test_mesa_run_model_and_datacollector_follow_the_run(config):
    model = channelsim.build(config, seed=5)
    assert isinstance(model, mesa.Model) and model.running
    model.run_model()
    assert not model.running and model.steps == config.run.n_records
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == config.run.n_records + 1  # t = 0 and every step
    reference = channelsim.simulate(config, seed=5)
    np.testing.assert_array_equal(frame["membrane_potential"].to_numpy(), reference.membrane_potential.values)
    k_inside = [row["K"] for row in frame["ions_inside"]]
    np.testing.assert_array_equal(k_inside, reference.ions_inside.sel(ion="K").values)
    assert model.membrane_potential == reference.membrane_potential.values[-1]
    assert model.simulated_time == pytest.approx(float(reference.time[-1]))


def test_mesa_seed_conventions_match_the_cli(config, tmp_path):
    path = tmp_path / "cli.h5"
    config_file = tmp_path / "config.toml"
    from channelsim.config import resolved_toml

    config_file.write_text(resolved_toml(config))
    assert CliRunner().invoke(main, ["run", str(config_file), "-o", str(path), "--seed", "9",
                                     "--quiet"]).exit_code == 0
    cli_v = channelsim.open_run(path).membrane_potential.values
    for model in (MembranePatch(config, seed=9), MembranePatch(config, rng=9)):
        model.run_model()
        np.testing.assert_array_equal(model.datacollector.get_model_vars_dataframe()["membrane_potential"], cli_v)
    with pytest.raises(ValueError, match="not both"):
        MembranePatch(config, seed=1, rng=1)


def test_mesa_batch_run_sweeps_a_setting():
    results = mesa.batch_run(MembranePatch, parameters={
        "config": str(NERNST), "seed": 2,
        "settings": [{"run.duration": "30 ms", "outside.K": k} for k in ("5 mM", "40 mM")]},
        number_processes=1, data_collection_period=-1, display_progress=False)
    final = {run["settings"]["outside.K"]: run["membrane_potential"] for run in results}
    # raising [K]o depolarises: E_K moves by (RT/F) ln 8 = 55.6 mV at 37 degC
    assert final["40 mM"] - final["5 mM"] == pytest.approx(0.0556, abs=0.002)
