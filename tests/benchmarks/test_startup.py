"""Start-up: the fixed cost of a short `channelsim run`, as a ratio to `python -c "import numpy"`.

Fresh processes with a warm numba cache, interleaved, median of 5 (`measure.startup`). The target
is a fixed cost under 1 s on an idle machine; on a shared one, compare the ratio. Nothing asserts
on time: a command that fails raises.

Run with `pytest tests/benchmarks/test_startup.py -s`, or all benchmarks as one table with
`python -m tests.benchmarks`.
"""

from tests.benchmarks.measure import startup


def test_startup_against_importing_numpy():
    walls = startup(repeats=5)
    baseline = walls["python -c 'import numpy'"]
    print()
    for name, wall in walls.items():
        print(f"{name:<45}{wall:8.3f} s{wall / baseline:8.2f} x import numpy")
