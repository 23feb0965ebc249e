"""The notebooks in analysis/ run top to bottom against a fresh run file, and their results are right."""

import json
import math
from pathlib import Path

import matplotlib

from channelsim.config import load_config
from channelsim.constants import ELEMENTARY_CHARGE
from channelsim.engine import run_experiment
from tests.helpers import ion_quantum, make_config, thermal_sigma

ANALYSIS = Path(__file__).parents[2] / "analysis"
EXPERIMENTS = Path(__file__).parents[2] / "experiments"
NOTEBOOKS = sorted(ANALYSIS.glob("*.ipynb"))


def run_notebook(notebook: Path, run: Path, monkeypatch, variable: str = "CHANNELSIM_RUN") -> dict:
    """Execute the notebook's code cells in order, against `run` (named by `variable`); return its namespace."""
    matplotlib.use("Agg")
    monkeypatch.setenv(variable, str(run))
    namespace: dict = {}
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), f"{notebook.name}", "exec"), namespace)
    return namespace


def test_every_notebook_is_checked():
    """A new notebook needs its own test of its results below, not just a run."""
    assert [p.name for p in NOTEBOOKS] == ["heart.ipynb", "how_few_ions.ipynb", "synapses.ipynb"]


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



def test_synapses(tmp_path, monkeypatch):
    """The four synaptic experiments as configured (quantal_release with its first 160 trials).

    Opening channels moves V towards each ion's E (K+, Cl-, Na+ most of the way; Ca2+, scarce and
    accumulating, part of it); EPSPs sum in time (3 spikes 5 ms apart beat one) and space (1 < 2
    < 4 synapses), 8 synapses fire and nothing else does, and the largest EPSP that failed peaked
    below the spike's upstroke; the IPSP alone hyperpolarises (E_Cl below rest), cancels the EPSP
    that fires alone, and with E_Cl at rest leaves V alone yet still cancels it; quantal release
    counts have the binomial mean and variance (within 4 standard errors) and EPSPs of k quanta
    average k quanta (sublinearly: within 15% below).
    """
    shortened = {"quantal_release": ["protocol.0.count=160", 'run.duration="4.005 s"']}
    for name in ("channel_opening", "epsp_summation", "ipsp", "quantal_release"):
        config = load_config(EXPERIMENTS / f"{name}.toml", shortened.get(name, []))
        run_experiment(config, tmp_path / f"{name}.h5", progress=False)
    ns = run_notebook(ANALYSIS / "synapses.ipynb", tmp_path, monkeypatch, "CHANNELSIM_RUNS")

    for ion, moved in ns["openings"].items():
        towards = abs(moved["end"] - moved["E"]) / abs(moved["before"] - moved["E"])
        assert towards < (0.6 if ion == "Ca" else 0.3), (ion, moved)
        assert (moved["end"] - moved["before"]) * (moved["E"] - moved["before"]) > 0  # the right direction
    assert set(ns["openings"]) == {"K", "Cl", "Na", "Ca"}

    amplitude, fired = ns["amplitude"], ns["fired"]
    assert amplitude["1 synapse, 3 spikes 5 ms apart"] > 1.5 * amplitude["1 synapse"]
    assert amplitude["1 synapse"] < amplitude["2 synapses"] < amplitude["4 synapses"]
    assert fired == {"1 synapse": False, "1 synapse, 3 spikes 5 ms apart": False, "2 synapses": False,
                     "4 synapses": False, "8 synapses": True}
    assert -0.065 < ns["highest_subthreshold"] < ns["threshold"] < -0.045
    assert ns["spike_peak"] > 0.02  # all or none: a full action potential

    ipsp = ns["ipsp"]
    alone, excited = ipsp["10 inhibitory"], ipsp["7 excitatory"]
    assert alone["change"] < -0.002 and alone["E_Cl"] < alone["baseline"] + alone["change"]
    assert excited["fired"] and not ipsp["7 excitatory + 10 inhibitory"]["fired"]
    shunting = ipsp["10 inhibitory (shunting)"]
    assert abs(shunting["E_Cl"] - shunting["baseline"]) < 0.001 and abs(shunting["change"]) < 0.0003
    assert not ipsp["7 excitatory + 10 inhibitory (shunting)"]["fired"]

    trials = ns["trials"]
    n, p, count = trials["n"], trials["p"], len(trials["releases"])
    assert count == 160
    assert abs(ns["release_mean"] - n * p) < 4 * math.sqrt(n * p * (1 - p) / count)
    variance = n * p * (1 - p)
    assert abs(ns["release_variance"] - variance) < 4 * variance * math.sqrt(2 / (count - 1))
    quantum = ns["quantum"]
    assert 1.0 < quantum < 10.0  # mV: a quantum of a few mV
    for k, peak in ns["peaks"].items():
        if 1 <= k <= 3:
            assert 0.85 * k * quantum <= peak <= 1.02 * k * quantum, (k, peak, quantum)
    assert abs(ns["peaks"][0]) < 0.1 * quantum


def test_heart(tmp_path, monkeypatch):
    """The paced LR1 myocyte near LR1's numbers, its beats around the mean field; hyperkalaemia's two faces.

    Statistics over beats 2-5 of the experiment (population tracking: exact in distribution); the
    mean-field control is the notebook's own. LR1's numbers are those of the reference ODE
    (tests/reference), and the differences allowed are the ones the counted Ca2+ makes
    (tests/validation/test_luo_rudy.py): rest within 1 mV, peak within 1.5 mV, APD90 within 10 %.
    The stochastic mean APD90 is the mean field's within 5 standard errors of the beats' scatter
    (plus the 0.1 ms sampling); channel noise must make the beats differ.
    """
    run = tmp_path / "cardiac_action_potential.h5"
    run_experiment(load_config(EXPERIMENTS / "cardiac_action_potential.toml"), run, progress=False)
    monkeypatch.setenv("CHANNELSIM_CARDIAC_ACTION_POTENTIAL", str(run))
    probe = tmp_path / "hyperkalaemia_excitability.h5"
    run_experiment(load_config(EXPERIMENTS / "hyperkalaemia_excitability.toml"), probe, progress=False)
    monkeypatch.setenv("CHANNELSIM_HYPERKALAEMIA_EXCITABILITY", str(probe))
    monkeypatch.chdir(ANALYSIS)
    ns = run_notebook(ANALYSIS / "heart.ipynb", run, monkeypatch)
    stats, control = ns["heart_stats"], ns["control_beats"][1]
    assert len(ns["heart_beats"]) == 5
    assert abs(stats["rest"][0] * 1e3 - -84.4) < 1.0 and stats["rest"][0] > ns["e_k"]
    assert abs(stats["peak"][0] * 1e3 - 42.3) < 1.5 and stats["peak"][0] < ns["e_na"]
    assert abs(stats["apd90"][0] * 1e3 - 362.0) < 36.2
    mean, error = stats["apd90"]
    assert abs(mean - control["apd90"]) < 5 * error + 1e-4
    assert ns["apd_spread"] > 1e-3  # beat-to-beat variability of more than 1 ms
    assert stats["calcium_peak"][0] < 0.5 * 6.4e-3

    # hyperkalaemia: the rest follows E_K from above (the background and Na+ currents hold it a
    # few mV up), less current fires a depolarised cell, and its Na+ channels inactivate, so
    # the upstroke weakens
    table = ns["excitability"]
    assert list(table.index) == [2.0, 4.0, 5.4, 8.0, 10.0, 12.0]
    above = table["rest (mV)"] - table["E_K (mV)"]
    assert ((above > 0) & (above < 10)).all()
    fire = table["current to fire (uA/cm^2)"]
    assert (fire.diff().dropna() <= 0).all() and fire.iloc[-1] < 0.6 * fire.iloc[0]
    available = table["Na+ channels available at rest"]
    assert (available.diff().dropna() < 0).all() and available.iloc[-1] < 0.2
    assert table["dV/dt max (V/s)"].iloc[-1] < 0.3 * table["dV/dt max (V/s)"].loc[5.4]
