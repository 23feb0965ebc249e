"""The Mesa layer: populations are Mesa agents, single channels are views."""

import mesa
import numpy as np

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
