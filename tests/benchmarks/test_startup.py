"""Start-up: the fixed cost of a short `channelsim run`, as a ratio to `python -c "import numpy"`.

Fresh processes with a warm numba cache, interleaved, median of 5 (`measure.startup`). The target
is a fixed cost under 1 s on an idle machine; on a shared one, compare the ratio. Nothing asserts
on time: a command that fails raises.

Run with `pytest tests/benchmarks/test_startup.py -s`, or all benchmarks as one table with
`python -m tests.benchmarks`.
"""

from tests.benchmarks.measure import startup


def test_startup_against_importing_numpy():
    times = startup(repeats=5)
    wall0, cpu0 = times["python -c 'import numpy'"]
    print(f"\n{'':<45}{'wall s':>8}{'ratio':>8}{'CPU s':>8}{'ratio':>8}  (ratios to import numpy)")
    for name, (wall, cpu) in times.items():
        print(f"{name:<45}{wall:8.3f}{wall / wall0:8.2f}{cpu:8.3f}{cpu / cpu0:8.2f}")
