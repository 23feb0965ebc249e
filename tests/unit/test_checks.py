"""Config traps (channelsim.checks).

Each warning fires where it should and on no shipped experiment, the pump-leak arithmetic
agrees with the simulator, and the HH temperature limit the warning quotes is re-measured with
the mean-field HH membrane.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from channelsim.checks import BALANCE_FACTOR, HH_FIRING_LIMIT_C, config_warnings, pump_leak_balance
from channelsim.config import load_config
from channelsim.physics import pump_leak_channel_counts
from tests.helpers import simulate
from tests.validation.test_hodgkin_huxley import hh_config

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
NEURON = EXPERIMENTS / "neuron_rest.toml"


@pytest.mark.parametrize("path", sorted(EXPERIMENTS.glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_experiments_give_no_warnings(path):
    assert config_warnings(load_config(path)) == []


# --- HH temperature -----------------------------------------------------------------------------


@pytest.mark.parametrize("celsius", [30.0, 37.0])
def test_hh_channels_too_warm_warn(celsius):
    config = load_config(EXPERIMENTS / "action_potential.toml", [f'cell.temperature="{celsius} degC"'])
    warnings = config_warnings(config)
    assert len(warnings) == 1
    message = warnings[0]
    assert message.startswith("cell.temperature:") and f"{celsius:.1f} degC" in message
    assert "Q10 = 3" in message and f"{HH_FIRING_LIMIT_C:g} degC" in message and "hh_na, hh_k" in message


def test_hh_channels_below_the_limit_and_leaks_when_warm_do_not_warn():
    assert config_warnings(load_config(EXPERIMENTS / "action_potential.toml", ['cell.temperature="29 degC"'])) == []
    assert config_warnings(load_config(EXPERIMENTS / "nernst_k.toml", ['cell.temperature="40 degC"'])) == []
    # HH kinds present but with no channels
    config = load_config(EXPERIMENTS / "ghk_rest.toml", ["channels.hh_na.count=0", 'cell.temperature="37 degC"'])
    assert config_warnings(config) == []


# --- pump-leak balance --------------------------------------------------------------------------


def test_balance_of_the_shipped_pump_cells_is_their_design():
    """Shipped pump cells are found in balance at their design potentials.

    neuron_rest's counts solve the pump-leak balance at -70 mV and cardiac_myocyte's at -90 mV
    (pump_leak_channel_counts, rounded to whole channels): the check finds those potentials and
    both flux ratios within 1.5% of 1; and the closed form at the found potential gives back
    the configured channel counts (to within the same rounding).
    """
    for name, design_mV in (("neuron_rest", -70.0), ("cardiac_myocyte", -90.0)):
        config = load_config(EXPERIMENTS / f"{name}.toml")
        balance = pump_leak_balance(config)
        assert not balance.at_edge and abs(balance.v_rest * 1e3 - design_mV) < 0.2, (name, balance.v_rest)
        assert balance.na_influx / balance.na_pumped == pytest.approx(1.0, abs=0.015)
        assert balance.k_efflux / balance.k_pumped == pytest.approx(1.0, abs=0.015)
        entries = {e.kind: e for e in config.channels}
        counts = pump_leak_channel_counts(
            balance.v_rest, {"K": config.inside.K, "Na": config.inside.Na},
            {"K": config.outside.K, "Na": config.outside.Na}, balance.pump_cycles,
            {"K": entries["k_leak"].permeability, "Na": entries["na_leak"].permeability}, config.cell.temperature)
        assert counts["K"] == pytest.approx(entries["k_leak"].count, rel=0.015)
        assert counts["Na"] == pytest.approx(entries["na_leak"].count, rel=0.015)


def test_predicted_drift_is_what_the_simulation_does():
    """The check's drift rates are the simulator's.

    Ten times too few pumps: the net Na+ gain and K+ loss per second that the check computes
    are those of a 2 s simulation (the concentrations move ~2% in that time, changing the fluxes
    by less than that) and V is the predicted rest.
    """
    overrides = ['pumps.na_k_atpase.density="300 /um^2"', 'run.duration="2 s"', 'run.record_every="10 ms"']
    config = load_config(NEURON, overrides)
    balance = pump_leak_balance(config)
    out = simulate(config)
    settled = out["time"] >= 0.1  # the membrane relaxes in ~20 ms
    time, inside = out["time"][settled], out["ions_inside"][settled]
    na_gain, k_gain = (np.polyfit(time, inside[:, i], 1)[0] for i in (1, 0))  # ions order K, Na, Cl, Ca
    assert na_gain == pytest.approx(balance.na_influx - balance.na_pumped, rel=0.02)
    assert k_gain == pytest.approx(balance.k_pumped - balance.k_efflux, rel=0.02)
    assert abs(out["membrane_potential"][settled].mean() - balance.v_rest) < 2e-4


def suggested_density(message: str) -> float:
    return float(re.search(r"density of pumps\.na_k_atpase to about ([0-9.e+]+) /um\^2", message).group(1))


def test_too_few_pumps_warn_that_sodium_rises():
    [message] = config_warnings(load_config(NEURON, ['pumps.na_k_atpase.density="300 /um^2"']))
    assert message.startswith("pumps.na_k_atpase:")
    assert "inside.Na will rise" in message and "inside.K will fall" in message
    # the fix: about the shipped, balanced 3000 /um^2 (somewhat less, at the less negative rest)
    assert 2000 < suggested_density(message) < 3500
    assert "channels.na_leak.count to about" in message and "channels.k_leak.count to about" in message


def test_too_many_pumps_warn_that_sodium_falls():
    [message] = config_warnings(load_config(NEURON, ['pumps.na_k_atpase.density="30000 /um^2"']))
    assert "inside.Na will fall" in message and "inside.K will rise" in message
    assert suggested_density(message) < 10_000


def test_too_many_sodium_channels_warn():
    [message] = config_warnings(load_config(NEURON, ["channels.na_leak.count=200"]))
    assert "inside.Na will rise" in message and "channels.na_leak.count to about" in message


def test_potassium_alone_out_of_balance_warns():
    """Too few K+ channels: the pumps still match the Na+ leak, but bring in 4x more K+ than leaks out."""
    config = load_config(NEURON, ["channels.k_leak.count=100"])
    balance = pump_leak_balance(config)
    assert 1 / BALANCE_FACTOR < balance.na_influx / balance.na_pumped < BALANCE_FACTOR
    [message] = config_warnings(config)
    assert "inside.K will rise" in message and "channels.k_leak.count to about" in message
    assert "density of pumps" not in message  # the pumps are right for the Na+ leak


@pytest.mark.parametrize("density", [600, 1000, 1500, 2000, 3000, 5000, 8000, 12000, 20000])
def test_warning_fires_exactly_outside_the_factor_of_two(density):
    """The warning appears exactly when a flux ratio leaves [1/2, 2].

    Over a range of pump densities (a 10-minute run, long enough for any drift to show).
    """
    config = load_config(NEURON, [f'pumps.na_k_atpase.density="{density} /um^2"', 'run.duration="10 min"'])
    balance = pump_leak_balance(config)
    ratios = (balance.na_influx / balance.na_pumped, balance.k_efflux / balance.k_pumped)
    expected = not all(1 / BALANCE_FACTOR <= r <= BALANCE_FACTOR for r in ratios)
    assert bool(config_warnings(config)) == expected, ratios


def test_no_balance_warning_without_pumps_or_with_pumps_blocked_from_the_start():
    ghk = load_config(EXPERIMENTS / "ghk_rest.toml", ['run.duration="1 h"', 'run.dt="1 ms"', 'run.record_every="1 s"'])
    assert config_warnings(ghk) == []  # 80 Na+ leaks and no pump: deliberately out of balance
    no_pumps = load_config(NEURON, ["pumps.na_k_atpase.density=", "pumps.na_k_atpase.count=0"])
    assert config_warnings(no_pumps) == []
    config = load_config(EXPERIMENTS / "ouabain.toml")  # ouabain at 10 s: checked as the balanced cell
    raw = config.model_dump(mode="json")
    raw["protocol"][0]["at"] = "0 s"  # ouabain from the start: a deliberate run-down
    assert config_warnings(config.model_validate(raw)) == []
    raw["protocol"] = [{"action": "block", "at": "0 s", "target": "na_k_atpase", "fraction": 1.0}]
    assert config_warnings(config.model_validate(raw)) == []


def test_no_balance_warning_when_the_run_is_too_short_to_drift():
    """Ten times too few pumps, but [Na]i takes ~12 s to move by 10%: a 100 ms run moves it by 0.1%."""
    assert config_warnings(load_config(NEURON, ['pumps.na_k_atpase.density="300 /um^2"',
                                                'run.duration="100 ms"', 'run.record_every="10 ms"'])) == []


# --- the HH firing limit, re-measured ---------------------------------------------------------------


def hh_step(celsius: float, amplitude: float, step_ms: float = 100.0, dt_us: float = 5.0) -> dict:
    """Run a mean-field HH membrane with a current step.

    Mean-field HH membrane (tests/validation/test_hodgkin_huxley.py) at `celsius`, with a
    current step of `amplitude` uA/cm^2 from 10 ms for `step_ms`. dt = 5 us resolves the fastest
    gating at 31 degC (tau_m > 15 us); 2 and 1 us gave the same limits to 0.1 degC.
    """
    config = hh_config(dt_us, 10.0 + step_ms, amplitude=amplitude, start=10.0, length=step_ms)
    raw = config.model_dump(mode="json")
    raw["cell"]["temperature"] = f"{celsius} degC"
    raw["run"]["record_every"] = "0.05 ms"
    return simulate(config.model_validate(raw))


def late_swing_mV(out: dict) -> float:
    """Peak-to-peak V over the last 30 ms of the step (after any onset transient has died out)."""
    t = out["time"] * 1e3
    v = out["membrane_potential"][(t > t[-1] - 30.0)] * 1e3
    return float(v.max() - v.min())


@pytest.mark.slow
def test_hh_membrane_stops_firing_at_the_limit():
    """The HH membrane fires below the quoted limit and at no step above it.

    Below the limit (29 degC) a 44 uA/cm^2 step keeps the membrane firing (a ~45 mV swing);
    above it (31 degC) no step from 10 to 150 uA/cm^2 does (swings under 1 mV).
    """
    assert late_swing_mV(hh_step(HH_FIRING_LIMIT_C - 1.0, 44.0)) > 30.0
    swings = {a: late_swing_mV(hh_step(HH_FIRING_LIMIT_C + 1.0, a)) for a in range(10, 151, 4)}
    assert max(swings.values()) < 1.0, swings


@pytest.mark.slow
def test_hh_spikes_stop_overshooting_above_25_degc():
    """Above about 25 degC spikes stop overshooting 0 mV, so none is recorded.

    At 25 degC a 28 uA/cm^2 step still fires repetitively past 0 mV (spike_time records it);
    at 26 degC the membrane still fires (swings of tens of mV) but no spike is recorded in the
    second half of any step from 10 to 150 uA/cm^2.
    """
    assert np.count_nonzero(hh_step(25.0, 28.0)["spike_time"] > 0.060) >= 3
    recorded, swing = 0, 0.0
    for amplitude in range(10, 151, 4):
        out = hh_step(26.0, float(amplitude))
        recorded += int(np.count_nonzero(out["spike_time"] > 0.060))
        swing = max(swing, late_swing_mV(out))
    assert recorded == 0 and swing > 50.0


def test_the_cli_and_the_python_api_report_the_warnings(tmp_path):
    from click.testing import CliRunner

    import channelsim
    from channelsim.cli import main
    from channelsim.errors import ConfigWarning

    warm = ['cell.temperature="35 degC"']
    [expected] = config_warnings(load_config(EXPERIMENTS / "action_potential.toml", warm))
    result = CliRunner().invoke(main, ["run", str(EXPERIMENTS / "action_potential.toml"), "-o",
                                       str(tmp_path / "warm.h5"), "--quiet", *sum((["--set", s] for s in warm), [])])
    assert result.exit_code == 0 and f"warning: {expected}" in result.output
    config = channelsim.load_config(EXPERIMENTS / "action_potential.toml").updated(
        {"cell.temperature": "35 degC"})
    with pytest.warns(ConfigWarning, match="Q10"):
        channelsim.build(config)
