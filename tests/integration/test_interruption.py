"""Runs stopped at random moments.

SIGTERM and Ctrl-C close the file as `interrupted`; SIGKILL leaves a file that open_run reads up
to its last flush, consistent row by row.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import channelsim

ROOT = Path(__file__).parents[2]
KILLS = 10


def start_run(output: Path) -> subprocess.Popen:
    """Start the ouabain experiment, 30 simulated minutes: about 3 s of work."""
    return subprocess.Popen(
        [sys.executable, "-m", "channelsim.cli", "run", str(ROOT / "experiments/ouabain.toml"), "-o", str(output),
         "--quiet", "--set", 'run.duration="1800 s"'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "NUMBA_NUM_THREADS": "1"})


def wait_for_rows(process: subprocess.Popen, output: Path, rows: int) -> None:
    """Until the running file holds `rows` recorded rows (read while it is being written)."""
    deadline = time.monotonic() + 120
    while not (output.exists() and channelsim.open_run(output).sizes["time"] >= rows):
        assert process.poll() is None and time.monotonic() < deadline, "the run never got going"
        time.sleep(0.02)


def assert_consistent(ds) -> None:
    """Every row that was flushed is whole: times increase, no ion was created or lost."""
    assert ds.sizes["time"] >= 1
    assert np.all(np.diff(ds.time.values) > 0)
    total = ds.ions_inside.values + ds.ions_outside.values
    assert np.all(total == total[0])


@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 130), (signal.SIGINT, 130)])
def test_sigterm_and_ctrl_c_stop_cleanly(tmp_path, signum, status):
    output = tmp_path / "run.h5"
    process = start_run(output)
    wait_for_rows(process, output, 2)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == status, stderr
    assert b"interrupted" in stderr and b"Traceback" not in stderr
    ds = channelsim.open_run(output)
    assert ds.attrs["status"] == "interrupted"
    assert 1 < ds.sizes["time"] < 1801
    assert_consistent(ds)


def test_sigkill_at_random_moments_leaves_a_readable_file(tmp_path):
    rng = np.random.default_rng(2026)
    rows = []
    for attempt in range(KILLS):
        output = tmp_path / f"killed{attempt}.h5"
        process = start_run(output)
        wait_for_rows(process, output, 1)
        time.sleep(rng.uniform(0.0, 2.5))
        process.kill()
        process.communicate(timeout=60)  # reads and closes the pipes
        ds = channelsim.open_run(output)
        assert ds.attrs["status"] in ("running", "complete")
        assert_consistent(ds)
        rows.append(ds.sizes["time"])
    assert sum(1 for n in rows if n < 1801) >= KILLS // 2  # most kills landed mid-run
