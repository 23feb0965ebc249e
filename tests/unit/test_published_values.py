"""Closed forms and defaults against published numbers (data/reference)."""

import tomllib
from pathlib import Path

import pytest

from channelsim.config.schema import Inside, Outside
from channelsim.constants import VALENCE
from channelsim.physics import nernst_potential
from channelsim.units import parse_quantity

HILLE = tomllib.loads((Path(__file__).parents[2] / "data/reference/hille_2001_table_1_1.toml").read_text())


@pytest.mark.parametrize("ion", ["K", "Na", "Cl", "Ca"])
def test_nernst_potentials_match_hille_table_1_1(ion):
    def c(side):
        return parse_quantity(HILLE[side][ion], "concentration")

    temperature = parse_quantity(HILLE["temperature"], "temperature")
    e = nernst_potential(VALENCE[ion], c("inside"), c("outside"), temperature)
    printed = parse_quantity(HILLE["equilibrium_potential"][ion], "voltage")
    assert e == pytest.approx(printed, abs=0.0006)  # printed to whole mV


@pytest.mark.parametrize("ion", ["K", "Na", "Cl", "Ca"])
def test_default_concentrations_are_hilles(ion):
    assert getattr(Inside(), ion) == pytest.approx(parse_quantity(HILLE["inside"][ion], "concentration"))
    assert getattr(Outside(), ion) == pytest.approx(parse_quantity(HILLE["outside"][ion], "concentration"))
