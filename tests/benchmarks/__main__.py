"""Run the benchmarks and print their table (Markdown): `python -m tests.benchmarks [--quick]`.

Sections: start-up, agent and population throughput from 1e3 to 1e7 channels against the kernel
limit, memory per agent, recording overhead, and the peer workloads W1 and W2 (NEURON, Brian2,
Myokit, numpy) measured in the same run, each as a ratio to a baseline of the same run
(`tests/benchmarks/measure.py` says what each measures).

The peers are scripts in their own folder with their own Python environment (`--peers DIR`,
`--peers-python PATH`; `--setup-peers` builds the environment first by the folder's `setup.sh`).
Without them the peer rows say "not installed" and show reference numbers of an earlier run,
marked as such. The full run takes 6-9 minutes on 2 cores, `--quick` about 4.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from tests.benchmarks import measure

#: Peer jobs: (workload, HH channels, peer, script, arguments). W2 simulated times are cut where a
#: peer is slow; rates are per simulated second.
PEER_JOBS = [
    ("W1", 0, "Myokit CVODES", "w1_myokit.py", []),
    ("W1", 0, "NEURON fixed step", "w1_neuron.py", []),
    ("W1", 0, "NEURON CVODE", "w1_neuron.py", ["--cvode=1"]),
    ("W1", 0, "Brian2 C++ standalone", "w1_brian2.py", ["--target=cpp_standalone"]),
    ("W2", 7_800, "NEURON channel-number", "w2_neuron.py", ["--scale=1"]),
    ("W2", 78_000, "NEURON channel-number", "w2_neuron.py", ["--scale=10"]),
    ("W2", 780_000, "NEURON channel-number", "w2_neuron.py", ["--scale=100"]),
    ("W2", 7_800, "numpy per-channel", "w2_numpy.py", ["--scale=1", "--T_ms=100"]),
    ("W2", 7_800, "Brian2 C++ per-channel", "w2_brian2.py",
     ["--mode=channels", "--target=cpp_standalone", "--scale=1", "--T_ms=100"]),
]
#: Seconds per simulated second from the peers' reference run (2026-11-25, same kind of machine, load
#: 1-3): shown only when a peer is not installed, marked "reference".
PEER_REFERENCE = {
    ("W1", 0, "Myokit CVODES"): 0.032, ("W1", 0, "NEURON fixed step"): 0.266, ("W1", 0, "NEURON CVODE"): 0.056,
    ("W1", 0, "Brian2 C++ standalone"): 0.137,
    ("W2", 7_800, "NEURON channel-number"): 0.625, ("W2", 78_000, "NEURON channel-number"): 0.555,
    ("W2", 780_000, "NEURON channel-number"): 0.757, ("W2", 7_800, "numpy per-channel"): 17.1,
    ("W2", 7_800, "Brian2 C++ per-channel"): 15.8,
}
SIZES = (1e3, 1e4, 1e5, 1e6, 1e7)


def table(header: list[str], rows: list[list[str]]) -> str:
    """Format a Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def g(x: float, digits: int = 3) -> str:
    """Format a number to `digits` significant digits."""
    return f"{x:.{digits}g}"


def setup_peers(peers: Path, build: Path, venv: Path) -> None:
    """Copy the peers' folder to `build` (its mechanisms compile in place) and run its setup.sh."""
    if build.exists():
        shutil.rmtree(build)
    shutil.copytree(peers, build)
    for path in [build, *build.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    subprocess.run(["bash", "setup.sh", str(venv)], cwd=build, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and shorter timings (about 4 min)")
    parser.add_argument("--peers", type=Path, help="folder of the peer workload scripts (W1, W2)")
    parser.add_argument("--peers-python", type=Path, help="Python of the peers' environment (with NEURON, "
                        "Brian2, Myokit); default: bin/python of --setup-peers' environment")
    parser.add_argument("--setup-peers", type=Path, metavar="VENV",
                        help="first build the peers' environment at VENV by their setup.sh (about 2 min), in a "
                             "writable copy of --peers next to it")
    args = parser.parse_args()
    repeats, seconds = (3, 0.3) if args.quick else (5, 1.0)
    peers, python = args.peers, args.peers_python
    if args.setup_peers:
        if peers is None:
            parser.error("--setup-peers needs --peers DIR")
        build = args.setup_peers.with_name(args.setup_peers.name + "-src")
        setup_peers(peers, build, args.setup_peers)
        peers, python = build, python or args.setup_peers / "bin" / "python"

    machine = measure.machine()
    print("## Machine\n")
    print(", ".join(f"{k}: {v}" for k, v in machine.items()) + f"; {'quick' if args.quick else 'full'} run\n")

    print("## Start-up (fresh processes, warm numba cache)\n", flush=True)
    times = measure.startup(repeats)
    wall0, cpu0 = times["python -c 'import numpy'"]
    print(table(["command", "wall s", "wall / import numpy", "CPU s", "CPU / import numpy"],
                [[name, g(wall), g(wall / wall0), g(cpu), g(cpu / cpu0)] for name, (wall, cpu) in times.items()])
          + "\n", flush=True)

    print("## Throughput: W2 patch scaled by area, at rest\n", flush=True)
    changing = measure.changing_fraction()
    rows = []
    for n in SIZES:
        agent = measure.advance_speed(measure.patch_config(n, "agent", 100.0), seconds, repeats)
        population = measure.advance_speed(measure.patch_config(n, "population", 100.0), seconds, repeats)
        channels = measure.channels_of(measure.patch_config(n, "agent"))
        limits = measure.kernel_limit(channels, seconds, repeats)
        limit = max(limits.values())
        rate = channels * 1e5 / agent  # agent-steps per second, dt = 10 us
        rows.append([f"{channels:,}", g(rate / 1e6), g(agent), g(limits["parallel"] / 1e6),
                     g(limits["serial"] / 1e6), f"{rate / limit:.0%}", g(agent / 1e5 / (channels * changing) * 1e9),
                     g(population), g(channels * 1e5 / population / 1e6)])
        print(f"  {n:.3g} channels: agent {agent:.3g}, population {population:.3g} s per simulated s",
              file=sys.stderr, flush=True)
    print(table(["channels", "agent: M agent-steps/s", "agent: s per sim-s", "limit, all threads: M agent-steps/s",
                 "limit, 1 thread: M agent-steps/s", "agent / better limit", "agent: ns per transition",
                 "population: s per sim-s", "population: M channel-steps/s"], rows) + "\n")
    print(f"dt = 10 us; {changing:.2%} of the channels change state per step at rest (expected), so agent tracking "
          "draws only the transitions (cost per transition, not per agent).\n")
    sizes = (10**2, 10**3, 10**4, 10**5, 10**6)
    print("Population tracking's unit of work, one exact Binomial(n, p) draw (ns):\n")
    print(table(["p", *[f"n = {n:.0e}" for n in sizes]],
                [[f"{p:g}", *[g(measure.binomial_cost(n, p, repeats) * 1e9) for n in sizes]] for p in (0.01, 0.3)])
          + "\n")

    print("## Memory per agent\n", flush=True)
    rows = []
    for n in (1e6, 1e7):
        arrays, peak = measure.memory_per_agent(n)
        rows.append([f"{measure.log10_label(n)}", g(arrays), g(peak)])
    print(table(["channels", "per-agent arrays, bytes/agent", "peak allocated by build, bytes/agent"], rows) + "\n")

    print("## Recording overhead (W2 x1, agent; CPU s)\n", flush=True)
    durations = (0.5, 2.0) if args.quick else (1.0, 5.0)
    cpu = measure.recording_overhead(7_800, durations, repeats)
    span = durations[1] - durations[0]
    rows = []
    for way, what in (("none", "in memory, one row at the end"), ("memory", "in memory, a row every 0.05 ms"),
                      ("file", "run file, a row every 0.05 ms, segments of ~1 s")):
        marginal = (cpu[way, durations[1]] - cpu[way, durations[0]]) / span
        base = (cpu["none", durations[1]] - cpu["none", durations[0]]) / span
        rows.append([what, *[g(cpu[way, d]) for d in durations],
                     *[f"{cpu[way, d] / cpu['none', d] - 1:+.1%}" for d in durations], f"{marginal / base - 1:+.1%}"])
    print(table(["run", *[f"{d:g} s run" for d in durations], *[f"overhead, {d:g} s run" for d in durations],
                 "overhead per added simulated s"], rows) + "\n")

    print("## Peers (s per simulated s; ratio = channelsim / peer, below 1: channelsim faster)\n", flush=True)
    installed = peers is not None and python is not None and python.exists()
    rows = []
    for workload, n, peer, script, script_args in PEER_JOBS:
        if installed:
            record = measure.run_peer(peers, python, script, script_args)
            if "error" in record:
                value, note = None, f"failed: {record['error']}"
            else:
                value, note = measure.seconds_per_simulated_second(record), "this run"
        else:
            value, note = PEER_REFERENCE[workload, n, peer], "not installed: reference run 2026-11-25"
        print(f"  {workload} {n} {peer}: {value} ({note})", file=sys.stderr, flush=True)
        # channelsim measured right after each peer job, so that both see the same load on a shared machine
        if workload == "W1":
            ours = [("mean field", measure.advance_speed(measure.w1_config(100.0), seconds, repeats))]
        else:
            ours = [(mode, measure.advance_speed(measure.patch_config(n, mode, 100.0), seconds, repeats))
                    for mode in ("population", "agent")]
        for mode, value_ours in ours:
            rows.append([workload, f"{n:,}" if n else "1 neuron", peer, g(value) if value else "-", note, mode,
                         g(value_ours), g(value_ours / value) if value else "-"])
    print(table(["workload", "channels", "peer", "peer s/sim-s", "peer measured", "channelsim", "channelsim s/sim-s",
                 "ratio"], rows))


if __name__ == "__main__":
    main()
