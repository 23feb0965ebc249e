import pickle
import tomllib

import pytest

from channelsim.config import apply_overrides, load_config, parse_config, resolved_toml
from channelsim.errors import ConfigError


def minimal(**sections):
    raw = {"experiment": {"name": "t"}, "run": {"duration": "1 ms"},
           "channels": [{"kind": "k_leak", "count": 10}]}
    raw.update(sections)
    return raw


def test_resolved_config_lists_every_default_and_round_trips():
    config = parse_config(minimal())
    text = resolved_toml(config)
    for key in ("temperature", "specific_capacitance", "permeability", "conductance",
                "open_probability", "mean_open_time", "dt", "record_every", "volume = \"bath\""):
        assert key in text
    assert parse_config(tomllib.loads(text)) == config


def test_density_becomes_a_count_from_the_area():
    config = parse_config(minimal(cell={"shape": "patch", "area": "100 um^2", "volume": "1 pL"},
                                  channels=[{"kind": "k_leak", "density": "2.5 /um^2"}]))
    assert config.channels[0].count == 250


@pytest.mark.parametrize("sections, field", [
    ({"cell": {"radius": "10 um", "colour": "red"}}, "cell.colour"),
    ({"run": {"duration": "1 ms", "dt": "2 ms"}}, "run.record_every"),
    ({"run": {"duration": "1.05 ms"}}, "run.duration"),
    ({"inside": {"K": "-5 mM"}}, "inside.K"),
    ({"inside": {"K": "5 mV"}}, "inside.K"),
    ({"inside": {"impermeant_valence": 1}}, "inside.impermeant_valence"),
    ({"channels": [{"kind": "k_leek", "count": 1}]}, "channels.k_leek.kind"),
    ({"channels": [{"kind": "k_leak", "count": 2.5}]}, "channels.k_leak.count"),
    ({"channels": [{"kind": "k_leak"}]}, "channels.k_leak.count"),
    ({"channels": [{"kind": "k_leak", "count": 1}, {"kind": "k_leak", "count": 2}]}, "channels"),
    ({"cell": {"shape": "patch", "area": "1 um^2"}}, "cell.volume"),
    ({"cell": {"shape": "sphere", "radius": "0 um"}}, "cell.radius"),
    ({"outside": {"volume": "lake"}}, "outside.volume"),
])
def test_bad_values_name_the_field(sections, field):
    with pytest.raises(ConfigError) as error:
        parse_config(minimal(**sections))
    assert error.value.field == field
    assert error.value.fix


def test_overrides_address_channels_by_kind_and_parse_values():
    raw = apply_overrides(minimal(), ["outside.K=10 mM", "channels.k_leak.count=500",
                                      "channels.na_leak.count=20", "run.seed=7"])
    config = parse_config(raw)
    assert config.outside.K == 10.0
    assert [(c.kind, c.count) for c in config.channels] == [("k_leak", 500), ("na_leak", 20)]
    assert config.run.seed == 7


@pytest.mark.parametrize("override", ["outside.K", "K=5", "channels.count=3"])
def test_malformed_overrides(override):
    with pytest.raises(ConfigError, match="--set"):
        apply_overrides(minimal(), [override])


def test_unreadable_config(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[run\nduration = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.toml")


def test_config_error_survives_pickling():
    """A sweep's worker process sends its error back pickled: field, problem and fix must arrive."""
    error = pickle.loads(pickle.dumps(ConfigError("run.dt", "must be positive", "give e.g. run.dt = \"10 us\"")))
    assert (error.field, error.problem, error.fix) == ("run.dt", "must be positive", "give e.g. run.dt = \"10 us\"")
    assert str(error) == "run.dt: must be positive; give e.g. run.dt = \"10 us\""
