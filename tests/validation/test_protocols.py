"""Protocols: current clamp, voltage clamp, blockers and the electrode's ion ledger.

Current clamp delivers exact charge whatever dt, voltage clamp holds V to one ion, blockers
remove channels from conduction, and the electrode's ions keep the ledger exact.
"""

import math

import numpy as np
import pytest

from channelsim.channels.hh import sodium_scheme
from channelsim.constants import ELEMENTARY_CHARGE
from channelsim.model.tables import stationary_distribution
from tests.helpers import open_of, simulate
from tests.validation.test_hodgkin_huxley import hh_config


def with_protocol(config, *steps):
    return config.model_validate(config.model_dump(mode="json") | {"protocol": list(steps)})


@pytest.mark.parametrize("dt_us", [10, 7, 3])
def test_current_clamp_delivers_its_charge_exactly_whatever_dt(dt_us):
    """A 1.234 ms pulse of 56.7 pA starting off the step grid: Q = I t as whole K+ ions."""
    pulse = {"action": "current_clamp", "at": "0.1234 ms", "amplitude": "56.7 pA", "duration": "1.234 ms"}
    config = with_protocol(hh_config(dt_us, 2.1, tracking="mean_field"), pulse)
    out = simulate(config)
    delivered = out["ions_electrode"][-1]
    assert delivered[1:].tolist() == [0, 0, 0]  # only K+ carries the electrode current
    assert abs(delivered[0] - 56.7e-12 * 1.234e-3 / ELEMENTARY_CHARGE) <= 1


@pytest.mark.parametrize("tracking", ["agent", "population", "mean_field"])
def test_voltage_clamp_holds_the_command_and_conserves_every_ion(tracking):
    config = with_protocol(hh_config(10, 12, tracking=tracking),
                           {"action": "voltage_clamp", "at": "1 ms", "potential": "-20 mV", "duration": "6 ms"},
                           {"action": "current_clamp", "at": "8 ms", "amplitude": "30 uA/cm^2", "duration": "1 ms"})
    out = simulate(config)
    clamped = ~np.isnan(out["command_potential"])
    quantum = ELEMENTARY_CHARGE / config.cell.capacitance_F
    held = out["membrane_potential"][clamped] - out["command_potential"][clamped]
    assert clamped.sum() > 500 and np.all(np.abs(held) <= quantum)
    # at -20 mV after 5 ms a large K+ current flows out; the clamp replaces that charge
    assert out["electrode_current"][np.flatnonzero(clamped)[-1]] > 5e-10
    inside, outside, electrode = out["ions_inside"], out["ions_outside"], out["ions_electrode"]
    np.testing.assert_array_equal(inside + outside - electrode, np.broadcast_to(inside[0] + outside[0], inside.shape))
    np.testing.assert_array_equal(inside - inside[0], out["ions_moved"] + electrode)


@pytest.mark.parametrize("tracking", ["agent", "population"])
def test_block_and_unblock_change_conduction_not_gating(tracking):
    """Half the Na+ channels blocked under clamp at -30 mV: blocking halves conduction, not gating.

    The open, unblocked count is Binomial(unblocked channels, p_open), p_open the stationary open
    probability of the m3h scheme at -30 mV (0.76%: 46 of 6000 open); blocking halves it,
    unblocking restores it.

    Records are 20 ms apart, more than 12 relaxation times of the Na+ scheme at -30 mV and
    6.3 degC (its slowest rate is 634/s), so they are independent binomial draws: their mean
    and variance are checked at 5 standard errors.
    """
    config = with_protocol(hh_config(100, 6000, tracking=tracking),
                           {"action": "voltage_clamp", "at": "0 ms", "potential": "-30 mV"},
                           {"action": "block", "at": "2000 ms", "target": "hh_na", "fraction": 0.5},
                           {"action": "unblock", "at": "4000 ms", "target": "hh_na", "fraction": 0.5})
    config = config.model_validate(config.model_dump(mode="json") | {"run": {**config.model_dump(mode="json")["run"],
                                                                           "record_every": "20 ms"}})
    out = simulate(config)
    opened = open_of(out, "hh_na")
    # rows are 20 ms apart: skip the first 200 ms (relaxing from -65 mV) and the rows at the events
    before, blocked, after = opened[10:100], opened[101:200], opened[201:300]
    assert out["patch"].kinds.blocked[out["patch"].kind_names.index("hh_na")] == 0

    scheme, temperature = sodium_scheme(), config.cell.temperature
    rates = scheme.rate_matrix(np.array([-0.030]), temperature)[0]
    slowest = np.sort(-np.linalg.eigvals(rates).real)[1]
    assert math.exp(-slowest * 0.020) < 1e-3  # successive records are independent
    p_open = float(stationary_distribution(scheme, -0.030, temperature) @ scheme.conducting_mask)
    n = next(entry.count for entry in config.channels if entry.kind == "hh_na")
    assert n == 6000
    for sample, unblocked in ((before, n), (blocked, n - round(0.5 * n)), (after, n)):
        mean, variance = unblocked * p_open, unblocked * p_open * (1 - p_open)
        count = len(sample)
        assert abs(sample.mean() - mean) < 5 * math.sqrt(variance / count), (sample.mean(), mean)
        mu4 = variance * (1 + 3 * (unblocked - 2) * p_open * (1 - p_open))
        variance_error = math.sqrt((mu4 - variance**2 * (count - 3) / (count - 1)) / count)
        assert abs(sample.var(ddof=1) - variance) < 5 * variance_error, (sample.var(ddof=1), variance)


def test_ttx_abolishes_the_action_potential_and_tea_prolongs_it():
    stimulus = {"action": "current_clamp", "at": "2 ms", "amplitude": "20 uA/cm^2", "duration": "1 ms"}
    control = simulate(with_protocol(hh_config(10, 15), stimulus))
    ttx = simulate(with_protocol(hh_config(10, 15), stimulus,
                                 {"action": "block", "at": "0 ms", "target": "hh_na", "fraction": 1.0}))
    tea = simulate(with_protocol(hh_config(10, 15), stimulus,
                                 {"action": "block", "at": "0 ms", "target": "hh_k", "fraction": 0.9}))
    assert len(control["spike_time"]) == 1 and len(ttx["spike_time"]) == 0
    assert np.all(open_of(ttx, "hh_na") == 0) and np.all(ttx["ions_moved"][:, 1] == 0)  # no Na+ moves

    def width(v):  # time above 0 mV
        return np.count_nonzero(v > 0.0)

    assert width(tea["membrane_potential"]) > 1.5 * width(control["membrane_potential"])
