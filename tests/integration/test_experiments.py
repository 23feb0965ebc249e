"""Every experiment in experiments/ runs from the command line and makes its figure.

The data, in memory and in a run file, do not depend on how the run is cut into segments.
"""

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import channelsim
from channelsim import engine
from channelsim.cli import main
from channelsim.config import load_config
from channelsim.engine import run_experiment
from channelsim.recording.layout import EVENTS, SERIES
from channelsim.recording.reader import read_checkpoint
from tests.helpers import simulate

EXPERIMENTS = sorted((Path(__file__).parents[2] / "experiments").glob("*.toml"))
#: Experiments whose full run takes half a minute or more; tests/integration/test_notebooks.py runs
#: them shortened by default (and checks their figure).
LONG_RUNS = {"digitalis", "pump_recovery"}


@pytest.mark.parametrize("experiment", [pytest.param(p, marks=pytest.mark.long) if p.stem in LONG_RUNS else p
                                        for p in EXPERIMENTS], ids=lambda p: p.stem)
def test_experiment_runs_and_plots(experiment, tmp_path):
    out = tmp_path / f"{experiment.stem}.h5"
    record_every = load_config(experiment).run.record_every
    shorten = [] if "[[protocol]]" in experiment.read_text() else ["--set", f'run.duration="{50 * record_every} s"']
    result = CliRunner().invoke(main, ["run", str(experiment), "-o", str(out), "--quiet", "--plot", *shorten])
    assert result.exit_code == 0, result.output
    assert out.with_suffix(".png").stat().st_size > 10_000
    ds = channelsim.open_run(out)
    assert ds.attrs["status"] == "complete"
    assert np.all(ds.ions_inside.values[1:] > 0)  # no unfilled rows


def test_segment_boundaries_do_not_change_the_data(monkeypatch):
    """Cutting the run into 7-step segments gives bit-identical records.

    7 is not a multiple of the 2-step record interval, and the segments cut across protocol
    changes.
    """
    config = load_config(Path(__file__).parents[2] / "experiments/voltage_clamp.toml",
                         ["channels.hh_k.tracking=agent"])
    whole = simulate(config)
    monkeypatch.setattr(engine, "segment_steps", lambda config: 7)
    pieces = simulate(config)
    for name in ("membrane_potential", "ions_inside", "open_channels", "ions_electrode", "electrode_current",
                 "command_potential", "time"):
        np.testing.assert_array_equal(whole[name], pieces[name], err_msg=name)


def test_run_files_do_not_depend_on_where_segments_end(tmp_path, monkeypatch):
    """A run file holds the same rows, spikes and final checkpoint whatever its segments.

    Segments of 499 steps (not a multiple of the 2-step record interval), and of one kernel call
    each (sized by the machine's speed, as the default segments are by the wall clock), against the
    default segments. Agent channels, current steps and spikes.
    """
    config = load_config(Path(__file__).parents[2] / "experiments/action_potential.toml")
    expected = channelsim.open_run(run_experiment(config, tmp_path / "default.h5", progress=False))
    expected_state = read_checkpoint(tmp_path / "default.h5")["state"]
    assert expected.sizes["spike"] > 0
    monkeypatch.setattr(engine, "segment_steps", lambda config: 499)
    for cut in ("499 steps", "one kernel call"):
        if cut == "one kernel call":
            monkeypatch.undo()
            monkeypatch.setattr(engine, "SEGMENT_SECONDS", 0.0)
        path = run_experiment(config, tmp_path / "cut.h5", force=True, progress=False)
        got = channelsim.open_run(path)
        for name in (*SERIES, *EVENTS, "time"):
            np.testing.assert_array_equal(got[name].values, expected[name].values, err_msg=f"{cut}: {name}")
        state = read_checkpoint(path)["state"]
        assert state.keys() == expected_state.keys()
        for name, values in expected_state.items():
            np.testing.assert_array_equal(state[name], values, err_msg=f"{cut}: checkpoint {name}")
