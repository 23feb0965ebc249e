"""The LR1 channel kinds: their schemes' steady states are LR1's gate products, their densities LR1's conductances.

The reference values come from tests/reference/luo_rudy_1991.py, written independently from the
paper's equations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from channelsim.channels import KINDS
from channelsim.channels.cardiac import B_NA_RATIO, K_NA_RATIO, inward_rectifier_scheme
from channelsim.constants import ZERO_CELSIUS
from channelsim.model.tables import stationary_distribution, transition_table
from tests.reference import luo_rudy_1991 as lr

TEMPERATURE = ZERO_CELSIUS + 37.0
VOLTAGES_mV = [-100.0, -84.0, -60.0, -40.0, -39.9, -20.0, 0.0, 20.0, 45.0]
E_K1_mV = lr.RT_F_MV * math.log(5.4 / 145.0)


def open_fraction(kind_or_scheme, v_mV: float) -> float:
    scheme = KINDS[kind_or_scheme].scheme(None) if isinstance(kind_or_scheme, str) else kind_or_scheme
    pi = stationary_distribution(scheme, v_mV * 1e-3, TEMPERATURE)
    return float(pi @ scheme.conducting_mask)


@pytest.mark.parametrize("v", VOLTAGES_mV)
def test_steady_open_fractions_are_lr1_gate_products(v):
    m, h, j, d, f, x = lr.steady_gates(v)
    assert open_fraction("lr_na", v) == pytest.approx(m**3 * h * j, rel=1e-6, abs=1e-14)
    assert open_fraction("ca_l", v) == pytest.approx(d * f, rel=1e-6, abs=1e-14)
    assert open_fraction("lr_k", v) == pytest.approx(x * lr.xi_factor(v), rel=1e-6, abs=1e-14)
    assert open_fraction(inward_rectifier_scheme(None, E_K1_mV), v) == pytest.approx(lr.k1_inf(v, E_K1_mV),
                                                                                       rel=1e-6)
    assert open_fraction("lr_kp", v) == pytest.approx(lr.kp_factor(v), rel=1e-6)


def test_instantaneous_gates_settle_within_one_step():
    """Xi, K1_inf and Kp relax at 1e6 /s: after one 10 us step their occupancy is the steady state to 5e-5."""
    scheme = inward_rectifier_scheme(None, E_K1_mV)
    table = transition_table(scheme, TEMPERATURE, 10e-6)
    index = np.rint((np.array(VOLTAGES_mV) * 1e-3 + 0.2) / 1e-4).astype(int)
    for i, v in zip(index, VOLTAGES_mV, strict=True):
        k1 = lr.k1_inf(v, E_K1_mV)
        for start in range(2):
            assert table[i, start, 1] == pytest.approx(k1, abs=5e-5)


@pytest.mark.parametrize(("kind", "g_ms_cm2"), [("lr_na", 23.0), ("ca_l", 0.09), ("lr_k", 0.282), ("lr_k1", 0.6047),
                                                ("lr_kp", 0.0183), ("lr_b", 0.03921)])
def test_default_densities_give_lr1_conductances(kind, g_ms_cm2):
    defaults = KINDS[kind]
    total = defaults.density_per_m2 * defaults.conductance_S * sum(defaults.permeant_ions.values())
    assert total / 10.0 == pytest.approx(g_ms_cm2, rel=1e-12)  # S/m^2 -> mS/cm^2: / 10


def test_mixed_reversals_are_lr1s_at_the_papers_concentrations():
    """I_K (K+ and Na+) reverses at LR1's E_K (P_Na/P_K = 0.01833), I_b at -59.87 mV."""
    e_k = lr.RT_F_MV * math.log(5.4 / 145.0)
    e_na = lr.RT_F_MV * math.log(140.0 / 18.0)
    lr1_e_k = lr.RT_F_MV * math.log((5.4 + lr.P_NA_K * 140.0) / (145.0 + lr.P_NA_K * 18.0))
    # RT/F of the reference (R = 8.314, T = 310 K) and of channelsim (CODATA, 310.15 K) differ by 0.06 %
    assert (e_k + K_NA_RATIO * e_na) / (1 + K_NA_RATIO) == pytest.approx(lr1_e_k, abs=0.1)
    assert (e_k + B_NA_RATIO * e_na) / (1 + B_NA_RATIO) == pytest.approx(lr.E_B_MV, abs=0.1)


@pytest.mark.parametrize("tracking", ["agent", "population"])
def test_stochastic_open_fractions_under_clamp_are_the_steady_state(tracking):
    """Clamped at their initial potential, every LR1 kind's mean open fraction is its LR1 steady state.

    2000 channels of each kind gate for 0.3 s at -20 mV (the Na+ channels inactivated, open fraction 0); the
    standard error of each mean is from 20 batch means. The instantaneous gates (lr_k1, lr_kp, Xi)
    are redrawn every step, so this checks them in agent and population tracking too.
    """
    import copy

    from channelsim.config import parse_config
    from tests.helpers import BASE, batch_mean_and_error, open_of, simulate

    raw = copy.deepcopy(BASE)
    raw["run"].update({"duration": "300 ms", "record_every": "1 ms"})
    raw["cell"]["initial_voltage"] = "-20 mV"
    raw["inside"].update({"K": "145 mM", "Na": "18 mM"})
    raw["outside"].update({"K": "5.4 mM", "Na": "140 mM", "Ca": "1.8 mM"})
    kinds = ["lr_na", "ca_l", "lr_k", "lr_k1", "lr_kp"]
    raw["channels"] = [{"kind": kind, "count": 2000, "tracking": tracking} for kind in kinds]
    raw["protocol"] = [{"action": "voltage_clamp", "at": "0 ms", "potential": "-20 mV", "duration": "300 ms"}]
    out = simulate(parse_config(raw))
    m, h, j, d, f, x = lr.steady_gates(-20.0)
    e_k1 = 1e3 * 8.314462618 * TEMPERATURE / 96485.33212 * math.log(5.4 / 145.0)
    expected = {"lr_na": m**3 * h * j, "ca_l": d * f, "lr_k": x * lr.xi_factor(-20.0),
                "lr_k1": lr.k1_inf(-20.0, e_k1), "lr_kp": lr.kp_factor(-20.0)}
    for kind in kinds:
        mean, error = batch_mean_and_error(open_of(out, kind)[1:] / 2000)
        binomial = math.sqrt(expected[kind] * (1 - expected[kind]) / 2000)  # one sample's spread
        assert abs(mean - expected[kind]) <= 5 * max(error, binomial / math.sqrt(300)), (kind, mean, expected[kind])
