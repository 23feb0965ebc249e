"""The notebooks in analysis/ run top to bottom against a fresh run file, and their results are right."""

import json
import math
from pathlib import Path

import matplotlib
import pytest

from channelsim.constants import ELEMENTARY_CHARGE
from channelsim.engine import run_experiment
from tests.helpers import ion_quantum, make_config, thermal_sigma

ANALYSIS = Path(__file__).parents[2] / "analysis"
NOTEBOOKS = sorted(ANALYSIS.glob("*.ipynb"))


def run_notebook(notebook: Path, run: Path, monkeypatch) -> dict:
    """Execute the notebook's code cells in order, against `run`; return its namespace."""
    matplotlib.use("Agg")
    monkeypatch.setenv("CHANNELSIM_RUN", str(run))
    namespace: dict = {}
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), f"{notebook.name}", "exec"), namespace)
    return namespace


def test_every_notebook_is_checked():
    """A new notebook needs its own test of its results below, not just a run."""
    assert [p.name for p in NOTEBOOKS] == ["channel_noise.ipynb", "how_few_ions.ipynb"]


def test_how_few_ions(tmp_path, monkeypatch):
    """2000 K+ leaks take a neutral 5 um cell from 0 mV to E_K (membrane time constant ~1 ms,
    so 20 ms leave no trace of the start). The notebook's count of K+ ions that left must equal
    C |dV| / e within one ion, V must end at E_K within 5 thermal standard deviations sqrt(kT/C)
    (37 uV here) and one ion's step, and the ions that left must be a tiny share of the cell's K+."""
    config = make_config([{"kind": "k_leak", "count": 2000}], ['run.duration="20 ms"'])
    run = tmp_path / "run.h5"
    run_experiment(config, run, progress=False)
    ns = run_notebook(ANALYSIS / "how_few_ions.ipynb", run, monkeypatch)

    capacitance, temperature = config.cell.capacitance_F, config.cell.temperature
    tolerance_v = 5 * thermal_sigma(capacitance, temperature) + ion_quantum(capacitance)
    assert abs(ns["v_end"] - ns["e_k_end"]) < tolerance_v, (ns["v_end"], ns["e_k_end"])
    assert ns["e_k_end"] < -0.085  # E_K for 140 / 5 mM at 37 degC: -89 mV
    assert ns["left"] > 0 and abs(ns["left"] - ns["needed"]) <= 1, (ns["left"], ns["needed"])
    # and that number is the closed form C |E_K| / e, to within the voltage tolerance in ions
    assert abs(ns["left"] - capacitance * abs(ns["e_k_end"]) / ELEMENTARY_CHARGE) < (
        capacitance * tolerance_v / ELEMENTARY_CHARGE)
    assert 0 < ns["left"] / ns["in_cell"] < 1e-4  # "only very few ions need to move"
    assert len(ns["fig"].axes) == 2



def test_channel_noise(tmp_path, monkeypatch):
    """The channel-noise notebook draws the stored curves (data/channel_noise) and recomputes a point.

    Its recomputed exact replica must equal the stored row, its short channelsim run must fire at the
    stored exact rate of 1 um^2 within 5 standard errors, the detector must count the exact crossings,
    and the curves must show what docs/channel-noise.md says: at 100 um^2 the first-order rule fires
    faster than the exact reference at 10 us (by more than 5 SE), channelsim does not differ from it by
    more than 3 SE, and the peers' first-order rule makes open Na+ channels 5.4% too likely at rest.
    """
    monkeypatch.delenv("CHANNEL_NOISE_FIGURES", raising=False)
    ns = run_notebook(ANALYSIS / "channel_noise.ipynb", tmp_path / "unused.h5", monkeypatch)
    assert ns["recomputed"]["spikes"] == ns["stored"].spikes
    assert float(ns["recomputed"]["isi_s1"]) == pytest.approx(ns["stored"].isi_s1, rel=1e-9)
    point, exact_1 = ns["point"], ns["exact_1"]
    assert abs(point.rate - exact_1.rate) < 5 * math.hypot(point.rate_se, exact_1.rate_se)
    assert ns["detector_counts"]["exact crossings"] == ns["detector_counts"]["detector on 10 us samples"] > 50
    stats, exact = ns["stats"], ns["exact_100"]
    first_order = stats(100.0, "first_order", 10.0)
    assert first_order.rate - exact.rate > 5 * math.hypot(first_order.rate_se, exact.rate_se)
    for method in ("channelsim_population", "channelsim_agent"):
        s = stats(100.0, method, 10.0)
        assert abs(s.rate - exact.rate) < 3 * math.hypot(s.rate_se, exact.rate_se), method
    assert ns["open_excess"].loc[10, "-65 mV"] == pytest.approx(5.4, abs=0.05)
    assert {"area", "dt", "psd", "clamp"} <= {name[4:] for name in ns if name.startswith("fig_")}
