"""Closed-form membrane physics, used as the reference that simulations are checked against.

Kernels never import this module: they carry their own copies of the flux laws, and the
tests compare the two.
"""

from channelsim.physics.closed_forms import (
    charge_for_voltage,
    chord_conductance_potential,
    donnan_equilibrium,
    exchanger_cycle_rates,
    exchanger_reversal_potential,
    ghk_current,
    ghk_potential,
    ghk_zero_current_potential,
    glycoside_blocked_fraction,
    ions_for_voltage_change,
    nernst_potential,
    pump_cycle_rate,
    pump_leak_channel_counts,
    thermal_voltage,
    thermal_voltage_noise,
)

__all__ = [
    "charge_for_voltage",
    "chord_conductance_potential",
    "donnan_equilibrium",
    "exchanger_cycle_rates",
    "exchanger_reversal_potential",
    "ghk_current",
    "ghk_potential",
    "ghk_zero_current_potential",
    "glycoside_blocked_fraction",
    "ions_for_voltage_change",
    "nernst_potential",
    "pump_cycle_rate",
    "pump_leak_channel_counts",
    "thermal_voltage",
    "thermal_voltage_noise",
]
