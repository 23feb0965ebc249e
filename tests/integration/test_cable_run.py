"""A cable's run file and checkpoint.

Per-compartment series with positions, memory and file alike; a restored state continues
bit-identically.
"""

import numpy as np

import channelsim
from channelsim.conduction import impulses, propagation
from channelsim.model.patch import MembranePatch
from channelsim.recording.layout import declared
from tests.validation.test_cable import SQUID

CONFIG = f"""
[experiment]
name = "small_cable"
[run]
duration = "3 ms"
dt = "10 us"
record_every = "0.1 ms"
seed = 3
[cell]
shape = "cable"
diameter = "1 um"
length = "420 um"
segment_length = "10 um"
axial_resistivity = "35.4 ohm cm"
temperature = "6.3 degC"
initial_voltage = "-65 mV"
[cell.myelin]
internode_length = "100 um"
node_length = "2 um"
{SQUID}
[[channels]]
kind = "hh_na"
density = "600 /um^2"
region = "node"
tracking = "agent"
[[channels]]
kind = "hh_k"
density = "180 /um^2"
region = "node"
tracking = "population"
[[channels]]
kind = "k_leak"
density = "0.01 /um^2"
tracking = "mean_field"
[[pumps]]
kind = "na_k_atpase"
density = "100 /um^2"
region = "node"
[[protocol]]
action = "current_clamp"
at = "0.5 ms"
amplitude = "0.5 nA"
duration = "0.2 ms"
position = "205 um"
"""


def test_file_and_memory_agree(tmp_path):
    path = channelsim.run(CONFIG, tmp_path / "cable.h5")
    from_file, in_memory = channelsim.open_run(path), channelsim.simulate(CONFIG)
    layout = declared(cable=True)
    for name in (*layout.series, *layout.events, *layout.constants, "position"):
        np.testing.assert_array_equal(from_file[name].values, in_memory[name].values, err_msg=name)
    assert from_file.membrane_potential.dims == ("time", "compartment")
    assert from_file.sizes["compartment"] == 5 + 4 * 10  # 5 nodes, 4 internodes of 10 segments
    np.testing.assert_allclose(from_file.position.values[from_file.node.values == 1] * 1e6, [1, 103, 205, 307, 409])
    assert int(from_file.electrode_compartment) == 22  # the third node, at 205 um
    assert from_file.agent_count.sel(kind="hh_na") == round(600 * np.pi * 1 * 2 * 5)
    assert len(from_file.spike_time) == len(from_file.spike_compartment) > 0
    (impulse,) = impulses(from_file)  # one impulse, from the electrode to both ends
    # origin: the electrode's node or an internode beside it (their tiny capacitance crosses 0 mV in the same step)
    assert impulse.reached_both_ends(from_file.sizes["compartment"]) and abs(impulse.origin - 22) <= 10
    assert not propagation(from_file).failed


def test_a_restored_state_continues_bit_identically():
    whole = MembranePatch(CONFIG)
    expected = whole.advance(whole.total_steps)
    first = MembranePatch(CONFIG)
    head = first.advance(137)
    second = MembranePatch(CONFIG)
    second.restore({name: array.copy() for name, array in first.state().items()})
    tail = second.advance(second.total_steps)
    for name, values in expected.rows.items():
        np.testing.assert_array_equal(np.concatenate([head.rows[name], tail.rows[name]]), values, err_msg=name)
    np.testing.assert_array_equal(np.concatenate([head.spike_time, tail.spike_time]), expected.spike_time)
