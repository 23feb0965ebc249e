"""Measurements behind `python -m tests.benchmarks`: each returns numbers, nothing asserts on time.

Every measurement is paired with a baseline measured in the same run, on the same (shared,
noisy) machine, so that their ratio is the number worth comparing:

- start-up: wall and CPU time of a short `channelsim run` (warm numba cache) against `python -c
  "import numpy"`, each a fresh process;
- throughput: agent-steps per second of channelsim's agent tracking against the kernel limit,
  a plain numba kernel that gives every agent one counter-based random number per step and a
  two-state flip (`_limit_steps`), the better of its runs on all threads and on one;
- seconds per simulated second of the W2 patch (`hh_patch.toml`) scaled by area, agent and
  population tracking; the peer simulators run the same workloads (`run_peer`);
- memory per agent: the bytes of the per-agent arrays, and the peak of everything `build`
  allocates, per agent;
- recording overhead: a run written to a file (a row every 0.05 ms) and the same run in memory,
  against the run in memory recording only its end (CPU time).

Timed sections are the median of `repeats`; the simulation ones time `model.advance` after a
warm-up, so per-run set-up is excluded (start-up measures it).
"""

from __future__ import annotations

import functools
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numba
import numpy as np

from channelsim.config import load_config
from channelsim.kernels.rng import binomial
from channelsim.model import build

REPO = Path(__file__).resolve().parents[2]
HH_PATCH = Path(__file__).with_name("hh_patch.toml")
#: HH channels per um^2 of the W2 patch (60 Na+ + 18 K+) and its area at scale x1 (um^2).
CHANNELS_PER_UM2 = 78.0
W2_AREA_UM2 = 100.0
#: W1: the same membrane, deterministic (every kind a mean field), 10 uA/cm^2 from t = 0.
W1_PROTOCOL = """
[[protocol]]
action = "current_clamp"
at = "0 ms"
amplitude = "10 uA/cm^2"
duration = "1000 s"
"""


def median_wall(run, repeats: int) -> float:
    """Median wall time (s) of `repeats` calls of run()."""
    walls = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        walls.append(time.perf_counter() - started)
    return statistics.median(walls)


# -- start-up -------------------------------------------------------------------------------

def _process_times(args: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of a Python process running `args`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def startup(repeats: int) -> dict[str, tuple[float, float]]:
    """Wall and CPU time (s) of fresh processes, interleaved, medians of `repeats` (after one warm-up each).

    CPU time is what an idle machine's wall time would be (the runs use one thread), and what other
    processes on a shared machine do not inflate.

    `nernst_k, 0.05 ms`: one recording interval of `experiments/nernst_k.toml` (2000 K+ leak agents),
    one segment: the fixed cost of a run; `nernst_k`: the whole experiment (30 ms, 600 rows, one
    segment of well under a second); the stochastic HH patch experiment for 1 ms (7815 agents);
    baselines `python -c pass` and `python -c "import numpy"`.
    """
    with tempfile.TemporaryDirectory() as folder:
        commands = {
            "python -c pass": ["-c", "pass"],
            "python -c 'import numpy'": ["-c", "import numpy"],
            "channelsim run nernst_k, 0.05 ms": ["-m", "channelsim", "run", "experiments/nernst_k.toml", "--set",
                                                 "run.duration=0.05 ms", "--force", "--quiet", "-o",
                                                 f"{folder}/nernst_k_short.h5"],
            "channelsim run nernst_k": ["-m", "channelsim", "run", "experiments/nernst_k.toml", "--force", "--quiet",
                                        "-o", f"{folder}/nernst_k.h5"],
            "channelsim run stochastic_patch, 1 ms": [
                "-m", "channelsim", "run", "experiments/stochastic_patch.toml", "--set", "run.duration=1 ms",
                "--force", "--quiet", "-o", f"{folder}/stochastic_patch.h5"],
        }
        for args in commands.values():
            _process_times(args)  # warm numba's cache and the file system's
        times = {name: [] for name in commands}
        for _ in range(repeats):
            for name, args in commands.items():
                times[name].append(_process_times(args))
    return {name: (statistics.median(t[0] for t in values), statistics.median(t[1] for t in values))
            for name, values in times.items()}


# -- the kernel limit -----------------------------------------------------------------------

def _limit_steps(states, threshold, seed, n_steps):
    """Step a two-state chain per agent `n_steps` times; return the last step's open count.

    Each step, every agent flips when its counter-based uniform is below `threshold[state]`:
    splitmix64 of (step key + (i + 1) * golden gamma), as channelsim's streams draw. The least work
    an agent-based step can do (one draw, one compare, one store, one count), with the steps in
    sequence and the agents split over threads within each step, as in a simulation whose next
    step needs this step's open count.
    """
    n = states.shape[0]
    block = 16384
    n_open = 0
    for step in range(n_steps):
        key = np.uint64(seed) ^ (np.uint64(step) * np.uint64(0xD1B54A32D192ED03))
        n_open = 0
        for b in numba.prange((n + block - 1) // block):
            count = 0
            for i in range(b * block, min(n, (b + 1) * block)):
                z = key + np.uint64(i + 1) * np.uint64(0x9E3779B97F4A7C15)
                z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
                z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
                z = z ^ (z >> np.uint64(31))
                s = states[i]
                s = s ^ np.uint8(np.int64(z >> np.uint64(11)) < threshold[s])
                states[i] = s
                count += s
            n_open += count
    return n_open


#: The limit kernel on all threads, and on one (a shared machine's other load can make threads wait).
LIMIT_KERNELS = {"parallel": numba.njit(parallel=True)(_limit_steps), "serial": numba.njit(_limit_steps)}


def kernel_limit(n_agents: int, seconds: float, repeats: int) -> dict[str, float]:
    """Agent-steps per second of the limit kernel on `n_agents` (1 % flip per step), parallel and serial."""
    rates = {}
    for name, kernel in LIMIT_KERNELS.items():
        states = np.zeros(n_agents, dtype=np.uint8)
        threshold = np.array([0.01 * 2**53, 0.01 * 2**53], dtype=np.int64)
        kernel(states, threshold, 1, 1)  # compile
        steps = 1
        while True:
            started = time.perf_counter()
            kernel(states, threshold, 1, steps)
            elapsed = time.perf_counter() - started
            if elapsed > 0.05:
                break
            steps *= 4
        steps = max(1, round(steps * seconds / elapsed))
        run = functools.partial(kernel, states, threshold, 2, steps)
        rates[name] = n_agents * steps / median_wall(run, repeats)
    return rates


# -- channelsim on the HH patch -------------------------------------------------------------

def patch_config(n_channels: float, tracking: str, duration_s: float = 1.0):
    """Return the W2 patch with about `n_channels` HH channels (area scaled at W2's density)."""
    area_um2 = n_channels / CHANNELS_PER_UM2
    return load_config(HH_PATCH).updated({
        "cell.area": f"{area_um2!r} um^2", "channels.hh_na.tracking": tracking, "channels.hh_k.tracking": tracking,
        "run.duration": f"{duration_s!r} s"})


def w1_config(duration_s: float = 1.0):
    """W1: the 100 um^2 patch, every kind a mean field, 10 uA/cm^2."""
    text = HH_PATCH.read_text().replace('tracking = "agent"', 'tracking = "mean_field"') + W1_PROTOCOL
    return load_config(text).updated({"run.duration": f"{duration_s!r} s"})


def channels_of(config) -> int:
    """HH channels (the agents, under agent tracking) of a patch config."""
    return sum(e.count for e in config.channels if e.kind in ("hh_na", "hh_k"))


def advance_speed(config, seconds: float, repeats: int) -> float:
    """Wall seconds per simulated second of `model.advance`, median of `repeats`, after a warm-up.

    The run's duration must hold the warm-up and every repeat; the step count of a repeat is sized
    to take about `seconds`.
    """
    model = build(config)
    dt = config.run.dt
    model.advance(50)  # loads the kernels (or compiles them, with a cold cache)
    started = time.perf_counter()
    model.advance(50)
    per_step = (time.perf_counter() - started) / 50
    steps = max(config.run.steps_per_record, round(seconds / per_step))
    steps = min(steps, (model.total_steps - model.step_index) // max(1, repeats))
    walls = []
    for _ in range(repeats):
        started = time.perf_counter()
        model.advance(steps)
        walls.append(time.perf_counter() - started)
    return statistics.median(walls) / (steps * dt)


def memory_per_agent(n_channels: float) -> tuple[float, float]:
    """Return bytes per agent: of the per-agent arrays, and of the peak `build` allocates (tables included).

    The per-agent arrays: state, blocked and absent flags, group index and position.
    """
    config = patch_config(n_channels, "agent", 0.001)
    tracemalloc.start()
    model = build(config)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    kinds = model.kinds
    arrays = sum(a.nbytes for a in (kinds.agent_states, kinds.agent_blocked, kinds.agent_order,
                                    kinds.agent_position, model.agent_absent))
    return arrays / len(kinds.agent_states), peak / len(kinds.agent_states)


def recording_overhead(n_channels: float, durations_s: tuple[float, ...], repeats: int) -> dict:
    """Return CPU seconds of the W2 patch (agent) run three ways, by (way, duration), median of `repeats`.

    "file": `channelsim.run` to a run file, a row every 0.05 ms, the run cut into segments of about a
    second (at most 8 MB of rows), each appended, checkpointed and flushed; "memory": `simulate`, the
    same rows kept in memory; "none": `simulate` recording one row at the end. CPU time
    (`time.process_time`, these runs use one thread) rather than wall time, which other processes on
    a shared machine inflate.
    """
    import channelsim

    def config(duration_s: float, recording: bool):
        base = patch_config(n_channels, "agent", duration_s)
        return base if recording else base.updated({"run.record_every": f"{duration_s!r} s"})

    with tempfile.TemporaryDirectory() as folder:
        ways = {
            "file": lambda d: channelsim.run(config(d, True), f"{folder}/run.h5", force=True),
            "memory": lambda d: channelsim.simulate(config(d, True)),
            "none": lambda d: channelsim.simulate(config(d, False)),
        }
        for way in ways.values():
            way(durations_s[0])  # warm-up
        cpu = {(name, d): [] for name in ways for d in durations_s}
        for _ in range(repeats):
            for (name, d) in cpu:
                started = time.process_time()
                ways[name](d)
                cpu[name, d].append(time.process_time() - started)
    return {key: statistics.median(values) for key, values in cpu.items()}


# -- peers ----------------------------------------------------------------------------------

def run_peer(peers: Path, python: Path, script: str, args: list[str]) -> dict:
    """Run one peer job (its own process) and return its RESULT record, or {"error": ...}."""
    try:
        done = subprocess.run([str(python), script, *args], cwd=peers, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        return {"error": "timed out after 900 s"}
    records = [json.loads(line[7:]) for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not records:
        return {"error": (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no RESULT line"]}
    return records[-1]


def seconds_per_simulated_second(record: dict) -> float:
    """Return a peer record's median wall time per simulated second (W1 runs 1 s)."""
    simulated_s = record["T_ms"] / 1e3 if "T_ms" in record else 1.0
    return record["median_s"] / simulated_s


def machine() -> dict[str, str]:
    """CPU model, cores, load average and library versions, for the table's caption."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    return {"cpu": model, "cores": str(os.cpu_count()), "load": f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}",
            "numba threads": str(numba.get_num_threads()), "python": sys.version.split()[0],
            "numpy": np.__version__, "numba": numba.__version__}


def log10_label(n: float) -> str:
    """'1e4'-style label of a channel count."""
    exponent = math.log10(n)
    return f"1e{exponent:.0f}" if abs(exponent - round(exponent)) < 1e-9 else f"{n:,.0f}"


# -- what limits them -----------------------------------------------------------------------

def changing_fraction() -> float:
    """Fraction of the W2 patch's HH channels that change state in one step at rest (expected)."""
    from channelsim.kernels.agent_events import expected_transitions

    model = build(patch_config(1e4, "agent"))
    kinds, v_index = model.kinds, round((model.voltage - model.membrane.v_min) / model.membrane.v_step)
    changing = sum(expected_transitions(kinds.agent_group_start[k], kinds.table[k, v_index], kinds.n_states[k])
                   for k in range(len(kinds.n_states)) if kinds.agent_offset[k + 1] > kinds.agent_offset[k])
    return changing / len(kinds.agent_states)


@numba.njit(cache=False)
def _binomial_draws(n, p, draws):
    state, total = np.uint64(12345), 0
    for _ in range(draws):
        k, state = binomial(n, p, state)
        total += k
    return total


def binomial_cost(n: int, p: float, repeats: int) -> float:
    """Wall seconds per exact Binomial(n, p) draw of channelsim's sampler (population tracking's unit of work)."""
    _binomial_draws(n, p, 10)
    draws = 20_000
    return median_wall(functools.partial(_binomial_draws, n, p, draws), repeats) / draws
