"""Bad input (tests/data): every invalid config and command line is rejected cleanly.

Each exits with status 2 and one message naming the field or file, shows no traceback (unless
--debug) and writes nothing.
"""

import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from channelsim.cli import main
from channelsim.config import load_config
from channelsim.engine import run_experiment

ROOT = Path(__file__).parents[2]
BAD_CONFIGS = sorted((ROOT / "tests/data/bad_configs").glob("*.toml"))
BAD_COMMANDS = [line for line in (ROOT / "tests/data/bad_cli.txt").read_text().splitlines()
                if line.strip() and not line.startswith("#")]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def files_under(path: Path) -> set[Path]:
    return {p for p in path.rglob("*") if p.is_file()}


def test_the_corpus_is_large_enough():
    assert len(BAD_CONFIGS) + len(BAD_COMMANDS) >= 100


def expectation(config: Path) -> str:
    """Return the first line's `# expect: TEXT` (some configs are UTF-16 or start with a BOM on purpose)."""
    data = config.read_bytes()
    text = data.decode("utf-16") if data.startswith((b"\xff\xfe", b"\xfe\xff")) else \
        data.decode("utf-8-sig", errors="replace")
    return text.splitlines()[0].removeprefix("# expect:").strip()


@pytest.mark.parametrize("config", BAD_CONFIGS, ids=lambda p: p.stem)
def test_bad_config(config, tmp_path, monkeypatch):
    expected = expectation(config)
    monkeypatch.chdir(tmp_path)
    result = invoke("run", config)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert not files_under(tmp_path)  # nothing written, not even data/runs/


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["--debug", "run", str(BAD_CONFIGS[0])], catch_exceptions=False)
    assert result.exit_code == 2 and "Traceback" in result.output


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("files")
    run = folder / "run.h5"
    run_experiment(load_config(ROOT / "experiments/nernst_k.toml", ['run.duration="1 ms"']), run, progress=False)
    truncated = folder / "truncated.h5"
    shutil.copy(run, truncated)
    with open(truncated, "r+b") as f:
        f.truncate(run.stat().st_size // 2)
    text = folder / "text.h5"
    text.write_text("not HDF5\n")
    foreign = folder / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = [1, 2, 3]
    fifo = folder / "fifo.toml"
    os.mkfifo(fifo)
    big = folder / "big.toml"
    big.write_text("# padding\n" * 200_000)
    figure_named = folder / "run_copy.png"  # a run file under an image's name
    shutil.copy(run, figure_named)
    tampered = folder / "tampered.h5"  # an interrupted run whose checkpoint says -5 K+ ions are inside
    shutil.copy(run, tampered)
    with h5py.File(tampered, "r+") as f:
        f.attrs.modify("status", np.array(b"interrupted", dtype="S16"))
        f[f"checkpoint/{f['checkpoint/active'][0]}/compartments.counts_in"][0, 0] = -5
    return {"run": run, "truncated": truncated, "text": text, "foreign": foreign, "fifo": fifo, "big": big,
            "figure_named": figure_named, "tampered": tampered, "long": "x" * 300}


@pytest.mark.parametrize("line", BAD_COMMANDS)
def test_bad_command_line(line, files, tmp_path, monkeypatch):
    command, expected = (part.strip() for part in line.split("|"))
    monkeypatch.chdir(ROOT)
    before = files_under(files["run"].parent)
    args = command.format(tmp=tmp_path, **files).split()
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert not files_under(tmp_path)
    assert files_under(files["run"].parent) == before
