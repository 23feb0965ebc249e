import pytest

from channelsim.units import format_quantity, parse_quantity


@pytest.mark.parametrize("text, dimension, expected", [
    ("10 mM", "concentration", 10.0),
    ("150 uM", "concentration", 0.15),
    ("37 degC", "temperature", 310.15),
    ("10 um", "length", 1e-5),
    ("1 uF/cm^2", "specific_capacitance", 0.01),
    ("100 um^2", "area", 1e-10),
    ("1 pL", "volume", 1e-15),
    ("20 pS", "conductance", 2e-11),
    ("2 /um^2", "density", 2e12),
    ("-70 mV", "voltage", -0.07),
    ("10 us", "time", 1e-5),
])
def test_parse_to_si(text, dimension, expected):
    assert parse_quantity(text, dimension) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("value, dimension", [(1.234e-5, "time"), (310.15, "temperature"), (2.6e-20, "permeability")])
def test_format_round_trips_exactly(value, dimension):
    assert parse_quantity(format_quantity(value, dimension), dimension) == value


@pytest.mark.parametrize("value", ["10 mV", "10", "ms", 10, "10 ms ms"])
def test_wrong_or_missing_unit_names_the_accepted_units(value):
    with pytest.raises(ValueError, match="ms"):
        parse_quantity(value, "time")
