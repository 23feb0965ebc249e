"""Issue 12's speed target: a 10 mm axon of 2,000 compartments with agent-tracked HH channels.

What is measured: wall-clock seconds of `simulate` (in memory, no file) for 20 ms of simulated
time of `experiments/propagation.toml` lengthened to 10 mm (2,000 compartments of 5 um, 1 um
diameter, 18.5 degC, dt = 10 us: 2,000 steps) in each tracking mode: agent (2.45 million channels,
each its own Markov state), population and mean_field. The target is under a minute on 2 cores for
agent tracking. The patch build (tables, initial states) is included; numba compilation is done
first and printed apart. The impulse must reach the far end in every mode, so that a fast but
broken run is not benchmarked silently. Nothing asserts on time (the machine is shared). The CPU time
is printed beside the wall time: every kernel row holds ~1,000 agents, below the threshold of the
threaded sweep, so the run uses one core and its CPU time is its wall time on an idle machine.

Run with `pytest tests/benchmarks/test_cable_benchmark.py -s`.
"""

import time
from pathlib import Path

import pytest

from channelsim import simulate
from channelsim.conduction import conduction_velocity, propagation
from channelsim.config import load_config

CONFIG = Path(__file__).parents[2] / "experiments/propagation.toml"
SETTINGS = {"cell.length": "10 mm", "run.duration": "20 ms", "run.record_every": "0.1 ms"}


@pytest.mark.parametrize("tracking", ["agent", "population", "mean_field"])
def test_ten_millimetre_axon(tracking):
    config = load_config(CONFIG).updated(SETTINGS | {f"channels.{kind}.tracking": tracking
                                                     for kind in ("hh_na", "hh_k", "cl_leak")})
    started = time.perf_counter()
    simulate(config.updated({"run.duration": "1 ms"}))  # numba compilation or cache load
    warm = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    ds = simulate(config)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    channels = int(ds.agent_count.sum())
    print(f"\n{tracking}: {ds.sizes['compartment']} compartments, {channels:,} channels, 20 ms simulated in "
          f"{seconds:.1f} s wall, {cpu:.1f} s CPU (warm-up {warm:.1f} s); velocity {conduction_velocity(ds):.3f} m/s")
    assert ds.sizes["compartment"] == 2000
    assert not propagation(ds).failed
