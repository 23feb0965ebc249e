"""The kernels' flux laws against the closed forms of channelsim.physics."""

import math

import pytest

from channelsim.constants import AVOGADRO, ELEMENTARY_CHARGE
from channelsim.kernels.permeation import GHK, OHMIC, outward_current, unidirectional_rates
from channelsim.physics import ghk_current, nernst_potential, thermal_voltage

T = 310.15
VT = thermal_voltage(T)


@pytest.mark.parametrize("z, c_in, c_out", [(1, 140.0, 5.0), (1, 10.0, 145.0), (-1, 10.0, 110.0), (2, 1e-4, 1.5)])
@pytest.mark.parametrize("v", [-0.09, -0.02, 0.0, 1e-9, 0.04])
def test_ghk_kernel_matches_closed_form(z, c_in, c_out, v):
    p = 2.6e-20
    kernel = outward_current(GHK, p, z, c_in, c_out, v, VT, AVOGADRO, ELEMENTARY_CHARGE)
    assert kernel == pytest.approx(ghk_current(p, z, c_in, c_out, v, T), rel=1e-9)


@pytest.mark.parametrize("z, c_in, c_out", [(1, 140.0, 5.0), (-1, 10.0, 110.0), (2, 1e-4, 1.5)])
@pytest.mark.parametrize("v", [-0.09, 0.0, 0.04])
def test_ohmic_kernel_is_g_times_driving_force(z, c_in, c_out, v):
    g = 14e-12
    kernel = outward_current(OHMIC, g, z, c_in, c_out, v, VT, AVOGADRO, ELEMENTARY_CHARGE)
    expected = g * (v - nernst_potential(z, c_in, c_out, T))
    assert kernel == pytest.approx(expected, rel=1e-9, abs=1e-24)


@pytest.mark.parametrize("law, unitary", [(GHK, 2.6e-20), (OHMIC, 14e-12)])
@pytest.mark.parametrize("v", [-0.07, 0.0, 0.03])
def test_unidirectional_fluxes_obey_the_ussing_ratio(law, unitary, v):
    z, c_in, c_out = -1, 10.0, 110.0
    efflux, influx = unidirectional_rates(law, unitary, z, c_in, c_out, v, VT, AVOGADRO, ELEMENTARY_CHARGE)
    assert efflux > 0 and influx > 0
    assert efflux / influx == pytest.approx(c_in / c_out * math.exp(z * v / VT), rel=1e-12)
