"""The notebooks in analysis/ run top to bottom against a fresh run file."""

import json
from pathlib import Path

import matplotlib
import pytest

from channelsim.engine import run_experiment
from tests.helpers import make_config

NOTEBOOKS = sorted((Path(__file__).parents[2] / "analysis").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(notebook, tmp_path, monkeypatch):
    matplotlib.use("Agg")
    run = tmp_path / "run.h5"
    run_experiment(make_config([{"kind": "k_leak", "count": 2000}], ['run.duration="5 ms"']), run, progress=False)
    monkeypatch.setenv("CHANNELSIM_RUN", str(run))
    namespace: dict = {}
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), f"{notebook.name}", "exec"), namespace)
