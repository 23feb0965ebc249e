"""The command line: exit codes, messages, what is (not) written."""

from pathlib import Path

import pytest
from click.testing import CliRunner

import channelsim
from channelsim.cli import main
from channelsim.physics import nernst_potential

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def runner():
    return CliRunner()


def run(runner, *args):
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_run_plot_info(runner, tmp_path):
    out = tmp_path / "k.h5"
    result = run(runner, "run", ROOT / "experiments/nernst_k.toml", "-o", out, "--quiet",
                 "--set", 'run.duration="2 ms"', "--set", "channels.k_leak.tracking=population", "--plot")
    assert result.exit_code == 0, result.output
    assert out.is_file() and out.with_suffix(".png").is_file()
    result = run(runner, "info", out)
    assert result.exit_code == 0 and "status complete" in result.output
    assert "k_leak x 2000 (population)" in result.output and "0 spikes" in result.output
    ds = channelsim.open_run(out).isel(time=-1)
    k_in, k_out = float(ds.concentration_inside.sel(ion="K")), float(ds.concentration_outside.sel(ion="K"))
    e_k = nernst_potential(1, k_in, k_out, float(ds.temperature))
    assert f"K {k_in:.4g}/{k_out:.4g}" in result.output and f"E_K {e_k * 1e3:.2f}" in result.output
    result = run(runner, "plot", out, "-o", tmp_path / "fig.png")
    assert result.exit_code == 0 and (tmp_path / "fig.png").is_file()
    # an existing output is not overwritten without --force
    result = run(runner, "run", ROOT / "experiments/nernst_k.toml", "-o", out, "--quiet")
    assert result.exit_code == 2 and "--force" in result.output


@pytest.mark.parametrize("args, field", [
    (["--set", "cell.colour=red"], "cell.colour"),
    (["--set", "channels.k_leek.count=3"], "channels.k_leek.kind"),
    (["--set", 'run.dt="1 s"'], "run.record_every"),
    (["--set", "outside.K=5"], "outside.K"),
    (["--set", "nonsense"], "--set nonsense"),
    (["-o", "out.txt"], "-o"),
])
def test_bad_input_exits_2_with_one_message_and_writes_nothing(runner, tmp_path, monkeypatch, args, field):
    monkeypatch.chdir(tmp_path)
    result = run(runner, "run", ROOT / "experiments/nernst_k.toml", *args)
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and result.output.count("\n") == 1
    assert field in result.output
    assert not list(tmp_path.rglob("*.h5")) and not list(tmp_path.rglob("*.txt"))


def test_info_and_plot_reject_a_non_run_file(runner, tmp_path):
    junk = tmp_path / "junk.h5"
    junk.write_text("nope")
    for command in ("info", "plot"):
        result = run(runner, command, junk)
        assert result.exit_code == 2 and "not a readable HDF5 file" in result.output


def test_validate_passes_every_check(runner):
    result = run(runner, "validate")
    assert result.exit_code == 0, result.output
    rows = result.output.strip().splitlines()[1:]
    assert len(rows) >= 6 and all(row.endswith("PASS") for row in rows)
