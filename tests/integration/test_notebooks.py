"""The notebooks in analysis/ run top to bottom against a fresh run file, and their results are right."""

import json
from pathlib import Path

import matplotlib
import numpy as np

from channelsim.constants import ELEMENTARY_CHARGE
from channelsim.engine import run_experiment
from tests.helpers import ion_quantum, make_config, thermal_sigma

ANALYSIS = Path(__file__).parents[2] / "analysis"
NOTEBOOKS = sorted(ANALYSIS.glob("*.ipynb"))


def run_notebook(notebook: Path, run: Path, monkeypatch) -> dict:
    """Execute the notebook's code cells in order, against `run`; return its namespace."""
    matplotlib.use("Agg")
    monkeypatch.setenv("CHANNELSIM_RUN", str(run))
    monkeypatch.setenv("CHANNELSIM_ROOT", str(ANALYSIS.parent))
    monkeypatch.setenv("CHANNELSIM_SWEEP", str(run.parent / "sweep"))
    namespace: dict = {}
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), f"{notebook.name}", "exec"), namespace)
    return namespace


def test_every_notebook_is_checked():
    """A new notebook needs its own test of its results below, not just a run."""
    assert [p.name for p in NOTEBOOKS] == ["how_few_ions.ipynb"]


def test_how_few_ions(tmp_path, monkeypatch):
    """2000 K+ leaks take a neutral 5 um cell from 0 mV to E_K.

    The membrane time constant is ~1 ms, so 20 ms leave no trace of the start. The notebook's
    count of K+ ions that left must equal C |dV| / e within one ion, V must end at E_K within 5
    thermal standard deviations sqrt(kT/C) (37 uV here) and one ion's step, and the ions that
    left must be a tiny share of the cell's K+.
    """
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

    # against cell size (experiments/few_ions.toml swept over the radius): the ledger equals
    # C |dV| / e within one ion at every size; the count per um^2 is the closed form c_m |E_K| / e
    # within 1% (the final V is within a few sqrt(kT/C) of E_K: 0.6 mV on the spine head, 0.7%);
    # the share that moved falls as 1 / radius
    table = ns["table"]
    assert list(table["radius (um)"]) == [0.3, 1, 3, 10, 30, 100, 250]
    assert (abs(table["K+ crossed"] - table["C|dV|/e"]) <= 1).all()
    per_um2 = 0.01 * abs(ns["e_k_few"]) / ELEMENTARY_CHARGE * 1e-12  # c_m |E_K| / e per um^2
    np.testing.assert_allclose(table["crossed per um^2"], per_um2, rtol=0.01)
    share_times_radius = table["share moved"] * table["radius (um)"]
    np.testing.assert_allclose(share_times_radius, share_times_radius.median(), rtol=0.01)
    assert table["share moved"].iloc[0] < 1e-3 and table["share moved"].iloc[-1] < 1e-6

