"""Synapses, receptors, multi-ion and Ca2+ channels, and open/close against closed forms.

The two-state receptor scheme of Destexhe, Mainen & Sejnowski (1994) has a closed form for one
transmitter pulse; release is Bernoulli per spike and synapse, so release counts are binomial;
receptors kept open settle at the GHK potential of the ions they pass; and the number of
synapses that fire an HH membrane is compared with an independent ODE (scipy) of the same
equations.
"""

from __future__ import annotations

import copy
import math
import os
import shutil
import signal

import h5py
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from channelsim import engine, open_run
from channelsim.channels import KINDS
from channelsim.config import parse_config
from channelsim.constants import ELEMENTARY_CHARGE, FARADAY
from channelsim.engine import RunInterrupted, resume_experiment, run_experiment
from channelsim.errors import RunFileError
from channelsim.model import build
from channelsim.physics import ghk_potential, nernst_potential
from channelsim.recording.layout import EVENTS, SERIES
from channelsim.resources import steps
from tests.helpers import BASE, simulate
from tests.validation import hh_reference as hh
from tests.validation.test_hodgkin_huxley import hh_config

DT = 10e-6


def synapse_config(synapses: list[dict], protocol: list[dict], channels=(), run=None, cell=None,
                   inside=None, outside=None):
    raw = copy.deepcopy(BASE)
    raw["run"].update({"duration": "30 ms", "dt": "10 us", "record_every": "10 us", **(run or {})})
    raw["cell"].update({"initial_voltage": "-70 mV", **(cell or {})})
    raw["cell"] = {key: value for key, value in raw["cell"].items() if value is not None}
    raw["inside"].update(inside or {})
    raw["outside"].update(outside or {})
    raw.update(channels=list(channels), synapses=synapses, protocol=protocol)
    return parse_config(raw)


def open_fraction(out: dict, name: str, receptors: int) -> np.ndarray:
    return out["open_channels"][:, list(out["kind"]).index(name)] / receptors


def closed_form(kind: str, t: np.ndarray, pulse: float = 1e-3, transmitter_mM: float = 1.0) -> np.ndarray:
    """Open fraction r(t) after one pulse at t = 0 onto closed receptors (Destexhe et al. 1994)."""
    scheme = KINDS[kind].scheme(None)
    alpha_t = scheme.transitions[0].rate(0.0, 300.0) * transmitter_mM  # 1/s
    beta = scheme.transitions[1].rate(0.0, 300.0)
    r_inf, tau_r = alpha_t / (alpha_t + beta), 1.0 / (alpha_t + beta)
    rising = r_inf * (1.0 - np.exp(-np.clip(t, 0.0, pulse) / tau_r))
    return np.where(t <= pulse, rising, r_inf * (1.0 - math.exp(-pulse / tau_r)) * np.exp(-beta * (t - pulse)))


@pytest.mark.parametrize(("kind", "peak", "tau_ms"), [("ampa", 0.6180, 1 / 0.190), ("gaba_a", 0.9598, 1 / 0.180)])
def test_mean_field_open_fraction_is_the_closed_form(kind, peak, tau_ms):
    """One release at 5 ms: the peak at the end of the 1 ms pulse and the decay time constant 1/beta."""
    receptors = 1000
    config = synapse_config([{"name": "s", "receptor": kind, "count": 1, "receptors": receptors,
                              "release_probability": 1.0, "tracking": "mean_field"}],
                            [{"action": "presynaptic_spikes", "target": "s", "at": "5 ms"}],
                            channels=[{"kind": "k_leak", "count": 500, "tracking": "mean_field"}])
    out = simulate(config)
    t = out["time"] - 5e-3
    r = open_fraction(out, "s", receptors)
    np.testing.assert_allclose(r, closed_form(kind, t), atol=1e-12)
    at_peak = np.argmax(r)
    assert t[at_peak] == pytest.approx(1e-3) and r[at_peak] == pytest.approx(peak, abs=1e-4)
    decay = (t > 2e-3) & (t < 20e-3)
    slope = np.polyfit(t[decay], np.log(r[decay]), 1)[0]
    assert -1e3 / slope == pytest.approx(tau_ms, rel=1e-9)
    assert out["releases"][-1, 0] == 1


@pytest.mark.parametrize("tracking", ["agent", "population"])
def test_stochastic_receptors_average_to_the_mean_field(tracking):
    """200 synapses of 50 AMPA receptors, each releasing once: their mean open fraction is the mean field.

    Receptors are independent, so the open count of N receptors has variance N r (1 - r); every
    recorded time of the first 15 ms must lie within 4.5 standard errors (150 times, all within
    4.5 sigma by chance with probability 0.999).
    """
    synapses, receptors = 200, 50
    config = synapse_config([{"name": "s", "receptor": "ampa", "count": synapses, "receptors": receptors,
                              "release_probability": 1.0, "tracking": tracking}],
                            [{"action": "presynaptic_spikes", "target": "s", "at": "2 ms"}],
                            run={"duration": "17 ms", "record_every": "0.1 ms"},
                            channels=[{"kind": "k_leak", "count": 500, "tracking": "mean_field"}])
    out = simulate(config)
    total = synapses * receptors
    t = out["time"] - 2e-3
    r = closed_form("ampa", t)
    measured = open_fraction(out, "s", total)
    error = np.sqrt(r * (1 - r) / total)
    shown = t > 0
    assert np.all(np.abs(measured[shown] - r[shown]) < 4.5 * error[shown] + 1e-12)
    assert np.all(measured[t <= 0] == 0)
    # and the agents are individuals: the synapses differ
    if tracking == "agent":
        per_synapse = out["patch"].synapses_of("s").open_at()
        assert per_synapse.std() > 0


def test_release_counts_are_binomial():
    """Bernoulli release, p = 0.3 at 20 synapses, for 400 spikes: counts per spike Binomial(20, 0.3).

    Mean 6 (standard error 0.1) and variance 4.2 (standard error 0.3) within 4 standard errors; and
    a Poisson train (20 Hz at every synapse for 1 s) releases rate x time x synapses x p on average.
    """
    n, p, spikes = 20, 0.3, 400
    config = synapse_config([{"name": "s", "receptor": "ampa", "count": n, "receptors": 0,
                              "release_probability": p, "tracking": "mean_field"},
                             {"name": "poisson", "receptor": "ampa", "count": 50, "receptors": 0,
                              "release_probability": p, "tracking": "mean_field"}],
                            [{"action": "presynaptic_spikes", "target": "s", "at": "0.5 ms", "count": spikes,
                              "period": "1 ms"},
                             {"action": "presynaptic_spikes", "target": "poisson", "at": "0 ms", "rate": "20 Hz"}],
                            run={"duration": "401 ms", "dt": "100 us", "record_every": "1 ms"})
    out = simulate(config)
    cumulative = out["releases"][:, list(out["synapse"]).index("s")]
    counts = np.diff(cumulative)[:spikes]  # row k + 1 counts the release of the spike at k + 0.5 ms
    assert counts.mean() == pytest.approx(n * p, abs=4 * math.sqrt(n * p * (1 - p) / spikes))
    variance = n * p * (1 - p)
    assert counts.var(ddof=1) == pytest.approx(variance, abs=4 * variance * math.sqrt(2 / (spikes - 1)))
    poisson = out["releases"][-1, list(out["synapse"]).index("poisson")]
    expected = 20.0 * 0.401 * 50 * p
    assert abs(poisson - expected) < 4 * math.sqrt(expected)
    # the same seed gives the same releases; another seed others
    again = simulate(config)
    np.testing.assert_array_equal(again["releases"], out["releases"])
    assert not np.array_equal(simulate(config, seed=2)["releases"], out["releases"])


def test_only_its_own_synapse_sees_a_release():
    """A release at synapse 0 opens only synapse 0's receptors; synapse 1 stays closed."""
    config = synapse_config([{"name": "s", "receptor": "ampa", "count": 2, "receptors": 100,
                              "release_probability": 1.0, "tracking": "agent"}],
                            [{"action": "presynaptic_spikes", "target": "s", "at": "1 ms", "synapses": 1}],
                            run={"duration": "3 ms"})
    model = build(config)
    model.advance(300)
    opened = model.synapses_of("s").open_at()
    assert opened[0] > 30 and opened[1] == 0


def kept_open(receptor: str, tracking: str, inside: dict, outside: dict):
    """Run a 10 um^2 patch with only receptors, their transmitter present for the whole run."""
    config = synapse_config([{"name": "s", "receptor": receptor, "count": 1, "receptors": 200,
                              "release_probability": 1.0, "tracking": tracking, "transmitter_duration": "20 ms"}],
                            [{"action": "presynaptic_spikes", "target": "s", "at": "0 ms"}],
                            run={"duration": "20 ms", "record_every": "0.1 ms"},
                            cell={"shape": "patch", "radius": None, "area": "10 um^2", "volume": "1 pL"},
                            inside=inside, outside=outside)
    return config, simulate(config)


def test_ampa_receptors_kept_open_settle_at_the_ghk_potential_of_na_and_k():
    """P_Na = P_K: V -> (RT/F) ln((Na_o + K_o) / (Na_i + K_i)), -4.9 mV here (not 0 mV: Na_o is 120 mM)."""
    inside, outside = {"K": "140 mM", "Na": "10 mM"}, {"K": "5 mM", "Na": "120 mM"}
    config, out = kept_open("ampa", "mean_field", inside, outside)
    c_in = dict(zip(out["ion"], out["concentration_inside"][-1], strict=True))
    c_out = dict(zip(out["ion"], out["concentration_outside"][-1], strict=True))
    expected = ghk_potential({"Na": 1.0, "K": 1.0}, c_in, c_out, config.cell.temperature)
    assert expected == pytest.approx(-4.87e-3, abs=0.01e-3)
    assert out["membrane_potential"][-1] == pytest.approx(expected, abs=2 * ELEMENTARY_CHARGE /
                                                          config.cell.capacitance_F)
    # both ions carried current: Na+ in, K+ out
    moved = dict(zip(out["ion"], out["ions_moved"][-1], strict=True))
    assert moved["Na"] > 0 > moved["K"]


def test_gaba_a_receptors_kept_open_settle_at_e_cl():
    """Population-tracked GABA_A receptors: V -> E_Cl within the thermal noise sqrt(kT/C) of a 0.1 pF patch."""
    config, out = kept_open("gaba_a", "population", {"Cl": "10 mM"}, {"Cl": "110 mM"})
    c_in, c_out = out["concentration_inside"][-1], out["concentration_outside"][-1]
    e_cl = nernst_potential(-1, c_in[2], c_out[2], config.cell.temperature)
    settled = out["membrane_potential"][out["time"] > 10e-3]
    noise = math.sqrt(1.380649e-23 * config.cell.temperature / config.cell.capacitance_F)
    assert settled.mean() == pytest.approx(e_cl, abs=5 * noise / math.sqrt(10))  # ~10 independent samples
    assert e_cl == pytest.approx(-64.1e-3, abs=0.1e-3)


def test_calcium_counts_with_valence_two():
    """ca_leak alone: V settles at E_Ca = (RT/2F) ln([Ca]o/[Ca]i), and each Ca2+ moved V by 2e/C."""
    raw = copy.deepcopy(BASE)
    raw["run"].update({"duration": "20 ms", "record_every": "0.1 ms"})
    raw["cell"] = {"shape": "patch", "area": "10 um^2", "volume": "1 pL", "temperature": "37 degC",
                   "initial_voltage": "0 mV"}
    raw["inside"]["Ca"] = "10 uM"
    raw["outside"]["Ca"] = "2 mM"
    raw["channels"] = [{"kind": "ca_leak", "count": 20000, "tracking": "population"}]
    config = parse_config(raw)
    out = simulate(config)
    moved = dict(zip(out["ion"], out["ions_moved"][-1], strict=True))
    capacitance = config.cell.capacitance_F
    v = out["membrane_potential"]
    assert v[-1] - v[0] == pytest.approx(2 * moved["Ca"] * ELEMENTARY_CHARGE / capacitance, abs=1e-12)
    assert moved["K"] == moved["Na"] == moved["Cl"] == 0
    c_in, c_out = out["concentration_inside"][-1, 3], out["concentration_outside"][-1, 3]
    e_ca = nernst_potential(2, c_in, c_out, config.cell.temperature)
    assert e_ca > 0.05  # Ca2+ still far more concentrated outside
    noise = math.sqrt(1.380649e-23 * config.cell.temperature / capacitance)
    assert v[-1] == pytest.approx(e_ca, abs=6 * noise)


def test_multi_ion_channels_conserve_every_ion_exactly():
    """AMPA (Na+ and K+), GABA_A, ca_leak and k_leak in agent and population tracking, finite outside."""
    config = synapse_config([{"name": "e", "receptor": "ampa", "count": 4, "receptors": 300, "tracking": "agent",
                              "release_probability": 0.7},
                             {"name": "i", "receptor": "gaba_a", "count": 3, "receptors": 200,
                              "tracking": "population"}],
                            [{"action": "presynaptic_spikes", "target": "e", "at": "1 ms", "rate": "300 Hz"},
                             {"action": "presynaptic_spikes", "target": "i", "at": "2 ms", "count": 5,
                              "period": "3 ms"},
                             {"action": "open", "target": "ca_leak", "at": "4 ms", "count": 3000},
                             {"action": "close", "target": "k_leak", "at": "10 ms", "count": 100}],
                            channels=[{"kind": "k_leak", "count": 300, "tracking": "agent"},
                                      {"kind": "ca_leak", "count": 0, "tracking": "agent"}],
                            outside={"volume": "50 fL"})
    out = simulate(config)
    inside, outside = out["ions_inside"], out["ions_outside"]
    np.testing.assert_array_equal(inside + outside, np.broadcast_to(inside[0] + outside[0], inside.shape))
    np.testing.assert_array_equal(out["ions_moved"], inside - inside[0])
    moved = out["influx"][-1] + out["efflux"][-1]
    assert np.all(moved > 0)  # every ion crossed: K+, Na+ (AMPA), Cl- (GABA_A), Ca2+
    patch = out["patch"]
    net_charge = patch.compartments.fixed_charge.sum() + inside @ patch.valence
    np.testing.assert_array_equal(out["membrane_potential"], net_charge * ELEMENTARY_CHARGE / config.cell.capacitance_F)


@pytest.mark.parametrize("tracking", ["agent", "population", "mean_field"])
def test_open_and_close_change_the_channels_on_the_membrane(tracking):
    """`open` inserts open K+ leaks (V falls towards E_K), `close` removes them (V comes back)."""
    config = synapse_config([], [{"action": "open", "target": "k_leak", "at": "30 ms", "count": 2000},
                                 {"action": "close", "target": "k_leak", "at": "40 ms", "count": 2000}],
                            channels=[{"kind": "k_leak", "count": 100, "tracking": tracking},
                                      {"kind": "na_leak", "count": 20, "tracking": tracking}],
                            run={"duration": "70 ms", "record_every": "0.1 ms"}, cell={"initial_voltage": "-45 mV"})
    out = simulate(config)
    t, v = out["time"], out["membrane_potential"]
    k = list(out["kind"]).index("k_leak")
    assert out["on_membrane"][t < 30e-3, k].max() == 100
    assert np.all(out["on_membrane"][(t > 30e-3) & (t < 40e-3), k] == 2100)
    assert out["on_membrane"][-1, k] == 100 and out["agent_count"][k] == 100
    assert out["open_channels"][(t > 30e-3) & (t < 40e-3), k].min() == 2100
    e_k = nernst_potential(1, 140, 5, config.cell.temperature)
    before, during, after = (v[np.argmin(abs(t - s))] for s in (29.9e-3, 39.9e-3, 69.9e-3))
    assert during < before - 30e-3 and abs(during - e_k) < abs(before - e_k) / 4
    assert abs(after - before) < 1e-3


def resumable_config():
    """Agent receptors with Poisson release, and `open` then `close` of agent leaks: 300 rows, 100 segments."""
    return synapse_config([{"name": "e", "receptor": "ampa", "count": 3, "receptors": 50,
                            "release_probability": 0.5, "tracking": "agent"}],
                          [{"action": "presynaptic_spikes", "target": "e", "at": "1 ms", "rate": "200 Hz"},
                           {"action": "open", "target": "k_leak", "at": "8 ms", "count": 400},
                           {"action": "close", "target": "k_leak", "at": "20 ms", "count": 300}],
                          channels=[{"kind": "k_leak", "count": 100, "tracking": "agent"}],
                          run={"record_every": "0.1 ms"})


def test_a_resumed_synaptic_run_is_bit_identical():
    """state() and restore() carry receptors, absent agent slots and the release schedule across a resume."""
    config = resumable_config()
    whole = build(config).advance(10**9)
    first = build(config)
    part = first.advance(1234)
    second = build(config)
    second.restore({name: array.copy() for name, array in first.state().items()})
    rest = second.advance(10**9)
    for name, values in whole.rows.items():
        np.testing.assert_array_equal(np.concatenate([part.rows[name], rest.rows[name]]), values, err_msg=name)


def test_a_synaptic_run_file_resumes_bit_identically_and_refuses_tampered_counts(tmp_path, monkeypatch):
    """A run with releases, `open` and `close`, stopped by SIGTERM and resumed from its file's checkpoint.

    The resumed file equals the uninterrupted one in every series; a checkpoint whose channel counts
    or absent agent slots disagree with the protocol steps applied so far is refused, naming the array.
    """
    config = resumable_config()
    reference = run_experiment(config, tmp_path / "reference.h5", progress=False)
    original = engine.segments

    def stopping(model, stop=None, progress=None):  # SIGTERM after 40 of 100 segments: past `open`, before `close`
        for n, segment in enumerate(original(model, stop, progress)):
            if n == 40:
                os.kill(os.getpid(), signal.SIGTERM)
            yield segment

    stopped = tmp_path / "stopped.h5"
    monkeypatch.setattr(engine, "segment_steps", lambda config: steps(config) // 100)
    monkeypatch.setattr(engine, "segments", stopping)
    with pytest.raises(RunInterrupted):
        run_experiment(config, stopped, progress=False)
    monkeypatch.undo()
    with h5py.File(stopped, "r") as f:
        slot = f"checkpoint/{f['checkpoint/active'][0]}"
        assert f[f"{slot}/next_event"][0] == 1  # `open` applied, `close` not yet
    for name, change in (("kinds.count", lambda v: v - 1), ("channel_agents_absent", lambda v: 1 - v)):
        tampered = tmp_path / f"{name}.h5"
        shutil.copy(stopped, tampered)
        with h5py.File(tampered, "r+") as f:
            dataset = f[f"checkpoint/{f['checkpoint/active'][0]}/{name}"]
            dataset[...] = change(dataset[()])
        with pytest.raises(RunFileError, match=name):
            resume_experiment(tampered, progress=False)
    resume_experiment(stopped, progress=False)
    expected, resumed = open_run(reference), open_run(stopped)
    assert resumed.attrs["status"] == "complete" and int(resumed.releases[-1].sum()) > 0
    for name in (*SERIES, *EVENTS, "time"):
        np.testing.assert_array_equal(resumed[name].values, expected[name].values, err_msg=name)


# --------------------------------------------------------------------------------------------
# The summation threshold: synapses needed to fire an HH membrane, against an independent ODE

RECEPTORS = 1
AREA_CM2 = 1000e-8  # 1000 um^2
VT = 8.314462618 * 279.45 / 96485.33212


def summation_config(synapses: int, dt_us: float = 10, permeability: float | None = None):
    """HH's squid membrane (tests/validation/test_hodgkin_huxley.py), mean field, with AMPA synapses."""
    config = hh_config(dt_us, 25, area="1000 um^2")
    raw = copy.deepcopy(config._given)
    raw["synapses"] = [{"name": "e", "receptor": "ampa", "count": 40, "receptors": RECEPTORS,
                        "release_probability": 1.0, "tracking": "mean_field"}]
    if permeability is not None:
        raw["synapses"][0]["permeability"] = f"{permeability!r} m^3/s"
    raw["protocol"] = [{"action": "presynaptic_spikes", "target": "e", "at": "2 ms", "synapses": synapses}]
    return parse_config(raw)


def fires_in_channelsim(synapses: int, dt_us: float = 10, permeability: float | None = None) -> bool:
    return len(simulate(summation_config(synapses, dt_us, permeability))["spike_time"]) > 0


def bisect(fires, low: float, high: float, tolerance: float) -> float:
    """Find the boundary in [low, high] between values that do not fire and values that do."""
    assert not fires(low) and fires(high)
    while high - low > tolerance:
        middle = 0.5 * (low + high)
        low, high = (low, middle) if fires(middle) else (middle, high)
    return 0.5 * (low + high)


def fires_in_ode(synapses: float, permeability: float, inside: dict, outside: dict) -> bool:
    """HH (1952) with AMPA receptors: r' = alpha [T] (1 - r) - beta r, GHK currents of Na+ and K+ (P each).

    Units: mV, ms, uA/cm^2, uF/cm^2; the AMPA current density is synapses x receptors x r x
    (single-channel GHK current) / area. Transmitter 1 mM from 2 to 3 ms.
    """
    alpha, beta = 1.1, 0.19  # /ms per mM, /ms

    def ghk(v, ion):  # outward current (A) through one open receptor, per unit permeability ratio
        xi = v * 1e-3 / VT
        if abs(xi) < 1e-9:
            return permeability * FARADAY * (inside[ion] - outside[ion])
        return permeability * FARADAY * xi * (inside[ion] - outside[ion] * math.exp(-xi)) / -math.expm1(-xi)

    def rhs(t, y, transmitter):
        v, m, h, n, r = y
        am, bm, ah, bh, an, bn = hh.rates(v)
        synaptic = synapses * RECEPTORS * r * (ghk(v, "Na") + ghk(v, "K")) * 1e6 / AREA_CM2  # uA/cm^2
        return [-hh.ionic_current(v, m, h, n) - synaptic, am * (1 - m) - bm * m, ah * (1 - h) - bh * h,
                an * (1 - n) - bn * n, alpha * transmitter * (1 - r) - beta * r]

    def crossing(t, y, transmitter):
        return y[0]

    crossing.direction = 1
    y = [-65.0, *hh.steady_gates(-65.0), 0.0]
    for a, b, transmitter in ((0.0, 2.0, 0.0), (2.0, 3.0, 1.0), (3.0, 25.0, 0.0)):
        solution = solve_ivp(rhs, (a, b), y, method="LSODA", rtol=1e-9, atol=1e-11, args=(transmitter,),
                             events=crossing)
        if len(solution.t_events[0]):
            return True
        y = solution.y[:, -1]
    return False


def test_synapses_needed_to_fire_match_an_independent_ode():
    """The fewest synapses (1 AMPA receptor each) whose simultaneous release fires HH's membrane (1000 um^2).

    channelsim in mean field (dt = 10 us) against the HH equations with the two-state receptor
    kinetics and GHK currents solved by scipy; the ODE's threshold is found as a real number N*
    and must be well away from a whole number, so that the integer thresholds must agree (ODE
    N* = 23.65: 24 synapses fire, 23 do not).

    channelsim's threshold as a real number too: with `needed` synapses, the fraction f of the
    receptors' permeability that just fires gives N* = f x needed. channelsim's step is first order
    in dt, so as in test_hodgkin_huxley.py, |N*(5 us) - N*_ODE| <= 1.5 |N*(10 us) - N*(5 us)| + the
    bisection's resolution (measured: 23.78 at 10 us, 23.72 at 5 us, 23.68 at 2.5 us; ODE 23.65).
    """
    config = summation_config(1)
    permeability = config.synapses[0].permeability
    c_in = {ion: getattr(config.inside, ion) for ion in ("Na", "K")}
    c_out = {ion: getattr(config.outside, ion) for ion in ("Na", "K")}
    assert config.cell.area_m2 == pytest.approx(AREA_CM2 * 1e-4)
    threshold = bisect(lambda n: fires_in_ode(n, permeability, c_in, c_out), 16.0, 32.0, 0.01)
    assert 0.15 < threshold - math.floor(threshold) < 0.85, threshold  # the test can tell the integers apart
    needed = math.ceil(threshold)
    assert fires_in_channelsim(needed) and not fires_in_channelsim(needed - 1), (threshold, needed)
    continuous = [needed * bisect(lambda f, dt=dt: fires_in_channelsim(needed, dt, f * permeability), 0.975, 1.0, 1e-3)
                  for dt in (10, 5)]
    assert abs(continuous[1] - threshold) <= 1.5 * abs(continuous[0] - continuous[1]) + 0.03, (continuous, threshold)
    assert abs(continuous[0] - threshold) < 0.01 * threshold


@pytest.mark.parametrize(("change", "field"), [
    ({"channels": [{"kind": "ampa", "count": 10}]}, "channels.ampa.kind"),
    ({"synapses": [{"name": "e", "receptor": "nicotinic", "receptors": 5}]}, "synapses.e"),
    ({"synapses": [{"name": "k_leak", "receptor": "ampa", "receptors": 5}]}, "synapses.k_leak.name"),
    ({"synapses": [{"name": "e", "receptor": "ampa"}]}, "synapses.e.receptors"),
    ({"protocol": [{"action": "presynaptic_spikes", "target": "nowhere", "at": "1 ms"}]}, "protocol.0.target"),
    ({"synapses": [{"name": "e", "receptor": "ampa", "receptors": 5, "count": 2}],
      "protocol": [{"action": "presynaptic_spikes", "target": "e", "at": "1 ms", "synapses": 3}]},
     "protocol.0.synapses"),
    ({"synapses": [{"name": "e", "receptor": "ampa", "receptors": 5}],
      "protocol": [{"action": "presynaptic_spikes", "target": "e", "at": "1 ms", "rate": "5 Hz", "count": 2}]},
     "protocol.0.presynaptic_spikes.rate"),
    ({"synapses": [{"name": "e", "receptor": "ampa", "receptors": 5}],
      "protocol": [{"action": "presynaptic_spikes", "target": "e", "at": "1 ms", "count": 2}]},
     "protocol.0.presynaptic_spikes.period"),
    ({"channels": [{"kind": "k_leak", "count": 10}],
      "protocol": [{"action": "close", "target": "k_leak", "at": "1 ms", "count": 11}]}, "protocol.0.count"),
    ({"channels": [{"kind": "k_leak", "count": 10}],
      "protocol": [{"action": "open", "target": "na_leak", "at": "1 ms", "count": 1}]}, "protocol.0.target"),
])
def test_bad_synapse_and_opening_configs_name_the_field(change, field):
    from channelsim.errors import ConfigError

    raw = copy.deepcopy(BASE)
    raw.update(copy.deepcopy(change))
    with pytest.raises(ConfigError) as error:
        parse_config(raw)
    assert error.value.field.startswith(field), (error.value.field, str(error.value))


def test_set_addresses_synapse_entries_by_name():
    config = synapse_config([{"name": "e", "receptor": "ampa", "receptors": 5}], [])
    changed = config.updated({"synapses.e.count": 7, "synapses.i.receptor": "gaba_a", "synapses.i.receptors": 3})
    assert [(s.name, s.count, s.receptors) for s in changed.synapses] == [("e", 7, 5), ("i", 1, 3)]
    assert changed.synapses[1].transmitter == 1.0 and changed.synapses[1].conductance == 27e-12


def test_nmda_mg_block_follows_jahr_and_stevens():
    """NMDA receptors with transmitter held, voltage-clamped at -80 mV, then 0 mV, then -40 mV (mean field).

    The open, unblocked fraction settles at r_inf B(V), r_inf = alpha T / (alpha T + beta) and
    B(V) = 1 / (1 + [Mg]o / 3.57 mM exp(-0.062 V / mV)) (Jahr & Stevens 1990): 0.022 at -80 mV,
    0.716 at 0 mV; the block follows a voltage step within a millisecond, the binding does not
    care. Ca2+ enters with Na+ (P_Ca = 10 P_Na) and every ion is conserved.
    """
    from channelsim.channels.receptors import unblocked_fraction

    receptors = 1000
    config = synapse_config([{"name": "n", "receptor": "nmda", "count": 1, "receptors": receptors,
                              "release_probability": 1.0, "tracking": "mean_field", "transmitter_duration": "1 s"}],
                            [{"action": "presynaptic_spikes", "target": "n", "at": "0 ms"},
                             {"action": "voltage_clamp", "at": "0 ms", "potential": "-80 mV", "duration": "200 ms"},
                             {"action": "voltage_clamp", "at": "200 ms", "potential": "0 mV", "duration": "10 ms"},
                             {"action": "voltage_clamp", "at": "210 ms", "potential": "-40 mV"}],
                            run={"duration": "220 ms", "dt": "20 us", "record_every": "0.1 ms"},
                            inside={"Ca": "100 nM"}, outside={"Ca": "2 mM"})
    out = simulate(config)
    t, r = out["time"], open_fraction(out, "n", receptors)
    r_inf = 72.0 / 78.6
    for time, v in ((199.9e-3, -0.08), (209.9e-3, 0.0), (219.9e-3, -0.04)):
        assert r[np.argmin(abs(t - time))] == pytest.approx(r_inf * unblocked_fraction(v), rel=1e-4), v
    assert unblocked_fraction(-0.08) == pytest.approx(0.0244, abs=1e-4)
    moved = dict(zip(out["ion"], out["ions_moved"][-1], strict=True))
    assert moved["Ca"] > 0 and moved["Na"] > 0
    inside = out["ions_inside"]
    np.testing.assert_array_equal(out["ions_moved"] + out["ions_electrode"], inside - inside[0])
    assert np.all(out["ions_electrode"][-1, 1:] == 0)  # the clamp's current is K+, the rest came through NMDA
