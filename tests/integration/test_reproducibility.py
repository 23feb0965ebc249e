"""Same config and seed: bit-identical run files, whatever the number of numba threads."""

import os
import subprocess
import sys

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
