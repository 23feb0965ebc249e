"""The config's physical limits.

Every value out of range is rejected naming the field, and the value the message suggests
instead is itself accepted.
"""

import re
from pathlib import Path

import pytest

from channelsim.config import load_config, load_config_text
from channelsim.errors import ConfigError
from channelsim.units import parse_quantity, readable_quantity

NERNST = str(Path(__file__).resolve().parents[2] / "experiments/nernst_k.toml")
CYLINDER = ["cell.shape=cylinder", "cell.radius=\"1 mm\"", "cell.length=\"1 cm\""]
PATCH = ["cell.shape=patch", "cell.radius=", "cell.area=\"1 cm^2\"", "cell.volume=\"1 mL\""]
PULSE = '\n[[protocol]]\naction = "current_clamp"\nat = "1 ms"\namplitude = "{amplitude}"\nduration = "1 ms"\n{more}'
SYNAPSE = '\n[[synapses]]\nname = "{name}"\nreceptor = "ampa"\ncount = {count}\nreceptors = {receptors}\n'
SPIKES = '\n[[protocol]]\naction = "presynaptic_spikes"\nat = "1 ms"\ntarget = "e"\ncount = 1000\nperiod = "1 ms"\n'
OPEN = '\n[[protocol]]\naction = "open"\nat = "1 ms"\ntarget = "k_leak"\ncount = 100000000000\n'
SET_OUTSIDE = '\n[[protocol]]\naction = "set_outside"\nat = "1 ms"\nion = "Na"\nconcentration = "10 M"\n'

#: (overrides, extra TOML, the field named, the key the suggested value goes to)
CASES = [
    (['cell.radius="5 mm"'], "", "cell.radius", "cell.radius"),
    (CYLINDER, "", "cell.length", "cell.length"),
    (PATCH, "", "cell.volume", "cell.volume"),
    (['outside.volume="1 uL"'], "", "outside.volume", "outside.volume"),
    (['outside.volume="50 nL"'], SET_OUTSIDE, "protocol.0.concentration", "protocol.0.concentration"),
    ([], PULSE.format(amplitude="1 mA", more=""), "protocol.0.amplitude", "protocol.0.amplitude"),
    ([], PULSE.format(amplitude="1e6 A/m^2", more=""), "protocol.0.amplitude", "protocol.0.amplitude"),
    ([], PULSE.format(amplitude="10 pA", more='period = "1 ms"\ncount = 1000\n'), "protocol.0.count",
     "protocol.0.count"),
    (["channels.k_leak.count=1000000000000"], "", "channels.k_leak.count", "channels.k_leak.count"),
    (["pumps.na_k_atpase.count=10000000000000"], "", "pumps.na_k_atpase.count", "pumps.na_k_atpase.count"),
    ([], SYNAPSE.format(name="e", count=150000, receptors=1) + SYNAPSE.format(name="f", count=150000, receptors=1),
     "synapses.f.count", "synapses.f.count"),
    ([], SYNAPSE.format(name="e", count=10, receptors=10**12), "synapses.e.receptors", "synapses.e.receptors"),
    ([], SYNAPSE.format(name="e", count=1, receptors=1) + SPIKES, "protocol.0.count", "protocol.0.count"),
    ([], OPEN, "protocol.0.count", "protocol.0.count"),
]


def config_text(extra: str) -> str:
    return Path(NERNST).read_text() + extra


@pytest.mark.parametrize("overrides, extra, field, key", CASES, ids=[c[2] + str(i) for i, c in enumerate(CASES)])
def test_the_suggested_value_is_accepted(overrides, extra, field, key):
    with pytest.raises(ConfigError) as rejected:
        load_config_text(config_text(extra), overrides)
    assert rejected.value.field == field
    suggested = re.search(r"up to (\S+(?: [^\s,]+)?)", rejected.value.fix).group(1)
    value = suggested if not suggested.isdigit() else int(suggested)
    fixed = load_config_text(config_text(extra), [*overrides, f'{key}="{value}"' if isinstance(value, str)
                                                  else f"{key}={value}"])
    assert fixed is not None


@pytest.mark.parametrize("setting, field, ends", [
    ('inside.K="20 M"', "inside.K", 2), ('cell.temperature="150 degC"', "cell.temperature", 2),
    ('cell.specific_capacitance="1e-30 uF/cm^2"', "cell.specific_capacitance", 2),
    ('channels.k_leak.mean_open_time="1e-300 s"', "channels.k_leak.mean_open_time", 2),
    # the top of these ranges breaks a rule across keys here (a step longer than record_every; more
    # than 2^53 ions), which then names the largest value that fits (test_the_suggested_value_...)
    ('run.dt="1e-15 s"', "run.dt", 1), ('outside.volume="0 pL"', "outside.volume", 1),
])
def test_the_ends_of_a_range_are_accepted(setting, field, ends):
    """A value out of range names its field and the range; the range's ends are valid values."""
    with pytest.raises(ConfigError) as rejected:
        load_config(NERNST, [setting, "channels.k_leak.open_probability=0.5"])
    assert rejected.value.field == field
    low, high = re.search(r"from (\S+ \S+) to (\S+ [^\s,]+)", rejected.value.fix).groups()
    for end in (low, high)[:ends]:
        load_config(NERNST, [f'{field}="{end}"', "channels.k_leak.open_probability=0.5"])


@pytest.mark.parametrize("text", ["1e309 s", "1e308 h", "-1e309 s"])
def test_overflows_to_infinity_are_rejected(text):
    with pytest.raises(ValueError, match="too large"):
        parse_quantity(text, "time")


@pytest.mark.parametrize("value, dimension", [(1e-9, "time"), (1e6, "time"), (1e-16, "permeability"),
                                              (1e-24, "volume"), (0.00390625, "time"), (1.23456789e-7, "current")])
def test_an_exact_readable_quantity_reads_back_to_its_value(value, dimension):
    assert parse_quantity(readable_quantity(value, dimension, exact=True), dimension) == pytest.approx(value, rel=1e-12)


def test_seeds_are_checked_everywhere():
    from channelsim.model.patch import checked_seed

    assert checked_seed(2**63 - 1) == 2**63 - 1
    for bad in (2**63, -1, 1.0, True, "1"):
        with pytest.raises(ConfigError):
            checked_seed(bad)
    with pytest.raises(ConfigError, match="run.seed"):
        load_config(NERNST, ["run.seed=9223372036854775808"])
