"""The Mesa layer: populations are Mesa agents, single channels are views."""

import mesa
import numpy as np
import pytest

from channelsim.model import ChannelPopulation
from tests.helpers import make_config, simulate


def test_populations_are_mesa_agents_and_channels_are_views():
    config = make_config([{"kind": "k_leak", "count": 300, "open_probability": 0.5},
                          {"kind": "na_leak", "count": 40, "tracking": "population"}])
    patch = simulate(config)["patch"]
    assert isinstance(patch, mesa.Model)
    assert len(patch.agents) == 2 and all(isinstance(a, ChannelPopulation) for a in patch.agents)
    k = patch.population_of("k_leak")
    views = list(k)
    assert [v.identity for v in views] == list(range(300))
    assert sum(v.is_open for v in views) == k.open_count  # the views read the live states
    assert {v.state for v in views} == {"open", "closed"}
    side_um = np.sqrt(config.cell.area_m2) * 1e6
    assert all(0 <= x <= side_um and 0 <= y <= side_um for x, y in (v.position_um for v in views))
    na = patch.agent(300 + 7)
    assert na.kind == "na_leak" and na.identity == 307 and na.state is None  # counts, not individuals


def test_initial_voltage_and_impermeant_anions():
    config = make_config([], ['cell.initial_voltage="-70 mV"'])
    patch = simulate(config)["patch"]
    # A- makes the charge inside C V0 / e, to within one ion
    assert abs(patch.voltage - (-0.070)) <= 1.602176634e-19 / config.cell.capacitance_F
    assert patch.impermeant_count > 0


def test_shapes_give_area_volume_and_capacitance():
    import math

    sphere = make_config([], ['cell.radius="10 um"']).cell
    assert sphere.area_m2 == pytest.approx(4 * math.pi * 1e-10)
    assert sphere.volume_m3 == pytest.approx(4 / 3 * math.pi * 1e-15)
    assert sphere.capacitance_F == pytest.approx(0.01 * 4 * math.pi * 1e-10)  # 12.6 pF
    cylinder = make_config([], ["cell.shape=cylinder", 'cell.radius="1 um"', 'cell.length="100 um"']).cell
    assert cylinder.area_m2 == pytest.approx(2 * math.pi * 1e-6 * (100e-6 + 1e-6))  # side and two caps
    assert cylinder.volume_m3 == pytest.approx(math.pi * 1e-12 * 100e-6)
    patch = make_config([], ["cell.shape=patch", "cell.radius=", 'cell.area="100 um^2"', 'cell.volume="1 pL"']).cell
    assert (patch.area_m2, patch.volume_m3) == (pytest.approx(1e-10), pytest.approx(1e-15))


def test_divalent_impermeant_anions_balance_the_charge():
    config = make_config([], ["inside.impermeant_valence=-2"])
    patch = simulate(config)["patch"]
    assert patch.compartments.fixed_charge.sum() == -2 * patch.impermeant_count
    assert abs(patch.voltage) <= 1.602176634e-19 / config.cell.capacitance_F  # within one A2- of 0 mV


def test_a_checkpoint_taken_at_t0_restores_without_applying_an_event_twice():
    """Events at t = 0 act on construction, and a checkpoint taken then does not apply them again.

    A model restored from a checkpoint taken at t = 0 must not apply the events again (here a
    block of half the channels then an unblock of a quarter, both at t = 0).
    """
    from channelsim.model import build
    from tests.helpers import BASE

    raw = {**BASE, "channels": [{"kind": "k_leak", "count": 400, "open_probability": 0.5}],
           "protocol": [{"action": "block", "at": "0 ms", "target": "k_leak", "fraction": 0.5},
                        {"action": "unblock", "at": "0 ms", "target": "k_leak", "fraction": 0.25}]}
    from channelsim.config import parse_config

    config = parse_config(raw)
    original = build(config)
    restored = build(config)
    restored.restore(original.state())
    expected = original.advance(50)
    again = restored.advance(50)
    np.testing.assert_array_equal(restored.kinds.agent_blocked, original.kinds.agent_blocked)
    assert int(original.kinds.blocked[0]) == 100  # 200 blocked, then 100 freed
    np.testing.assert_array_equal(again.rows["membrane_potential"], expected.rows["membrane_potential"])
