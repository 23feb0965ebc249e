"""Same config and seed: bit-identical run files, whatever the number of numba threads."""

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np

from channelsim.recording.layout import SERIES

CONFIG = """
[experiment]
name = "threads"
[run]
duration = "1 ms"
dt = "10 us"
record_every = "0.1 ms"
[cell]
radius = "10 um"
initial_voltage = "-30 mV"
[[channels]]
kind = "k_leak"
count = 250000          # above the parallel threshold (1e5): the threaded kernel runs
open_probability = 0.5
mean_open_time = "0.2 ms"
[[channels]]
kind = "na_leak"
count = 5000
tracking = "population"
open_probability = 0.5
"""


def run_cli(tmp_path, name, threads, seed):
    config = tmp_path / "threads.toml"
    config.write_text(CONFIG)
    output = tmp_path / f"{name}.h5"
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
    subprocess.run([sys.executable, "-m", "channelsim.cli", "run", str(config), "-o", str(output),
                    "--seed", str(seed), "--quiet"], check=True, env=env)
    with h5py.File(output) as f:
        return {name: f[name][()] for name in SERIES}


def test_bit_identical_for_one_and_two_threads_and_seed_sensitive(tmp_path):
    one = run_cli(tmp_path, "one", threads=1, seed=5)
    two = run_cli(tmp_path, "two", threads=2, seed=5)
    other = run_cli(tmp_path, "other", threads=2, seed=6)
    for name in SERIES:
        np.testing.assert_array_equal(one[name], two[name], err_msg=name)
    assert not np.array_equal(one["open_channels"], other["open_channels"])
    assert not np.array_equal(one["efflux"], other["efflux"])


def test_the_order_of_config_entries_does_not_change_the_run():
    from channelsim.config import load_config
    from tests.helpers import simulate

    config = load_config(Path(__file__).parents[2] / "experiments/ghk_rest.toml",
                         ['run.duration="5 ms"', "channels.na_leak.tracking=population",
                          "channels.k_leak.open_probability=0.5"])
    shuffled = config.model_copy(update={"channels": config.channels[::-1]})
    a, b = simulate(config), simulate(shuffled)
    for name in ("membrane_potential", "ions_inside", "efflux", "open_channels"):
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_rerun_from_a_run_file_is_bit_identical(tmp_path):
    from click.testing import CliRunner

    from channelsim.cli import main

    first, again = tmp_path / "first.h5", tmp_path / "again.h5"
    config = Path(__file__).parents[2] / "experiments/ghk_rest.toml"
    runner = CliRunner()
    overrides = ["--set", 'run.duration="3 ms"', "--set", "channels.k_leak.open_probability=0.4"]
    first_run = ["run", str(config), "-o", str(first), "--seed", "9", "--quiet", *overrides]
    assert runner.invoke(main, first_run).exit_code == 0
    assert runner.invoke(main, ["run", "--from", str(first), "-o", str(again), "--quiet"]).exit_code == 0
    with h5py.File(first) as a, h5py.File(again) as b:
        assert a.attrs["seed"] == b.attrs["seed"] == 9 and a.attrs["config"] == b.attrs["config"]
        for name in SERIES:
            np.testing.assert_array_equal(a[name][()], b[name][()], err_msg=name)
