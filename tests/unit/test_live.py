"""The live view's model side: actions as protocol entries, the saved session, the figures (no browser)."""

from __future__ import annotations

import numpy as np
import pytest
import tomli_w

from channelsim.config import load_config
from channelsim.errors import ConfigError
from channelsim.model.patch import MembranePatch
from channelsim.view.live import LivePatch, membrane_figure, trace_figure

CONFIG = "experiments/neuron_rest.toml"
SETTINGS = {"run.record_every": "5 ms", "run.duration": "0.2 s", "channels.k_leak.tracking": "agent"}


def _patch(cls=LivePatch):
    return cls(load_config(CONFIG).updated(SETTINGS), seed=7)


def test_a_saved_session_replays_the_same_run():
    live = _patch()
    for _ in range(3):
        live.step()
    live.act({"action": "set_outside", "ion": "K", "concentration": "20 mM"})
    live.act({"action": "current_clamp", "amplitude": "5 pA", "duration": "2 ms"})
    while live.simulated_time < 0.1:
        live.step()
    live.act({"action": "block", "target": "na_k_atpase", "fraction": 0.5})
    while not live.finished:
        live.step()

    replay = MembranePatch(load_config(tomli_w.dumps(live.session_config())))
    assert replay.run_seed == 7
    replay.advance(replay.total_steps)
    assert replay.voltage == live.voltage
    assert replay.ions_inside == live.ions_inside
    np.testing.assert_array_equal(replay.kinds.agent_states, live.kinds.agent_states)


def test_an_action_that_is_not_a_valid_protocol_entry_is_refused_whole():
    live = _patch()
    protocol = list(live.config.protocol)
    with pytest.raises(ConfigError, match="concentration"):
        live.act({"action": "set_outside", "ion": "K", "concentration": "-3 mM"})
    assert live.config.protocol == protocol and "protocol" not in live.session_config()


def test_raising_outside_k_moves_e_k_in_the_trace_at_once():
    live = _patch()
    live.step()
    live.act({"action": "set_outside", "ion": "K", "concentration": "20 mM"})
    live.step()
    e_k_mV = live.trace()["reversal"][:, 0] * 1e3
    # Nernst at 37 degC: 26.71 mV ln(5/140) = -89.0 mV, then 26.71 mV ln(20/140) = -52.0 mV
    assert e_k_mV[0] == pytest.approx(-89.0, abs=0.2) and e_k_mV[-1] == pytest.approx(-52.0, abs=0.2)


def test_charge_moved_matches_q_equals_cv():
    live = _patch()
    live.act({"action": "current_clamp", "amplitude": "20 pA", "duration": "10 ms"})
    for _ in range(4):
        live.step()
    through_membrane, from_electrode, from_capacitance = live.charge_moved()
    # what crossed the membrane plus what the electrode injected (20 pA for 10 ms) is C dV / e
    assert from_electrode == pytest.approx(20e-12 * 10e-3 / 1.602176634e-19, abs=1.0)
    assert through_membrane + from_electrode == pytest.approx(from_capacitance, abs=1.0)


def test_figures_draw_a_sample_of_a_large_membrane():
    live = _patch()
    figure = membrane_figure(live)
    drawn = sum(len(collection.get_offsets()) for collection in figure.axes[0].collections)
    assert drawn == sum(min(p.count, 1500) for p in [*live.populations, *live.pump_populations])
    assert trace_figure(live).axes[0].get_ylabel() == "membrane potential (mV)"


def test_opening_agent_channels_beyond_their_slots_is_refused_whole():
    live = _patch()
    live.step()
    before = live.population_of("k_leak").count, len(live.config.protocol)
    with pytest.raises(ConfigError, match="cannot open 5 k_leak channels"):
        live.act({"action": "open", "target": "k_leak", "count": 5})
    assert (live.population_of("k_leak").count, len(live.config.protocol)) == before
    live.act({"action": "open", "target": "na_leak", "count": 39})  # population tracking: any number
    live.act({"action": "close", "target": "k_leak", "count": 26})
    assert (live.population_of("na_leak").count, live.population_of("k_leak").count) == (78, 700)


def test_a_presynaptic_spike_from_the_view_releases_and_opens_receptors():
    live = LivePatch(load_config("experiments/epsp_summation.toml"), seed=3)  # its own spikes come later
    live.step()
    live.act({"action": "presynaptic_spikes", "target": "excitatory", "synapses": 10})
    before = live.synapse_populations[0].open_count
    live.advance(round(1e-3 / live.dt))  # 1 ms: the AMPA receptors of the releasing synapses open
    assert live.synapse_populations[0].open_count > before
    drawn = sum(len(c.get_offsets()) for c in membrane_figure(live).axes[0].collections)
    assert drawn >= 10 * 15  # every receptor of every synapse (150 in all) is drawn


def test_a_cable_shows_its_voltage_along_the_axon_and_its_charge_over_every_compartment():
    from channelsim.view.live import cable_figure

    live = LivePatch(load_config("experiments/propagation.toml").updated({"run.duration": "2 ms"}), seed=1)
    while not live.finished:
        live.step()
    assert live.profile.shape == live.geometry.position.shape
    assert live.trace()["membrane_potential"][-1] == live.voltage  # the trace follows the electrode
    through_membrane, from_electrode, from_capacitance = live.charge_moved()
    assert from_electrode > 0 and through_membrane + from_electrode == pytest.approx(from_capacitance, abs=1.0)
    line = cable_figure(live).axes[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), live.profile * 1e3)
