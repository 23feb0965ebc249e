"""Figures tell the truth.

The reference potentials (Nernst, GHK, pump-leak balance, Donnan) are those of the
concentrations at each recorded time, so they follow a [K]o step, and the lines a figure draws
are those series; stimuli, thresholds, footers and dropped panels as promised.
"""

import copy
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

import channelsim
from channelsim import analysis, plotting
from channelsim.channels import KINDS
from channelsim.config import parse_config
from channelsim.constants import AVOGADRO, ELEMENTARY_CHARGE, VALENCE
from channelsim.engine import run_experiment
from channelsim.physics import (
    donnan_equilibrium,
    ghk_current,
    ghk_potential,
    nernst_potential,
    pump_cycle_rate,
    thermal_voltage,
)
from tests.helpers import BASE
from tests.validation.test_hodgkin_huxley import hh_config

LEAKS = [{"kind": "k_leak", "count": 300, "tracking": "population"},
         {"kind": "na_leak", "count": 12, "tracking": "population"},
         {"kind": "cl_leak", "count": 120, "tracking": "population"}]
K_STEP = {"action": "set_outside", "at": "2 ms", "ion": "K", "concentration": "20 mM"}
STEP_s = 2e-3
K_BEFORE_mM, K_AFTER_mM = 5.0, 20.0
#: Recorded times (s) on both sides of the step, away from the row where it happens.
TIMES = (0.5e-3, 1.5e-3, 2.5e-3, 3.9e-3)


def config_of(channels, protocol=(), pumps=(), overrides=None):
    raw = copy.deepcopy(BASE)
    raw["run"].update({"duration": "4 ms", "dt": "10 us", "record_every": "0.1 ms"})
    raw["cell"]["initial_voltage"] = "-70 mV"
    raw.update(channels=copy.deepcopy(channels), protocol=list(protocol), pumps=list(pumps))
    for key, value in (overrides or {}).items():
        raw[key].update(value)
    return parse_config(raw)


def run(tmp_path, config):
    return channelsim.open_run(run_experiment(config, tmp_path / "run.h5", progress=False))


COMMAND = 'channelsim run test.toml --set outside.K="5 mM" --seed 1'


@pytest.fixture(scope="module")
def k_step_file(tmp_path_factory):
    """Leaks in a 5 um cell whose bath K+ steps from 5 to 20 mM at 2 ms (run file path)."""
    return run_experiment(config_of(LEAKS, [K_STEP]), tmp_path_factory.mktemp("k_step") / "k_step.h5",
                          progress=False, command=COMMAND)


@pytest.fixture(scope="module")
def k_step_run(k_step_file):
    return channelsim.open_run(k_step_file)


def row(ds, t):
    return ds.sel(time=t, method="nearest")


def inside_mM(ds, t, ion):
    """Inside concentration from the ion count, independently of the recorded concentrations."""
    return float(row(ds, t).ions_inside.sel(ion=ion)) / (AVOGADRO * float(ds.volume_inside))


def k_outside_mM(t):
    return K_BEFORE_mM if t < STEP_s else K_AFTER_mM


def outside_mM(t):
    return {"K": k_outside_mM(t), "Na": 145.0, "Cl": 110.0}


def test_reversal_potentials_follow_the_outside_step(k_step_run):
    ds = k_step_run
    temperature = float(ds.temperature)
    e = analysis.reversal_potentials(ds)
    for t in TIMES:
        for ion, z in (("K", 1), ("Na", 1), ("Cl", -1)):
            expected = nernst_potential(z, inside_mM(ds, t, ion), outside_mM(t)[ion], temperature)
            assert float(row(e, t).sel(ion=ion)) == pytest.approx(expected, rel=1e-9), (t, ion)
    # the step itself: E_K rises by (RT/F) ln 4 (= 37 mV at 37 degC), up to the K+ that left
    jump = float(row(e, TIMES[2]).sel(ion="K") - row(e, TIMES[1]).sel(ion="K"))
    assert jump == pytest.approx(thermal_voltage(temperature) * math.log(4), rel=1e-3)


def test_channels_potential_is_the_ghk_voltage_at_each_time(k_step_run):
    ds = k_step_run
    v, law = analysis.predicted_potential(ds)
    assert law == "GHK"
    permeability = {entry.kind: entry.permeability for entry in analysis.run_config(ds).channels}
    for t in TIMES:
        open_count = row(ds, t).open_channels
        weights = {ion: float(open_count.sel(kind=kind)) * permeability[kind]
                   for ion, kind in (("K", "k_leak"), ("Na", "na_leak"), ("Cl", "cl_leak"))}
        inside = {ion: inside_mM(ds, t, ion) for ion in ("K", "Na", "Cl")}
        expected = ghk_potential(weights, inside, outside_mM(t), float(ds.temperature))
        assert float(row(v, t)) == pytest.approx(expected, rel=1e-9), t
    assert float(row(v, TIMES[2]) - row(v, TIMES[1])) > 0.010  # 20 mM K+ depolarises the GHK voltage


def test_donnan_prediction_follows_the_outside_step(k_step_run):
    ds = k_step_run
    v, inside = analysis.donnan_prediction(ds)
    impermeant = float(ds.impermeant_valence * ds.impermeant_anions) / (AVOGADRO * float(ds.volume_inside))
    for t in TIMES:
        expected_v, expected_inside = donnan_equilibrium(outside_mM(t), {"Ca": inside_mM(ds, t, "Ca")}, impermeant,
                                                         float(ds.temperature))
        assert float(row(v, t)) == pytest.approx(expected_v, rel=1e-9), t
        assert float(row(inside, t).sel(ion="K")) == pytest.approx(expected_inside["K"], rel=1e-9), t
    assert float(row(v, TIMES[2])) != pytest.approx(float(row(v, TIMES[1])), rel=1e-3)


def test_pump_leak_potential_balances_channel_and_pump_currents(tmp_path):
    """With pumps the steady potential is where the leak and pump currents cancel.

    Checked with the closed-form currents at several times across a [K]o step; it lies below the
    GHK voltage by the pump's electrogenic share, and each cycle carries one charge out.
    """
    pumps = [{"kind": "na_k_atpase", "count": 200_000, "tracking": "population"}]
    ds = run(tmp_path, config_of(LEAKS, [K_STEP], pumps))
    assert analysis.pump_charge_per_cycle("na_k_atpase") == -ELEMENTARY_CHARGE
    last = ds.isel(time=-1)  # the run's own ledger: pump transport = all moved - through channels
    pumped = (last.ions_moved - last.influx + last.efflux) * ds.valence
    assert int(pumped.sum()) == -int(last.pump_cycles.sum()) != 0
    config = analysis.run_config(ds)
    pump = config.pumps[0]
    v = analysis.pump_leak_potential(ds)
    channels_alone, _ = analysis.predicted_potential(ds)
    temperature = float(ds.temperature)
    for t in TIMES:
        inside = {ion: inside_mM(ds, t, ion) for ion in ("K", "Na", "Cl")}
        outside = outside_mM(t)
        v_t = float(row(v, t))
        channel_current = 0.0
        for entry in config.channels:
            ion = KINDS[entry.kind].ion
            channel_current += float(row(ds, t).open_channels.sel(kind=entry.kind)) * ghk_current(
                entry.permeability, VALENCE[ion], inside[ion], outside[ion], v_t, temperature)
        pump_current = ELEMENTARY_CHARGE * 200_000 * pump_cycle_rate(
            pump.max_turnover, pump.half_saturation_na, pump.half_saturation_k, inside["Na"], outside["Na"],
            outside["K"], v_t, temperature)
        assert abs(channel_current + pump_current) < 1e-6 * pump_current, t
        assert v_t < float(row(channels_alone, t))
    shift = analysis.electrogenic_shift(ds, STEP_s)
    before = ds.time.values[ds.time.values <= STEP_s][-1]  # the last row before the step
    assert shift == pytest.approx(float(channels_alone.sel(time=before) - v.sel(time=before)), rel=1e-9)


def test_without_pumps_the_pump_leak_potential_is_the_ghk_voltage(k_step_run):
    v = analysis.pump_leak_potential(k_step_run)
    channels_alone, _ = analysis.predicted_potential(k_step_run)
    np.testing.assert_allclose(v.values, channels_alone.values, rtol=1e-9)


def lines_by_gid(fig):
    return {line.get_gid(): line for ax in fig.axes for line in ax.get_lines() if line.get_gid()}


def test_plot_run_draws_reference_lines_that_follow_the_step(k_step_file, k_step_run):
    ds = k_step_run
    png = plotting.plot_run(k_step_file)
    assert png == k_step_file.with_suffix(".png") and png.stat().st_size > 10_000

    fig = plotting.run_figure(ds)
    try:
        lines = lines_by_gid(fig)
        scale, unit = plotting.time_unit(ds)
        assert unit == "ms"
        temperature = float(ds.temperature)
        for gid, ion, z in (("E_K", "K", 1), ("E_Na", "Na", 1), ("E_Cl", "Cl", -1)):
            line = lines[gid]
            assert line.get_drawstyle() == "steps-pre"  # a step drawn where the concentrations step
            x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
            for t in TIMES:
                i = int(np.argmin(np.abs(x - t * scale)))
                expected = nernst_potential(z, inside_mM(ds, t, ion), outside_mM(t)[ion], temperature) * 1e3
                assert y[i] == pytest.approx(expected, rel=1e-9), (gid, t)
        e_k = np.asarray(lines["E_K"].get_ydata())
        assert e_k[-1] - e_k[0] > 30.0  # mV: the drawn E_K moved with [K]o
        ghk = np.asarray(lines["channels"].get_ydata())
        np.testing.assert_allclose(ghk, analysis.predicted_potential(ds)[0].values * 1e3, rtol=1e-9)
        assert "pump_leak" not in lines and "donnan" not in lines  # no pumps, nothing blocked

        texts = [text.get_text() for text in fig.texts]
        assert any("seed 1" in text and "--set 'outside.K=5 mM'" in text for text in texts)
        assert "seed" not in fig.get_suptitle()
        xlabels = {ax.get_xlabel() for ax in fig.axes if ax.get_xlabel()}
        assert xlabels == {"time (ms)"}
        ylabels = [ax.get_ylabel() for ax in fig.axes]
        assert "open channels (count)" not in ylabels  # always-open leaks: a flat panel, dropped
        assert all("(" in label for label in ylabels)  # every axis has its unit
        legend_labels = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
        assert len(legend_labels) == len(set(legend_labels))
    finally:
        plt.close(fig)


def test_flickering_channels_keep_their_panel(tmp_path):
    flicker = [{**LEAKS[0], "open_probability": 0.5}, *LEAKS[1:]]
    fig = plotting.run_figure(run(tmp_path, config_of(flicker)))
    try:
        assert "open channels (count)" in [ax.get_ylabel() for ax in fig.axes]
    finally:
        plt.close(fig)


def test_pulses_are_labelled_and_the_threshold_lies_between_failure_and_success(tmp_path):
    """Two 1 ms pulses on an HH patch: 1 uA/cm^2 fails, 20 uA/cm^2 fires.

    The threshold bracket lies between the V the two reached, and the stimulus panel names both
    amplitudes.
    """
    config = hh_config(10, 30, tracking="population", area="10000 um^2")
    pulses = [{"action": "current_clamp", "at": "5 ms", "amplitude": "1 uA/cm^2", "duration": "1 ms"},
              {"action": "current_clamp", "at": "15 ms", "amplitude": "20 uA/cm^2", "duration": "1 ms"}]
    config = config.model_validate(config.model_dump(mode="json") | {"protocol": pulses,
                                                                    "run": {"duration": "30 ms", "dt": "10 us",
                                                                            "record_every": "0.1 ms"}})
    ds = run(tmp_path, config)
    assert ds.sizes["spike"] == 1 and 15e-3 < float(ds.spike_time[0]) < 25e-3
    low, high = analysis.threshold_bracket(ds)
    assert low == pytest.approx(float(row(ds, 6e-3).membrane_potential))
    assert high == pytest.approx(float(row(ds, 16e-3).membrane_potential))
    fig = plotting.run_figure(ds)
    try:
        stimulus = next(ax for ax in fig.axes if ax.get_ylabel().startswith("stimulus"))
        assert "$\\mu$A/cm$^2$" in stimulus.get_ylabel()
        assert sorted(text.get_text() for text in stimulus.texts) == ["1", "20"]
        threshold = lines_by_gid(fig)["threshold"]
        assert np.asarray(threshold.get_ydata())[0] == pytest.approx((low + high) / 2 * 1e3)
        assert "channels" not in lines_by_gid(fig)  # voltage-gated: the chord potential only shadows V
    finally:
        plt.close(fig)
