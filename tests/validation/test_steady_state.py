"""Several permeant ions: a steady (not equilibrium) state at the GHK or chord-conductance potential.

The unidirectional fluxes are in the Ussing ratio.
"""

import math

import numpy as np
import pytest

from channelsim.constants import AVOGADRO, IONS, VALENCE
from channelsim.physics import chord_conductance_potential, ghk_potential, nernst_potential, thermal_voltage
from tests.helpers import batch_mean_and_error, make_config, simulate

SETTLE = 100
COUNTS = {"k_leak": 2000, "na_leak": 80, "cl_leak": 900}  # P_K : P_Na : P_Cl = 1 : 0.04 : 0.45
KIND_ION = {"k_leak": "K", "na_leak": "Na", "cl_leak": "Cl"}


def three_leaks(tracking, permeation="ghk", duration="300 ms"):
    channels = [{"kind": kind, "count": n, "tracking": tracking, "permeation": permeation}
                for kind, n in COUNTS.items()]
    config = make_config(channels, [f'run.duration="{duration}"'])
    return config, simulate(config)


def concentrations(config, out):
    c_in = out["ions_inside"] / (AVOGADRO * config.cell.volume_m3)
    c_out = np.array([getattr(config.outside, ion) for ion in IONS])
    return c_in, c_out


@pytest.mark.parametrize("tracking", ["agent", "population"])
def test_three_leaks_settle_at_the_ghk_potential(tracking):
    config, out = three_leaks(tracking)
    c_in, c_out = concentrations(config, out)
    permeability = {KIND_ION[e.kind]: e.count * e.permeability for e in config.channels}
    # GHK of the concentrations at each recording (they drift: this is not an equilibrium)
    predicted = np.array([
        ghk_potential(permeability, dict(zip(IONS, row, strict=True)), dict(zip(IONS, c_out, strict=True)),
                      config.cell.temperature)
        for row in c_in])
    deviation = (out["membrane_potential"] - predicted)[SETTLE:]
    mean, error = batch_mean_and_error(deviation)
    assert -0.072 < predicted[-1] < -0.062  # a neuron-like resting potential
    assert abs(mean) < 5 * error
    assert error < 1e-5


@pytest.mark.parametrize("tracking", ["agent", "population"])
def test_ohmic_leaks_settle_at_the_chord_conductance_potential(tracking):
    config, out = three_leaks(tracking, permeation="ohmic")
    c_in, c_out = concentrations(config, out)
    temperature = config.cell.temperature
    conductance = {KIND_ION[e.kind]: e.count * e.conductance for e in config.channels}
    predicted = np.array([
        chord_conductance_potential(conductance, {ion: nernst_potential(VALENCE[ion], row[i], c_out[i], temperature)
                                                  for i, ion in enumerate(IONS[:3])})
        for row in c_in])
    mean, error = batch_mean_and_error((out["membrane_potential"] - predicted)[SETTLE:])
    assert abs(mean) < 5 * error
    assert error < 1e-5


@pytest.mark.parametrize("tracking", ["agent", "population"])
def test_unidirectional_fluxes_follow_the_ussing_flux_ratio(tracking):
    """Check efflux / influx = (c_in / c_out) exp(z V / V_T) for each ion (Ussing 1949)."""
    config, out = three_leaks(tracking, duration="200 ms")
    c_in, c_out = concentrations(config, out)
    window = slice(SETTLE, None)
    v_mean, v_error = batch_mean_and_error(out["membrane_potential"][window])
    vt = thermal_voltage(config.cell.temperature)
    for i, ion in enumerate(IONS[:3]):
        efflux = out["efflux"][-1, i] - out["efflux"][SETTLE, i]
        influx = out["influx"][-1, i] - out["influx"][SETTLE, i]
        z = VALENCE[ion]
        predicted = math.log(c_in[window, i].mean() / c_out[i]) + z * v_mean / vt
        # Poisson counting error of the log ratio, and the error of the mean voltage
        error = math.hypot(math.sqrt(1 / efflux + 1 / influx), z * v_error / vt)
        assert abs(math.log(efflux / influx) - predicted) < 5 * error, ion
        assert error < 2e-3
