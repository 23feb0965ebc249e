"""--resume: interrupted runs, resumed, end bit-identical to the same run never interrupted.

The runs are stopped by SIGTERM or killed at random moments, resumed (and killed again).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from click.testing import CliRunner

import channelsim
from channelsim.cli import main
from channelsim.recording.layout import EVENTS, SERIES
from tests.integration.test_interruption import wait_for_rows

ROOT = Path(__file__).parents[2]
# agent channels and agent pumps, a block event mid-run, an electrode-free membrane; 6 s simulated
# (6,000 rows) so that the resumed runs are still going when they are killed, however fast the machine
ARGS = [str(ROOT / "experiments/pump_electrogenic.toml"), "--quiet", "--seed", "4", "--set", 'run.duration="6 s"',
        "--set", 'pumps.na_k_atpase.density="300 /um^2"', "--set", "channels.k_leak.open_probability=0.5"]


#: `channelsim` with segments of 60 rows (1% of the run) rather than of about a second, so that
#: kills land between appends however fast the machine.
CLI = ("from channelsim import engine; engine.segment_steps = lambda config: 60 * config.run.steps_per_record; "
       "from channelsim.cli import main; main()")


def start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CLI, "run", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ})


def data(path: Path) -> dict:
    ds = channelsim.open_run(path)  # also reads files whose writer was killed
    return {name: ds[name].values for name in (*SERIES, *EVENTS, "time")} | {"status": ds.attrs["status"]}


def test_interrupted_and_killed_runs_resume_bit_identically(tmp_path):
    reference = tmp_path / "reference.h5"
    assert CliRunner().invoke(main, ["run", *ARGS, "-o", str(reference)]).exit_code == 0
    expected = data(reference)
    rng = np.random.default_rng(7)
    path = tmp_path / "stopped.h5"
    process = start([*ARGS, "-o", str(path)])
    wait_for_rows(process, path, 2)
    process.send_signal(signal.SIGTERM)  # cycle 1: a clean stop
    process.communicate(timeout=60)  # reads and closes the pipes
    assert data(path)["status"] == "interrupted"
    cycles = 1
    while data(path)["status"] != "complete":
        if cycles < 4:  # cycles 2-4: resume, and kill it at a random moment once it has moved on
            rows_before = len(data(path)["time"])
            process = start(["--resume", str(path), "--quiet"])
            wait_for_rows(process, path, rows_before + 1)
            time.sleep(rng.uniform(0.0, 0.3))
            process.kill()
            process.communicate(timeout=60)
            cycles += 1
        else:
            assert CliRunner().invoke(main, ["run", "--resume", str(path), "--quiet"]).exit_code == 0
    resumed = data(path)
    for name, values in expected.items():
        if name != "status":
            np.testing.assert_array_equal(resumed[name], values, err_msg=name)
    assert cycles == 4


def test_a_complete_run_cannot_be_resumed(tmp_path):
    path = tmp_path / "done.h5"
    runner = CliRunner()
    assert runner.invoke(main, ["run", str(ROOT / "experiments/nernst_k.toml"), "-o", str(path), "--quiet",
                                "--set", 'run.duration="1 ms"']).exit_code == 0
    result = runner.invoke(main, ["run", "--resume", str(path)])
    assert result.exit_code == 2 and "already complete" in result.output
