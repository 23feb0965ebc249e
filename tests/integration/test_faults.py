"""Fault injection (issue #9): every hostile run leaves a file that resumes bit-identically, or is refused.

Runs killed while they resume and while they write their final status, signalled at the edges of
a run, starved of disk, raced by a second writer, and resumed from tampered checkpoints; a seed
that once poisoned numba's cache. Each leaves a file that reads and resumes to the bit-identical
run, or is refused with one message; none crashes.

The hostile cases tried for issue #9, by category, and where each is written down:

| category | cases | where |
|---|---|---|
| numbers: infinities, overflows, limits, physics across keys | 60 | tests/data/bad_configs/37-96 |
| encodings: BOM, UTF-16, not UTF-8 | 3 | tests/data/bad_configs/97-99 |
| files and command lines: FIFOs, huge configs, plot -o, seeds, -o | 26 | tests/data/bad_cli.txt, 2nd part |
| kills during a resume and during the final status write | 7 | test_a_resume_killed_*, test_a_kill_* |
| signals: while a resume builds its file, after the last step, in a huge segment | 3 | test_signal_* |
| a full disk: refused ahead, filled mid-run (checked, inside HDF5, injected) | 4 | test_*disk* |
| a second writer, resume of a running file, a stale lock, a symlink | 4 | test_second_writer_*, test_resume_* |
| tampered and truncated checkpoints | 15 | TAMPERINGS, test_a_truncated_* |
| seeds of 2^63 and more through 6 entry points, in a fresh numba cache | 1 | test_seeds_* |
| state leaving the physical range; memory and lazy summaries | 4 | test_runs_*, test_open_run_* |

All 127 are handled: exit status 2 and one message naming the field or dataset (bad input), 1
and a clear message (a failure during the run: the file `failed`, resumable), or 130
(interrupted); no traceback, no segfault, no hang, no data lost. Run against the code before
this work (commit c1222da), the 89 cases of the data files gave 21 handled, 9 poor messages, 34
wrong results or exit statuses (accepted and run), 20 crashes (tracebacks, exceptions, 2
segfaults) and 5 hangs; the resume, status and disk cases lost or corrupted files, the second
writer was not refused and the tampered checkpoint was run.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import channelsim
from channelsim.cli import main
from channelsim.config import load_config
from channelsim.engine import RunInterrupted, run_experiment
from channelsim.errors import ConfigError, RunFileError, StateOutOfRange
from channelsim.recording.layout import EVENTS, SERIES

ROOT = Path(__file__).parents[2]
CONFIG = ROOT / "experiments/nernst_k.toml"
#: 21 rows (in 20 segments, as `runs` cuts them): resumes copy rows in several blocks, kills land between appends.
SETTINGS = ['run.duration="10 ms"', 'run.record_every="0.5 ms"']
#: A segment's rows in the full-disk tests (about 400 rows, and the reserve sized from them):
#: the 3 MB disk fills after many segments.
SEGMENT_ROW_BYTES = 2**17
ENV = {**os.environ, "NUMBA_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def data(path: Path) -> dict:
    ds = channelsim.open_run(path)
    return {name: ds[name].values for name in (*SERIES, *EVENTS, "time")} | {"status": ds.attrs["status"]}


def assert_same_run(path: Path, reference: Path) -> None:
    got, expected = data(path), data(reference)
    assert got["status"] == "complete"
    for name, values in expected.items():
        if name != "status":
            np.testing.assert_array_equal(got[name], values, err_msg=name)


def stop_after(segments: int):
    """Return a stand-in for `engine.segments` that sends the run SIGTERM after `segments` segments."""
    from channelsim import engine

    original = engine.segments

    def stopping(model, stop=None, progress=None):
        for n, segment in enumerate(original(model, stop, progress)):
            if n == segments:
                os.kill(os.getpid(), signal.SIGTERM)
            yield segment
    return stopping


def row_by_row(config) -> int:
    """Stand in for `engine.segment_steps`: segments of one recording interval."""
    return config.run.steps_per_record


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Make a complete reference run and the same run stopped by SIGTERM after 8 of its 20 segments."""
    from channelsim import engine

    folder = tmp_path_factory.mktemp("faults")
    config = load_config(CONFIG, SETTINGS)
    reference = run_experiment(config, folder / "reference.h5", progress=False)
    stopped = folder / "stopped.h5"
    patch = pytest.MonkeyPatch()
    patch.setattr(engine, "segment_steps", row_by_row)
    patch.setattr(engine, "segments", stop_after(8))
    with pytest.raises(RunInterrupted):
        run_experiment(config, stopped, progress=False)
    patch.undo()
    assert channelsim.open_run(stopped).attrs["status"] == "interrupted"
    return {"reference": reference, "stopped": stopped}


@pytest.fixture
def stopped(runs, tmp_path) -> Path:
    path = tmp_path / "run.h5"
    shutil.copy(runs["stopped"], path)
    return path


# --------------------------------------------------------------------------------------------
# Kills in a subprocess at chosen moments (hooks patched into the writer before the run starts)

HOOKS = textwrap.dedent('''
    import os, signal, sys
    import h5py
    from channelsim.recording import writer
    point, args = sys.argv[1], sys.argv[2:]

    def die(*_):
        os.kill(os.getpid(), signal.SIGKILL)

    if point == "before_copy":  # the new file exists under its hidden name, empty
        writer.RunWriter._copy = lambda self, *a: die()
    elif point == "mid_copy":  # half the saved rows copied into it
        writer._COPY_ROWS = 2
        extend, calls = writer.RunWriter._extend, [0]
        def counting(self, columns):
            calls[0] += 1
            if calls[0] == 4:
                die()
            extend(self, columns)
        writer.RunWriter._extend = counting
    elif point in ("before_rename", "after_rename"):  # complete and synced; renamed or not
        replace = os.replace
        def renaming(a, b):
            if point == "before_rename":
                die()
            replace(a, b)
            die()
        writer.os.replace = renaming
    elif point == "status_due":  # every row written, the status not yet
        writer.RunWriter._write_status = lambda self, status: die()
    elif point == "status_written":  # the status overwritten in place, not yet flushed
        modify = h5py.AttributeManager.modify
        def modifying(self, name, value):
            modify(self, name, value)
            die()
        h5py.AttributeManager.modify = modifying
    elif point == "status_flushed":  # the status flushed, the file not yet closed
        write_status = writer.RunWriter._write_status
        def flushed(self, status):
            write_status(self, status)
            die()
        writer.RunWriter._write_status = flushed
    elif point == "disk_fills":  # no free-space check: HDF5 itself meets the full disk
        from channelsim import resources
        from tests.integration.test_faults import SEGMENT_ROW_BYTES
        writer.RunWriter.room_for = lambda self, *a: True
        resources.SEGMENT_ROW_BYTES = SEGMENT_ROW_BYTES
    elif point == "long_segments":  # a segment ends only at its most steps, hours later
        from channelsim import engine
        engine.SEGMENT_SECONDS = 3600.0
    from channelsim.cli import main
    main(args)
''')


def hooked(point: str, *args, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", HOOKS, point, *map(str, args)], capture_output=True, text=True,
                          env=ENV, timeout=timeout, cwd=ROOT)


#: Moments a resume is killed (SIGKILL): the original must survive all of them.
KILL_POINTS = ["before_copy", "mid_copy", "before_rename", "after_rename"]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_resume_killed_at_any_moment_loses_nothing(point, stopped, runs):
    rows = channelsim.open_run(stopped).sizes["time"]
    result = hooked(point, "run", "--resume", stopped, "--quiet")
    assert result.returncode == -signal.SIGKILL, result.stderr
    survivor = channelsim.open_run(stopped)  # the original, or the complete new file
    assert survivor.sizes["time"] >= rows
    assert invoke("run", "--resume", stopped, "--quiet").exit_code == 0
    assert_same_run(stopped, runs["reference"])
    assert not list(stopped.parent.glob(".*"))  # no partial, reserve or lock file left behind


@pytest.mark.parametrize("point", ["status_due", "status_written", "status_flushed"])
def test_a_kill_during_the_final_status_write_leaves_a_whole_file(point, tmp_path, runs):
    path = tmp_path / "run.h5"
    result = hooked(point, "run", CONFIG, "--set", SETTINGS[0], "--set", SETTINGS[1], "-o", path, "--quiet")
    assert result.returncode == -signal.SIGKILL, result.stderr
    ds = channelsim.open_run(path)
    assert ds.attrs["status"] in ("running", "complete")
    if ds.attrs["status"] != "complete":
        assert invoke("run", "--resume", path, "--quiet").exit_code == 0
    assert_same_run(path, runs["reference"])


def test_signal_while_a_resume_builds_its_file_stops_it_cleanly(stopped, runs, monkeypatch):
    """SIGTERM while the resumed file is being built stops the resume cleanly.

    The handler is already installed (without it, this test's own process would die), the file is
    finished and then stopped cleanly.
    """
    from channelsim.recording import writer

    copy = writer.RunWriter._copy

    def copying(self, *args):
        os.kill(os.getpid(), signal.SIGTERM)
        copy(self, *args)

    monkeypatch.setattr(writer.RunWriter, "_copy", copying)
    result = invoke("run", "--resume", stopped, "--quiet")
    assert result.exit_code == 130 and "interrupted again" in result.output, result.output
    assert channelsim.open_run(stopped).attrs["status"] == "interrupted"
    monkeypatch.undo()
    assert invoke("run", "--resume", stopped, "--quiet").exit_code == 0
    assert_same_run(stopped, runs["reference"])


def test_signal_after_the_last_step_is_not_swallowed(stopped, runs, monkeypatch):
    """Ctrl-C as the file closes, after the last step, is not swallowed.

    The run is complete and says so, and the command still exits with status 130 (it used to exit
    0, the signal lost).
    """
    from channelsim.recording import writer

    close = writer.RunWriter.close

    def closing(self, status):
        os.kill(os.getpid(), signal.SIGINT)
        close(self, status)

    monkeypatch.setattr(writer.RunWriter, "close", closing)
    result = invoke("run", "--resume", stopped, "--quiet")
    assert result.exit_code == 130 and "after the run completed" in result.output, result.output
    assert_same_run(stopped, runs["reference"])


def test_signal_takes_effect_within_a_second_in_a_huge_segment(tmp_path):
    """Ctrl-C stops a run of a million flickering agents at the next kernel call, within about a second.

    A step takes milliseconds; the segment is made to end only at its most steps (over a second of
    simulated time, minutes of work).
    """
    output = tmp_path / "slow.h5"
    process = subprocess.Popen(
        [sys.executable, "-c", HOOKS, "long_segments", "run", CONFIG, "-o", output, "--quiet",
         "--set", 'run.duration="2 s"',
         "--set", "channels.k_leak.count=1000000", "--set", "channels.k_leak.open_probability=0.5",
         "--set", 'channels.k_leak.mean_open_time="20 us"'],
        stderr=subprocess.PIPE, env=ENV, cwd=ROOT)
    deadline = time.monotonic() + 60
    while not output.exists():
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.05)
    time.sleep(1.0)  # inside the first segment
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)  # reads and closes the pipe
    assert process.returncode == 130
    ds = channelsim.open_run(output)
    assert ds.attrs["status"] == "interrupted"
    # it stopped inside the first segment, at a kernel call, not at the segment's end: no
    # wall-clock limit, which a shared machine could break
    assert float(ds.time[-1]) < 0.01 * 2.0


# --------------------------------------------------------------------------------------------
# A full disk

@pytest.fixture
def small_disk():
    """Mount a 3 MB tmpfs, or skip where this process may not mount one."""
    folder = Path(tempfile.mkdtemp(prefix="channelsim-disk-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(folder)],
                             capture_output=True).returncode == 0
    if not mounted:
        folder.rmdir()
        pytest.skip("cannot mount a tmpfs here (test_injected_disk_full covers the same path)")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)
    folder.rmdir()


def grow(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,size=64m", str(folder)], check=True)


#: 40,001 rows of 1 ms in 40,000 cheap steps: a run file of about 3 MB.
MANY_ROWS = [CONFIG, "--set", 'run.duration="40 s"', "--set", 'run.dt="1 ms"', "--set", 'run.record_every="1 ms"']


@pytest.fixture(scope="module")
def many_rows(tmp_path_factory) -> Path:
    config = load_config(CONFIG, [item for item in MANY_ROWS[1:] if item != "--set"])
    return run_experiment(config, tmp_path_factory.mktemp("many_rows") / "reference.h5", progress=False)


def test_a_run_that_cannot_fit_on_the_disk_is_refused_before_it_starts(small_disk, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("run", *MANY_ROWS, "-o", small_disk / "run.h5")
    assert result.exit_code == 2 and "free on" in result.output and "--force-large" in result.output
    assert not list(small_disk.iterdir())


def test_a_full_disk_stops_the_run_which_resumes_once_there_is_room(small_disk, many_rows, monkeypatch):
    from channelsim import resources

    monkeypatch.setattr(resources, "SEGMENT_ROW_BYTES", SEGMENT_ROW_BYTES)
    path = small_disk / "run.h5"
    result = invoke("run", *MANY_ROWS, "-o", path, "--quiet", "--force-large")
    assert result.exit_code == 1 and "no space left on the disk" in result.output, result.output
    assert f"channelsim run --resume {path}" in result.output
    ds = channelsim.open_run(path)
    assert ds.attrs["status"] == "failed" and 1 < ds.sizes["time"] < 40_001
    grow(small_disk)
    assert invoke("run", "--resume", path, "--quiet").exit_code == 0
    assert_same_run(path, many_rows)


def test_a_disk_that_fills_inside_hdf5_leaves_a_whole_file(small_disk, many_rows):
    """Without the free-space check, HDF5 meets the full disk itself, and the file is still left whole.

    The writer gives back its reserve, flushes what it holds, and the run stops cleanly.
    """
    path = small_disk / "run.h5"
    result = hooked("disk_fills", "run", *MANY_ROWS, "-o", path, "--quiet", "--force-large")
    assert result.returncode == 1 and "no space left on the disk" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "RuntimeError" not in result.stderr
    assert channelsim.open_run(path).attrs["status"] == "failed"
    grow(small_disk)
    assert invoke("run", "--resume", path, "--quiet").exit_code == 0
    assert_same_run(path, many_rows)


def test_injected_disk_full(stopped, runs, monkeypatch):
    """ENOSPC raised by h5py in the middle of an append (any machine, no tmpfs needed)."""
    from channelsim import engine
    from channelsim.recording import writer

    extend, calls = writer.RunWriter._extend_rows, [0]

    def failing(self, *args):
        calls[0] += 1
        if calls[0] == 10:
            raise RuntimeError("Can't write data (file write failed: errno = 28, error message = "
                               "'No space left on device')")
        extend(self, *args)

    monkeypatch.setattr(writer.RunWriter, "_extend_rows", failing)
    monkeypatch.setattr(engine, "segment_steps", row_by_row)
    result = invoke("run", "--resume", stopped, "--quiet")
    assert result.exit_code == 1 and "no space left on the disk" in result.output, result.output
    assert channelsim.open_run(stopped).attrs["status"] == "failed"
    monkeypatch.undo()
    assert invoke("run", "--resume", stopped, "--quiet").exit_code == 0
    assert_same_run(stopped, runs["reference"])


# --------------------------------------------------------------------------------------------
# Two writers, stale locks, symbolic links

def test_second_writer_and_resume_of_a_running_file_are_refused(stopped, runs):
    """While a run holds the file's lock, a second writer and `--resume` are refused.

    Here this process holds it, through another descriptor, as a running `channelsim run` does. A
    lock left by a killed writer is not held, and a resume takes it over.
    """
    from channelsim.recording.writer import RunLock

    with RunLock(stopped):
        for args in (["run", CONFIG, "-o", stopped, "--force"], ["run", "--resume", stopped]):
            result = invoke(*args)
            assert result.exit_code == 2, result.output
            assert f"is being written by another channelsim process (pid {os.getpid()})" in result.output
    killed = subprocess.run([sys.executable, "-c", "import os, sys; from channelsim.recording.writer import RunLock; "
                             "RunLock(sys.argv[1]).__enter__(); os.kill(os.getpid(), 9)", stopped], env=ENV)
    assert killed.returncode == -signal.SIGKILL
    assert Path(f"{stopped}.lock").exists()  # left behind, but no longer held
    assert invoke("run", "--resume", stopped, "--quiet").exit_code == 0
    assert_same_run(stopped, runs["reference"])
    assert not Path(f"{stopped}.lock").exists()


def test_resume_through_a_symlink_updates_the_target(stopped, runs):
    link = stopped.parent / "link.h5"
    link.symlink_to(stopped)
    assert invoke("run", "--resume", link, "--quiet").exit_code == 0
    assert link.is_symlink()
    assert_same_run(stopped, runs["reference"])


# --------------------------------------------------------------------------------------------
# Tampered and truncated run files: exit 2 naming the dataset, before any kernel reads them

def _set(name: str, change):
    def tamper(f: h5py.File) -> None:
        slot = f"checkpoint/{f['checkpoint/active'][0]}"
        dataset = f[f"{slot}/{name}"]
        values = dataset[()]
        dataset[...] = change(values)
    return tamper


def _retype(name: str, dtype: str):
    def tamper(f: h5py.File) -> None:
        slot = f"checkpoint/{f['checkpoint/active'][0]}"
        values = f[f"{slot}/{name}"][()]
        del f[f"{slot}/{name}"]
        f[f"{slot}/{name}"] = values.astype(dtype)
    return tamper


def _reshape(name: str):
    def tamper(f: h5py.File) -> None:
        slot = f"checkpoint/{f['checkpoint/active'][0]}"
        values = f[f"{slot}/{name}"][()]
        del f[f"{slot}/{name}"]
        f[f"{slot}/{name}"] = np.concatenate([values.ravel(), values.ravel()])
    return tamper


def _attribute(name: str, value):
    def tamper(f: h5py.File) -> None:
        f.attrs[name] = value
    return tamper


def _active(value: int):
    def tamper(f: h5py.File) -> None:
        f["checkpoint/active"][0] = value
    return tamper


TAMPERINGS = {
    "negative count": (_set("compartments.counts_in", lambda v: v - 10**15), "compartments.counts_in"),
    "ions created": (_set("compartments.counts_in", lambda v: v + 1), "compartments.counts_in"),
    "state beyond the scheme": (_set("kinds.agent_states", lambda v: v + 7), "kinds.agent_states"),
    "order out of range": (_set("kinds.agent_order", lambda v: v + 10**6), "kinds.agent_order"),
    "order not a permutation": (_set("kinds.agent_order", lambda v: np.zeros_like(v)), "kinds.agent_"),
    "step beyond the run": (_set("step_index", lambda v: v + 10**9), "step_index"),
    "protocol position": (_set("next_event", lambda v: v + 3), "next_event"),
    "carry not a fraction": (_set("kinds.flux_carry", lambda v: v + np.nan), "kinds.flux_carry"),
    "dtype changed": (_retype("compartments.counts_in", "f8"), "compartments.counts_in"),
    "shape changed": (_reshape("kinds.agent_states"), "kinds.agent_states"),
    "constant changed": (_set("compartments.capacitance", lambda v: v * 2), "compartments.capacitance"),
    "active slot": (_active(7), "checkpoint/active"),
    "rows beyond the series": (_set("rows", lambda v: v + 10**6), "rows"),
    "seed of 2^64": (_attribute("seed", np.uint64(2**64 - 1)), "seed"),
}


@pytest.mark.parametrize("case", TAMPERINGS)
def test_a_tampered_checkpoint_is_refused_naming_the_dataset(case, stopped):
    tamper, named = TAMPERINGS[case]
    with h5py.File(stopped, "r+") as f:
        tamper(f)
    before = stopped.read_bytes()
    result = invoke("run", "--resume", stopped, "--quiet")
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output
    assert named in result.output
    assert stopped.read_bytes() == before  # untouched
    assert not list(stopped.parent.glob(".*"))


def test_a_truncated_run_file_is_refused(stopped):
    with open(stopped, "r+b") as f:
        f.truncate(stopped.stat().st_size * 2 // 3)
    result = invoke("run", "--resume", stopped, "--quiet")
    assert result.exit_code == 2 and str(stopped) in result.output and "Traceback" not in result.output


# --------------------------------------------------------------------------------------------
# Seeds, the physical range, resources

SEED_SCRIPT = textwrap.dedent('''
    import sys
    import numpy as np
    import channelsim
    from channelsim.errors import ConfigError
    from channelsim.kernels.loop import run_segment
    from channelsim.kernels.rng import stream_key
    from channelsim.model import MembranePatch
    config = channelsim.load_config(sys.argv[1]).updated({"run.duration": "1 ms"})
    for attempt in (lambda: channelsim.build(config, seed=2**63), lambda: channelsim.simulate(config, seed=2**64),
                    lambda: MembranePatch(config, rng=2**63 + 5), lambda: MembranePatch(config, seed=np.uint64(2**63)),
                    lambda: channelsim.build(config.updated({"run.seed": 2**63}))):
        try:
            attempt()
        except ConfigError:
            continue
        raise SystemExit("a seed of 2^63 or more was accepted")
    for seed in (1, 1, np.uint64(7), np.int32(7)):
        assert channelsim.simulate(config, seed=seed).attrs["status"] == "complete"
    assert len(run_segment.signatures) == 1, run_segment.signatures
    assert not any("uint64" in str(s[0]) for s in stream_key.signatures), stream_key.signatures
    print("ok")
''')


def test_seeds_of_2_63_never_reach_the_kernels(tmp_path):
    """Seeds of 2^63 and more never reach the kernels.

    Once, `--seed 9223372036854775808` put a second (uint64) specialisation of the kernels in
    numba's cache, after which ordinary seeds segfaulted. Seeds are now checked everywhere and
    reach the kernels as int64 only. A fresh cache: the first process compiles (20-40 s).
    """
    env = {**ENV, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    cli = [sys.executable, "-m", "channelsim.cli", "run", CONFIG, "--set", 'run.duration="1 ms"', "--quiet",
           "--force", "-o", tmp_path / "run.h5"]
    refused = subprocess.run([*cli, "--seed", str(2**63)], capture_output=True, text=True, env=env, cwd=ROOT)
    assert refused.returncode == 2 and "--seed" in refused.stderr
    for attempt in range(2):  # the first compiles and caches, the second loads the cache
        result = subprocess.run([sys.executable, "-c", SEED_SCRIPT, CONFIG], capture_output=True, text=True,
                                env=env, cwd=ROOT, timeout=300)
        assert result.returncode == 0 and result.stdout.strip() == "ok", (attempt, result.stderr[-2000:])


def test_runs_leaving_the_physical_range_fail_and_are_never_complete(tmp_path, monkeypatch):
    """No channels to hold V: 0.5 V a step of injected current drives it past 1 V in the first steps.

    The run stops with status `failed`, exit status 1 and a message, its first row kept.
    """
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "run.h5"
    config = tmp_path / "pulse.toml"
    config.write_text(CONFIG.read_text() + '\n[[protocol]]\naction = "current_clamp"\nat = "0 ms"\n'
                      'amplitude = "600 nA"\nduration = "1 ms"\n')
    result = invoke("run", config, "-o", path, "--set", "channels.k_leak.count=0", "--quiet")
    assert result.exit_code == 1, result.output
    assert "run failed: at t = " in result.output and "membrane potential reached" in result.output
    ds = channelsim.open_run(path)
    assert ds.attrs["status"] == "failed" and ds.sizes["time"] >= 1
    assert np.all(np.abs(ds.membrane_potential.values) <= 1.0)


def test_runs_leaving_the_range_of_their_integers_stop():
    model = channelsim.build(load_config(CONFIG, SETTINGS))
    model.compartments.efflux_total[0, 0] = 2**62  # as if the counts had run away
    with pytest.raises(StateOutOfRange, match="ions that left through channels"):
        model.advance(10)


def test_runs_too_large_for_memory_are_refused_with_a_fix_that_fits(monkeypatch):
    from channelsim import resources

    monkeypatch.setattr(resources, "available_memory", lambda: 800 * 2**20)
    config = load_config(CONFIG, ['run.duration="10 s"', 'run.record_every="10 us"'])  # a million rows
    with pytest.raises(ConfigError) as refused:
        channelsim.simulate(config)
    assert refused.value.field == "run.record_every"
    every = refused.value.fix.split('run.record_every = "')[1].split('"')[0]
    fitting = config.updated({"run.record_every": every})
    resources.check_memory(fitting, in_memory=True)  # the suggested value fits (and is a valid config)
    resources.check_memory(config, in_memory=True, force=True)  # force_large=True insists


def test_open_run_refuses_what_memory_cannot_hold_and_info_reads_only_the_ends(runs, monkeypatch):
    from channelsim.recording import reader

    monkeypatch.setattr("channelsim.resources.available_memory", lambda: 10_000)
    with pytest.raises(RunFileError, match="xarray.open_dataset"):
        channelsim.open_run(runs["reference"])
    monkeypatch.setattr(reader, "open_run", None)  # info must not load the whole run
    result = invoke("info", runs["reference"])
    assert result.exit_code == 0 and "recorded 21 rows" in result.output
