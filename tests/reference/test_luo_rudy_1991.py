"""The reference ODE itself: its rest is a fixed point, its factors are bounded, its beat is the paper's."""

from __future__ import annotations

import numpy as np
import pytest

from tests.reference import luo_rudy_1991 as lr


def test_rest_is_a_fixed_point_without_stimulus():
    beat = lr.simulate(200.0, stimulus_uA_cm2=0.0, v0_mV=-84.4, dt_ms=1.0)
    assert np.ptp(beat.v_mV) < 0.2
    assert beat.v_mV[-1] == pytest.approx(-84.4, abs=0.2)


def test_instantaneous_factors_are_continuous_and_bounded():
    assert lr.xi_factor(-100.0 + 1e-9) == pytest.approx(1.0, abs=2e-3)
    assert lr.xi_factor(-77.0) == pytest.approx(lr.xi_factor(-77.0 + 1e-6), rel=1e-6)
    e_k1 = lr.RT_F_MV * np.log(5.4 / 145.0)
    for v in np.linspace(-120.0, 60.0, 19):
        assert 0.0 < lr.k1_inf(v, e_k1) < 1.0 and 0.0 < lr.kp_factor(v) < 1.0


def test_paced_beat_at_one_hertz():
    """Rest -84.4 mV, peak +42.3 mV, dV/dt max ~400 V/s, APD90 ~362 ms, [Ca]i peak 6.4 uM (second beat)."""
    beat = lr.simulate(2000.0, dt_ms=0.01)
    second = beat.t_ms >= 1000.0
    measures = lr.beat_measures(beat.t_ms[second], beat.v_mV[second])
    assert measures["rest_mV"] == pytest.approx(-84.4, abs=0.2)
    assert measures["peak_mV"] == pytest.approx(42.3, abs=0.3)
    assert measures["dvdt_max_V_per_s"] == pytest.approx(400.0, rel=0.05)
    assert measures["apd90_ms"] == pytest.approx(362.0, abs=3.0)
    assert beat.ca_i_mM[second].max() * 1e3 == pytest.approx(6.4, abs=0.1)

