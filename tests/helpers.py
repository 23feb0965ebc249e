"""Shared test helpers: small configs and in-memory runs (no HDF5) of the real kernels."""

from __future__ import annotations

import copy
import math

import numpy as np

from channelsim.config import apply_overrides, parse_config
from channelsim.config.schema import Config
from channelsim.constants import BOLTZMANN, ELEMENTARY_CHARGE
from channelsim.engine import run_in_memory
from channelsim.model import build

#: A 5 um-radius cell with textbook mammalian-neuron concentrations (Hille 2001, Table 1.1
#: rounded), starting electroneutral at 0 mV.
BASE = {
    "experiment": {"name": "test"},
    "run": {"duration": "10 ms", "dt": "10 us", "record_every": "0.1 ms", "seed": 1},
    "cell": {"shape": "sphere", "radius": "5 um", "temperature": "37 degC"},
    "inside": {"K": "140 mM", "Na": "10 mM", "Cl": "10 mM"},
    "outside": {"K": "5 mM", "Na": "145 mM", "Cl": "110 mM"},
    "channels": [],
}


def make_config(channels: list[dict], overrides: list[str] = ()) -> Config:
    raw = copy.deepcopy(BASE)
    raw["channels"] = copy.deepcopy(channels)
    return parse_config(apply_overrides(raw, list(overrides)))


def simulate(config: Config, seed: int | None = None) -> dict:
    """Run in memory: every recorded variable as an array by name, and the model as "patch"."""
    model = build(config, seed)
    ds = run_in_memory(model)
    return {name: ds[name].values for name in ds.variables} | {"patch": model}


def open_of(out: dict, kind: str) -> np.ndarray:
    """Return the open-channel series of one kind (kinds are stored in alphabetical order)."""
    return out["open_channels"][:, out["patch"].kind_names.index(kind)]


def batch_mean_and_error(samples: np.ndarray, n_batches: int = 20) -> tuple[float, float]:
    """Estimate a mean and its standard error from the scatter of batch means.

    Robust to correlation when each batch is much longer than the correlation time.
    """
    batches = np.array_split(np.asarray(samples, dtype=float), n_batches)
    means = np.array([b.mean() for b in batches])
    return float(np.mean(samples)), float(means.std(ddof=1) / np.sqrt(n_batches))


def thermal_sigma(capacitance_F: float, temperature_K: float) -> float:
    return float(np.sqrt(BOLTZMANN * temperature_K / capacitance_F))


def ion_quantum(capacitance_F: float) -> float:
    """Voltage step of one elementary charge (V)."""
    return ELEMENTARY_CHARGE / capacitance_F


def gate_chain(a: float = 0.01, b: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """Build the one-step matrix of 4 independent gates counted by how many are active.

    Forward (4 - i) a, backward i b per step; returned with its stationary occupancy
    Binomial(4, a / (a + b)).
    """
    matrix = np.zeros((5, 5))
    for i in range(5):
        if i < 4:
            matrix[i, i + 1] = (4 - i) * a
        if i > 0:
            matrix[i, i - 1] = i * b
        matrix[i, i] = 1.0 - matrix[i].sum()
    p = a / (a + b)
    return matrix, np.array([math.comb(4, k) * p**k * (1 - p) ** (4 - k) for k in range(5)])
