"""Cables: the passive cable's closed forms, exact conservation, and the HH axon's conduction velocity.

The velocity converges in dx and dt, and the squid axon's is HH's 18.8 m/s.
"""

import math

import numpy as np
import pytest

from channelsim import simulate
from channelsim.conduction import conduction_velocity, propagation
from channelsim.config import load_config

#: HH's squid axon solutions (Hodgkin & Huxley 1952, J Physiol 117:500), the same as
#: experiments/action_potential.toml: E_Na = +50, E_K = -77, E_Cl = -54.4 mV at 6.3 degC.
SQUID = """
[inside]
K = "400 mM"
Na = "55.17 mM"
Cl = "58.52 mM"
[outside]
K = "16.35 mM"
Na = "440 mM"
Cl = "560 mM"
"""


def cable(*, diameter="1 um", length="1 mm", dx="5 um", dt="10 us", duration="40 ms", temperature="6.3 degC",
          channels="", protocol="", v0="-65 mV", record="0.1 ms", noise="false"):
    return load_config(f"""
[experiment]
name = "cable"
[run]
duration = "{duration}"
dt = "{dt}"
record_every = "{record}"
flux_noise = {noise}
[cell]
shape = "cable"
diameter = "{diameter}"
length = "{length}"
segment_length = "{dx}"
axial_resistivity = "35.4 ohm cm"
temperature = "{temperature}"
initial_voltage = "{v0}"
{SQUID}
{channels}
{protocol}
""")


HH = """
[[channels]]
kind = "hh_na"
tracking = "{tracking}"
[[channels]]
kind = "hh_k"
tracking = "{tracking}"
[[channels]]
kind = "cl_leak"
density = "0.15 /um^2"   # 0.3 mS/cm^2 of 20 pS channels, HH's leak
conductance = "20 pS"
permeation = "ohmic"
tracking = "{tracking}"
"""


def stimulus(amplitude="0.2 nA", at="1 ms", duration="0.5 ms", position=None):
    where = f'position = "{position}"' if position else ""
    return f"""
[[protocol]]
action = "current_clamp"
at = "{at}"
amplitude = "{amplitude}"
duration = "{duration}"
{where}
"""


def test_passive_cable_steady_state_and_input_resistance():
    """V(x) = V(0) cosh((L - x)/lambda) / cosh(L/lambda) and R_in = r_a lambda coth(L/lambda), sealed end.

    lambda = sqrt(d R_m / (4 R_a)) (Rall 1977). Leak only (0.3 mS/cm^2 of ohmic Cl- channels,
    many small ones so that every compartment has the same conductance to 0.2%), a constant
    current from t = 0; the response is the difference from the same run without the current.
    """
    leak = """
[[channels]]
kind = "cl_leak"
density = "30 /um^2"
conductance = "0.1 pS"
permeation = "ohmic"
tracking = "mean_field"
"""
    current = 50e-12
    runs = [simulate(cable(channels=leak, v0="-54.4 mV", protocol=stimulus(f"{amplitude} pA", "0 ms", "40 ms")))
            for amplitude in (current * 1e12, 1e-6)]
    response = (runs[0].membrane_potential.isel(time=-1) - runs[1].membrane_potential.isel(time=-1)).values
    ds = runs[0]
    d, length, resistivity = 1e-6, 1e-3, 0.354
    g_m = float(ds.agent_count.sel(kind="cl_leak")) * 0.1e-12 / float(ds.membrane_area)  # S/m^2
    lam = math.sqrt(d / g_m / (4 * resistivity))
    assert lam == pytest.approx(485e-6, rel=0.01)  # 0.3 mS/cm^2, 1 um, 35.4 ohm cm
    r_a = 4 * resistivity / (math.pi * d**2)  # ohm/m
    x = ds.position.values
    # V(x) = I R_in cosh((L - x)/lambda) / cosh(L/lambda), R_in = r_a lambda coth(L/lambda)
    closed = current * r_a * lam * np.cosh((length - x) / lam) / np.sinh(length / lam)
    # 1%: dx^2/lambda^2 ~ 1e-4, channel counts rounded per compartment (0.2%), and the electrode's
    # K+ spreading from its compartment by diffusion as well as by the field (0.4% there)
    np.testing.assert_allclose(response, closed, rtol=0.01)


def test_conservation_along_the_cable():
    """Every ion stays counted: inside (all compartments) + outside - electrode is constant, exactly."""
    ds = simulate(cable(length="200 um", dx="10 um", duration="5 ms", channels=HH.format(tracking="agent"),
                        protocol=stimulus(), noise="true"))
    total = ds.ions_inside + ds.ions_outside - ds.ions_electrode
    assert (total == total.isel(time=0)).all()
    assert (ds.ions_in_compartment.sum("compartment") == ds.ions_inside).all()
    assert ds.ions_in_compartment.isel(time=-1).std("compartment").max() > 0  # ions did move along it


@pytest.fixture(scope="module")
def velocities():
    """Conduction velocity (m/s) of a 1 um HH axon at 6.3 degC (mean field) for several dx and dt."""
    def velocity(dx, dt):
        ds = simulate(cable(length="2 mm", dx=dx, dt=dt, duration="8 ms", channels=HH.format(tracking="mean_field"),
                            protocol=stimulus()))
        assert not propagation(ds).failed
        return conduction_velocity(ds)
    return {"dx": [velocity(dx, "10 us") for dx in ("20 um", "10 um", "5 um")],
            "dt": [velocity("10 um", dt) for dt in ("20 us", "10 us", "5 us")]}


@pytest.mark.parametrize("axis", ["dx", "dt"])
def test_conduction_velocity_converges(velocities, axis):
    """Halving dx (or dt) changes the velocity less each time, and the finest two agree within 2%."""
    coarse, middle, fine = velocities[axis]
    assert abs(fine - middle) < abs(middle - coarse)
    assert fine == pytest.approx(middle, rel=0.02)


def test_squid_axon_velocity():
    """HH's squid axon (476 um, 35.4 ohm cm, 18.5 degC) conducts at 18.8 m/s (Hodgkin & Huxley 1952).

    Mean-field HH channels (the deterministic limit HH computed). Backward Euler is first order in
    dt, so the velocities at dt = 5 and 2.5 us are extrapolated to dt = 0 (Richardson); dx = 200 um
    is converged (100 and 50 um agree to 0.01%). 3%: HH's own hand computation of 18.8 m/s.
    """
    def velocity(dt):
        ds = simulate(cable(diameter="476 um", length="40 mm", dx="200 um", dt=dt, duration="4 ms",
                            temperature="18.5 degC", channels=HH.format(tracking="mean_field"),
                            protocol=stimulus("6 uA", "0.2 ms", "0.2 ms"), record="0.05 ms"))
        assert not propagation(ds).failed
        return conduction_velocity(ds)

    coarse, fine = velocity("5 us"), velocity("2.5 us")
    assert coarse < fine < 18.8 * 1.03
    assert 2 * fine - coarse == pytest.approx(18.8, rel=0.03)
