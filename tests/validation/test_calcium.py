"""Ca2+ as a full citizen: valence 2 in counts and charge, and a fast buffer with free and bound ions counted."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from channelsim.config import parse_config
from channelsim.constants import AVOGADRO, BOLTZMANN, ELEMENTARY_CHARGE
from channelsim.physics import nernst_potential
from tests.helpers import BASE, simulate

KAPPA = 100.0


def calcium_config(kappa: float, tracking: str = "population", outside_volume: str | None = None):
    raw = copy.deepcopy(BASE)
    raw["run"].update({"duration": "20 ms", "record_every": "0.1 ms"})
    raw["cell"] = {"shape": "patch", "area": "10 um^2", "volume": "1 pL", "temperature": "37 degC",
                   "initial_voltage": "0 mV"}
    raw["inside"].update({"Ca": "10 uM", "ca_binding_ratio": kappa})
    raw["outside"]["Ca"] = "2 mM"
    if outside_volume:
        raw["outside"]["volume"] = outside_volume
    raw["channels"] = [{"kind": "ca_leak", "count": 20000, "tracking": tracking}]
    return parse_config(raw)


def test_buffered_calcium_counts_free_and_bound():
    """With kappa = 100, the cell holds 101 Ca2+ per free one; V settles at E_Ca of the free ions."""
    config = calcium_config(KAPPA)
    out = simulate(config)
    volume = config.cell.volume_m3
    free_fraction = out["free_fraction"][3]
    assert free_fraction == 1.0 / (1.0 + KAPPA)
    # the initial count holds 10 uM free and 1 mM bound
    assert out["ions_inside"][0, 3] == round(10e-3 * (1 + KAPPA) * AVOGADRO * volume)
    np.testing.assert_allclose(out["concentration_inside"][:, 3],
                               out["ions_inside"][:, 3] * free_fraction / (AVOGADRO * volume))
    # each Ca2+ that entered, free or then bound, moved V by 2e/C
    capacitance = config.cell.capacitance_F
    moved = out["ions_moved"][-1, 3]
    v = out["membrane_potential"]
    assert v[-1] - v[0] == pytest.approx(2 * moved * ELEMENTARY_CHARGE / capacitance, abs=1e-12)
    e_ca = nernst_potential(2, out["concentration_inside"][-1, 3], 2.0, config.cell.temperature)
    noise = math.sqrt(BOLTZMANN * config.cell.temperature / capacitance)
    assert v[-1] == pytest.approx(e_ca, abs=6 * noise)


def test_buffer_slows_the_free_rise():
    """The same Ca2+ entry raises free [Ca]i 1 + kappa times less than without a buffer."""
    unbuffered = simulate(calcium_config(0.0))
    buffered = simulate(calcium_config(KAPPA))
    # the membrane charges to E_Ca within a few us: the entry is Q = C (E_Ca - 0), set by E_Ca alone
    rise_free = unbuffered["concentration_inside"][-1, 3] - unbuffered["concentration_inside"][0, 3]
    rise_buffered = buffered["concentration_inside"][-1, 3] - buffered["concentration_inside"][0, 3]
    moved_ratio = buffered["ions_moved"][-1, 3] / unbuffered["ions_moved"][-1, 3]
    assert rise_buffered * (1 + KAPPA) == pytest.approx(rise_free * moved_ratio, rel=1e-9)


@pytest.mark.parametrize("tracking", ["agent", "population", "mean_field"])
def test_buffered_calcium_is_conserved_exactly(tracking):
    """A finite outside: every Ca2+ (free and bound) that leaves one side is on the other."""
    out = simulate(calcium_config(KAPPA, tracking, outside_volume="5 pL"))
    total = out["ions_inside"] + out["ions_outside"]
    np.testing.assert_array_equal(total, np.broadcast_to(total[0], total.shape))
    np.testing.assert_array_equal(out["ions_moved"], out["ions_inside"] - out["ions_inside"][0])
