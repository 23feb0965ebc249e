"""The counted-ion Luo & Rudy (1991) myocyte against independent ODEs of the same equations.

tests/reference/luo_rudy_1991.py integrates LR1 with scipy. Run with E_si = E_Ca (Nernst, z = 2)
and the Ca2+ balance of a buffered myoplasm, d[Ca]i/dt = -I_si / (2 F h (1 + kappa)) with h the
volume per membrane area, it is the counted-ion cell's own mean-field limit: the mean-field
myocyte must match it, to a time-step error that halves with the step (the simulation's
exponential-Euler voltage update and gating at the step's start are first order in dt). Run with
the paper's E_si and [Ca]i equation, it is LR1 itself: the full counted-ion myocyte (with Ca2+
buffering, the Na+/Ca2+ exchanger and the Ca2+ pump) differs from it as documented in
channelsim.channels.cardiac and the experiment's notes, and the test bounds that difference.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from channelsim.config import load_config, parse_config
from channelsim.constants import FARADAY, GAS_CONSTANT
from tests.helpers import simulate
from tests.reference import luo_rudy_1991 as lr

MYOCYTE = Path(__file__).parents[2] / "experiments/cardiac_action_potential.toml"
CA_OUT_mM = 1.8


def myocyte(pumps: bool = True, **settings):
    """Return the experiment's myocyte in mean-field tracking (the experiment itself tracks populations)."""
    raw = load_config(MYOCYTE).updated(settings).model_dump(mode="json")
    for entry in raw["channels"] + raw["pumps"]:
        entry["tracking"] = "mean_field"
    if not pumps:
        raw["pumps"] = []
    return parse_config(raw)


def counted_ion_ode(config, duration_ms: float):
    """LR1 with E_si = E_Ca and the myoplasm's buffered Ca2+ balance, no Ca2+ extrusion (as `myocyte(False)`)."""
    h_cm = config.cell.volume_m3 / config.cell.area_m2 * 100.0
    kappa = config.inside.ca_binding_ratio
    # mM/ms per uA/cm^2: 1e-6 A/cm^2 / (2 F h) in mol/(cm^3 s) = 1e-3 / (2 F h) mM/ms, over 1 + kappa
    per_charge = 1e-3 / (2.0 * FARADAY * h_cm * (1.0 + kappa))
    half_thermal_mV = 1e3 * GAS_CONSTANT * config.cell.temperature / (2.0 * FARADAY)
    return lr.simulate(duration_ms, dt_ms=0.01, v0_mV=config.cell.initial_voltage * 1e3,
                       ca0_mM=config.inside.Ca, si_reversal=lambda ca: half_thermal_mV * math.log(CA_OUT_mM / ca),
                       ca_per_charge=per_charge, ca_uptake_per_ms=0.0)


def measured(out) -> tuple[dict, float]:
    t_ms, v_mV = out["time"] * 1e3, out["membrane_potential"] * 1e3
    return lr.beat_measures(t_ms, v_mV), float(out["concentration_inside"][:, 3].max())


@pytest.mark.slow
def test_mean_field_myocyte_is_the_ode_of_its_equations():
    """Rest, APD90 and the [Ca]i peak agree; peak and dV/dt max converge to the ODE's as dt halves."""
    settings = {"run.duration": "500 ms", "run.record_every": "0.01 ms", "protocol.0.count": 1}
    config = myocyte(pumps=False, **settings)
    reference = counted_ion_ode(config, 500.0)
    expected = lr.beat_measures(reference.t_ms, reference.v_mV)
    errors = {}
    for dt in ("10 us", "5 us"):
        got, ca_peak = measured(simulate(myocyte(pumps=False, **settings, **{"run.dt": dt})))
        assert got["rest_mV"] == pytest.approx(expected["rest_mV"], abs=0.01)
        assert got["apd90_ms"] == pytest.approx(expected["apd90_ms"], abs=1.0)  # 0.25 %
        assert ca_peak == pytest.approx(reference.ca_i_mM.max(), rel=5e-3)
        errors[dt] = (got["peak_mV"] - expected["peak_mV"], got["dvdt_max_V_per_s"] - expected["dvdt_max_V_per_s"])
    assert abs(errors["10 us"][0]) < 1.0 and abs(errors["10 us"][1]) < 0.05 * expected["dvdt_max_V_per_s"]
    # first order in dt: halving the step about halves the error (0.6 allows for the 0.01 ms sampling)
    assert abs(errors["5 us"][0]) < 0.6 * abs(errors["10 us"][0])
    assert abs(errors["5 us"][1]) < 0.6 * abs(errors["10 us"][1])


@pytest.mark.slow
def test_counted_ion_myocyte_against_the_original_lr1():
    """The paced myocyte of the experiment (second beat) beside LR1: same rest and upstroke, APD90 within 10 %.

    What differs is Ca2+: LR1's [Ca]i equation lets I_si raise [Ca]i to 6.4 uM, which lowers E_si
    and I_si through the plateau; counted in the myoplasm with a buffer (kappa 50) and removed by the
    exchanger and the Ca2+ pump, [Ca]i peaks near 1.4 uM, and the exchanger's current joins the
    plateau. The measured APD90 is about 6 % shorter than LR1's.
    """
    config = myocyte(**{"run.duration": "2 s", "run.record_every": "0.05 ms", "protocol.0.count": 2})
    out = simulate(config)
    second = out["time"] >= 1.0
    got = lr.beat_measures(out["time"][second] * 1e3, out["membrane_potential"][second] * 1e3)
    original = lr.simulate(2000.0, dt_ms=0.05)
    later = original.t_ms >= 1000.0
    expected = lr.beat_measures(original.t_ms[later], original.v_mV[later])
    assert got["rest_mV"] == pytest.approx(expected["rest_mV"], abs=1.0)
    assert got["peak_mV"] == pytest.approx(expected["peak_mV"], abs=1.5)
    assert got["dvdt_max_V_per_s"] == pytest.approx(expected["dvdt_max_V_per_s"], rel=0.1)
    assert got["apd90_ms"] == pytest.approx(expected["apd90_ms"], rel=0.10)
    assert np.max(out["concentration_inside"][second, 3]) < 0.5 * original.ca_i_mM[later].max()
