"""The Na+/Ca2+ exchanger and the plasma-membrane Ca2+ pump: stoichiometry from the ledger, rates, reversal.

Each exchanger cycle moves 1 Ca2+ out and 3 Na+ in (reverse cycles the opposite), each Ca2+ pump
cycle 1 Ca2+ out, atomically and in every tracking mode; the exchanger alone drives V to its
reversal potential 3 E_Na - 2 E_Ca, where its forward and reverse rates (Luo & Rudy 1994) are equal.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from channelsim.channels.pump import PUMP_KINDS
from channelsim.config import parse_config
from channelsim.constants import BOLTZMANN, ELEMENTARY_CHARGE, IONS, VALENCE, ZERO_CELSIUS
from channelsim.kernels.pump import NCX, PMCA, cycle_rates
from channelsim.physics import exchanger_cycle_rates, exchanger_reversal_potential, thermal_voltage
from tests.helpers import BASE, simulate

K, NA, CL, CA = 0, 1, 2, 3
TEMPERATURE = ZERO_CELSIUS + 37.0


def pump_config(kind: str, count: int, tracking: str, *, duration="20 ms", initial_voltage="-80 mV",
                volume="1 pL", inside_ca="1 uM"):
    raw = copy.deepcopy(BASE)
    raw["run"].update({"duration": duration, "record_every": "0.1 ms"})
    raw["cell"] = {"shape": "patch", "area": "100 um^2", "volume": volume, "temperature": "37 degC",
                   "initial_voltage": initial_voltage}
    raw["inside"]["Ca"] = inside_ca
    raw["outside"]["Ca"] = "2 mM"
    raw["pumps"] = [{"kind": kind, "count": count, "tracking": tracking}]
    return parse_config(raw)


# ions into the cell per forward cycle, written out (not read from the kind catalogue)
PER_CYCLE = {"ncx": {NA: 3, CA: -1, K: 0, CL: 0}, "pmca": {CA: -1, K: 0, NA: 0, CL: 0}}


@pytest.mark.parametrize("tracking", ["agent", "population", "mean_field"])
@pytest.mark.parametrize(("kind", "count"), [("ncx", 20_000), ("pmca", 50_000)])
def test_each_cycle_moves_its_ions_and_their_charge(kind, count, tracking):
    """Exchanger: 1 Ca2+ out, 3 Na+ in (one net charge in); Ca2+ pump: 1 Ca2+ out (two charges out)."""
    config = pump_config(kind, count, tracking)
    out = simulate(config)
    cycles = out["pump_cycles"][:, -1]
    change = out["ions_inside"] - out["ions_inside"][0]
    assert cycles[-1] > 1000
    for ion, n in PER_CYCLE[kind].items():
        np.testing.assert_array_equal(change[:, ion], n * cycles)
    charge = sum(n * VALENCE[IONS[ion]] for ion, n in PER_CYCLE[kind].items())  # elementary charges in per cycle
    dv = out["membrane_potential"] - out["membrane_potential"][0]
    np.testing.assert_allclose(dv, charge * cycles * ELEMENTARY_CHARGE / config.cell.capacitance_F, rtol=1e-9,
                               atol=1e-15)


def test_kernel_laws_are_the_reference_laws():
    ncx, pmca = PUMP_KINDS["ncx"], PUMP_KINDS["pmca"]
    constants = np.array(ncx.law_constants)
    thermal_v = thermal_voltage(TEMPERATURE)
    for v in (-0.09, -0.04, 0.0, 0.03):
        kernel = cycle_rates(NCX, ncx.max_turnover_per_s, 0.0, 0.0, constants, 2e-4, 1.8, 10.0, 140.0, v, thermal_v)
        reference = exchanger_cycle_rates(ncx.max_turnover_per_s, *ncx.law_constants, 10.0, 140.0, 2e-4, 1.8, v,
                                          TEMPERATURE)
        np.testing.assert_allclose(kernel, reference, rtol=1e-12)
    forward, reverse = cycle_rates(PMCA, pmca.max_turnover_per_s, 0.0, 0.0, np.array([0.5e-3, 0, 0, 0]), 0.5e-3,
                                   2.0, 0.5e-3, 2.0, -0.08, thermal_v)
    assert forward == pytest.approx(pmca.max_turnover_per_s / 2) and reverse == 0.0
    # LR-II's scales: 2000 uA/uF for the exchanger, 1.15 uA/uF for the Ca2+ pump, on 1 uF/cm^2
    # (A/m^2 x 100 = uA/cm^2)
    assert ELEMENTARY_CHARGE * ncx.max_turnover_per_s * ncx.density_per_m2 * 100 == pytest.approx(2000.0)
    assert 2 * ELEMENTARY_CHARGE * pmca.max_turnover_per_s * pmca.density_per_m2 * 100 == pytest.approx(1.15)


@pytest.mark.parametrize(("na_in", "ca_in"), [(10.0, 1e-4), (18.0, 2e-4), (5.0, 1e-3)])
def test_exchanger_rates_balance_at_its_reversal_potential(na_in, ca_in):
    e_ncx = exchanger_reversal_potential(na_in, 140.0, ca_in, 1.8, TEMPERATURE)
    forward, reverse = exchanger_cycle_rates(1.0, *PUMP_KINDS["ncx"].law_constants, na_in, 140.0, ca_in, 1.8, e_ncx,
                                             TEMPERATURE)
    assert forward == pytest.approx(reverse, rel=1e-12)
    above = exchanger_cycle_rates(1.0, *PUMP_KINDS["ncx"].law_constants, na_in, 140.0, ca_in, 1.8, e_ncx + 0.01,
                                  TEMPERATURE)
    assert above[1] > above[0]  # above E_NCX it runs in reverse (Ca2+ in, outward current)


@pytest.mark.parametrize("tracking", ["agent", "mean_field"])
def test_exchanger_alone_drives_the_membrane_to_three_e_na_minus_two_e_ca(tracking):
    """An electrogenic exchanger with no channels charges the membrane to E_NCX, from below and above."""
    for start in ("-90 mV", "0 mV"):
        # 1 pF: ~6e5 cycles carry it 100 mV, a tenth of the 6e6 Ca2+ ions in 10 pL at 1 uM
        config = pump_config("ncx", 2_000_000, tracking, duration="80 ms", initial_voltage=start, volume="10 pL")
        out = simulate(config)
        c_in, c_out = out["concentration_inside"][-1], out["concentration_outside"][-1]
        e_ncx = exchanger_reversal_potential(c_in[NA], c_out[NA], c_in[CA], c_out[CA], config.cell.temperature)
        v = out["membrane_potential"][-100:]  # the last 10 ms, after ~15 relaxation times
        # thermal noise of the membrane charge, kT/C in V^2; agents also flicker by +-1 cycle (e/C)
        noise = math.sqrt(BOLTZMANN * config.cell.temperature / config.cell.capacitance_F)
        assert v.mean() == pytest.approx(e_ncx, abs=5 * noise)
