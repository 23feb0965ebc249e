"""No ion is ever created or lost, and V is always the charge of the counts over C."""

import numpy as np
import pytest

from channelsim.constants import ELEMENTARY_CHARGE
from tests.helpers import make_config, simulate

MIXED = [
    {"kind": "k_leak", "count": 3000, "tracking": "agent", "open_probability": 0.4},
    {"kind": "na_leak", "count": 400, "tracking": "population", "open_probability": 0.7},
    {"kind": "cl_leak", "count": 900, "tracking": "mean_field", "permeation": "ohmic"},
]


@pytest.mark.parametrize("outside_volume", ["bath", "20 fL"])
def test_every_species_and_charge_are_conserved_exactly(outside_volume):
    # 20 fL outside holds only ~6e4 K+ ions: the flux caps at the available count are exercised
    config = make_config(MIXED, ['run.duration="1 s"', f'outside.volume="{outside_volume}"'])
    out = simulate(config)
    patch = out["patch"]
    inside, outside = out["ions_inside"], out["ions_outside"]
    assert inside.dtype == np.int64 and outside.dtype == np.int64
    assert np.all(inside >= 0)
    if outside_volume != "bath":  # for a bath, ions_outside is a ledger and may be negative
        assert np.all(outside >= 0)
    np.testing.assert_array_equal(inside + outside, np.broadcast_to(inside[0] + outside[0], inside.shape))
    np.testing.assert_array_equal(out["ions_moved"], inside - inside[0])
    np.testing.assert_array_equal(out["influx"] - out["efflux"], inside - inside[0])
    assert out["efflux"][-1].sum() + out["influx"][-1].sum() > 1e9  # a long run: > 1e9 transfers
    net_charge = patch.compartments.fixed_charge.sum() + inside @ patch.valence  # exact integers
    np.testing.assert_array_equal(out["membrane_potential"],
                                  net_charge * ELEMENTARY_CHARGE / config.cell.capacitance_F)
    if outside_volume != "bath":  # K+ accumulated outside: the small space matters
        assert outside[-1, 0] > 1.5 * outside[0, 0]
