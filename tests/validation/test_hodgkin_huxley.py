"""mean_field tracking of hh_na, hh_k and an ohmic leak reproduces the Hodgkin-Huxley (1952) model.

The model is computed independently (tests/validation/hh_reference.py).

channelsim's step is first order in dt, so each quantity q is computed at dt = 10 us and 5 us:
with error ~ c dt, the 5 us error is about |q(10) - q(5)|, and the test requires
|q(5) - q_ODE| <= 1.5 |q(10) - q(5)| + resolution (spike times: dt; bisections: their tolerance).
"""

import math

import numpy as np
import pytest

from channelsim.config import parse_config
from tests.helpers import simulate
from tests.validation import hh_reference as hh

VT = 8.314462618 * 279.45 / 96485.33212  # RT/F at 6.3 degC (V)
DTS_US = (10, 5)


def hh_config(dt_us, duration_ms, amplitude=0.0, start=0.0, length=0.0, tracking="mean_field", area="100 um^2"):
    """HH's squid membrane; concentrations chosen so that E_Na, E_K, E_leak are HH's values."""
    mM = lambda c: f"{c!r} mM"  # noqa: E731
    leak = {"kind": "cl_leak", "density": "0.15 /um^2", "conductance": "20 pS", "permeation": "ohmic"}
    raw = {
        "experiment": {"name": "hh"},
        "run": {"duration": f"{duration_ms} ms", "dt": f"{dt_us} us", "record_every": f"{dt_us} us"},
        "cell": {"shape": "patch", "area": area, "volume": "1 nL", "temperature": "6.3 degC",
                 "initial_voltage": "-65 mV"},
        "inside": {"K": "400 mM", "Na": mM(440 / math.exp(hh.E_NA * 1e-3 / VT)),
                   "Cl": mM(560 * math.exp(hh.E_L * 1e-3 / VT))},
        "outside": {"K": mM(400 * math.exp(hh.E_K * 1e-3 / VT)), "Na": "440 mM", "Cl": "560 mM"},
        "channels": [{"kind": k, "tracking": tracking} for k in ("hh_na", "hh_k")] + [{**leak, "tracking": tracking}],
        "protocol": [{"action": "current_clamp", "at": f"{start} ms", "amplitude": f"{amplitude} uA/cm^2",
                      "duration": f"{length} ms"}] if amplitude else [],
    }
    return parse_config(raw)


def sim(dt_us, duration_ms, **kwargs):
    out = simulate(hh_config(dt_us, duration_ms, **kwargs))
    return {"v": out["membrane_potential"] * 1e3, "spikes": out["spike_time"] * 1e3}


def assert_first_order(coarse, fine, exact, resolution=0.0):
    assert abs(fine - exact) <= 1.5 * abs(coarse - fine) + resolution, (coarse, fine, exact)


def test_resting_potential():
    # no dt dependence at a fixed point: within one ion on the 1 pF patch (0.16 uV)
    for dt in DTS_US:
        assert sim(dt, 50)["v"][-1] == pytest.approx(hh.resting_potential(), abs=2e-4)


def test_spike_peak_and_time():
    runs = [sim(dt, 20, amplitude=20.0, start=5.0, length=1.0) for dt in DTS_US]
    reference = hh.run(20.0, 5.0, 1.0, 20.0)
    assert reference["maxima"].max() > 40  # a full spike, near E_Na = 50 mV
    assert_first_order(*(r["v"].max() for r in runs), reference["maxima"].max())
    assert_first_order(*(r["spikes"][0] for r in runs), reference["spikes"][0], resolution=DTS_US[1] * 1e-3)


def bisect(fires, low, high, tolerance=0.01):
    """Smallest amplitude in [low, high] for which fires(amplitude) is true."""
    assert not fires(low) and fires(high)
    while high - low > tolerance:
        middle = 0.5 * (low + high)
        low, high = (low, middle) if fires(middle) else (middle, high)
    return high


def test_rheobase_for_long_steps():
    """The smallest 200 ms current step that fires a spike."""
    reference = bisect(lambda i: len(hh.run(i, 5.0, 200.0, 205.0)["spikes"]) > 0, 1.0, 5.0)
    simulated = [bisect(lambda i, dt=dt: len(sim(dt, 205, amplitude=i, start=5.0, length=200.0)["spikes"]) > 0,
                        1.0, 5.0)
                 for dt in DTS_US]
    assert 2.0 < reference < 3.0
    assert_first_order(*simulated, reference, resolution=0.01)


def test_onset_of_repetitive_firing():
    """The smallest step current that keeps firing: a spike in the last 100 ms of 400 ms."""

    def fires_late(spikes):
        return np.any(spikes > 305.0)

    reference = bisect(lambda i: fires_late(hh.run(i, 5.0, 400.0, 405.0)["spikes"]), 3.0, 12.0)
    simulated = [bisect(lambda i, dt=dt: fires_late(sim(dt, 405, amplitude=i, start=5.0, length=400.0)["spikes"]),
                        3.0, 12.0)
                 for dt in DTS_US]
    assert 5.5 < reference < 7.0  # the classical onset near 6.3 uA/cm^2
    assert_first_order(*simulated, reference, resolution=0.01)


@pytest.mark.parametrize("amplitude", [10.0, 20.0, 40.0])  # above ~60 the troughs stay above -30 mV
def test_firing_rate(amplitude):
    """Steady firing rate (from the mean interspike interval after 100 ms) of a 300 ms step."""

    def rate(spikes):
        return 1e3 / np.diff(spikes[spikes > 100.0]).mean()

    reference = rate(hh.run(amplitude, 0.0, 300.0, 300.0)["spikes"])
    simulated = [rate(sim(dt, 300, amplitude=amplitude, length=300.0)["spikes"]) for dt in DTS_US]
    assert_first_order(*simulated, reference, resolution=0.05)
