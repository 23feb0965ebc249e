"""Traps in a valid config: settings that run, but not as the user probably expects.

`config_warnings(config)` returns human-readable warnings, each naming the config field and
what to change. Nothing here stops a run; the config has already passed validation.

Two traps are checked.

Hodgkin-Huxley channels too warm. The `hh_na` and `hh_k` kinds are HH's squid-axon rates at
6.3 degC, scaled by Q10 = 3 (channelsim.channels.hh). All gating then speeds up together while
the membrane's RC time does not, and the model stops firing. Measured with channelsim's own
mean-field HH membrane (squid concentrations and leak as in experiments/action_potential.toml,
100 ms and 400 ms current steps of 10-150 uA/cm^2, dt 1-2 us, largest peak-to-peak V of the
last 50 ms of the step): the membrane fires repetitively up to 29.9 degC (a 26 mV oscillation
for a narrow range of currents near 65 uA/cm^2) and at no constant current from 30.0 degC on,
where a step only gives an onset transient and a depolarised plateau. Already above 25.3 degC
the repetitive spikes no longer overshoot 0 mV (peaks near -15 mV at 28 degC), so the run
file's `spike_time` (upward crossings of 0 mV) stays empty. `HH_FIRING_LIMIT_C` is the 30 degC
limit; tests/unit/test_checks.py re-measures both sides of it.

Pumps far from balance with the leaks. A cell with Na+/K+ pumps is meant to sit in a pump-leak
steady state (Tosteson & Hoffman 1960, J Gen Physiol 44:169): the channels' net Na+ influx
equals the pumps' Na+ efflux (3 per cycle) and their net K+ efflux the pumps' K+ influx (2 per
cycle). `pump_leak_balance` finds the zero-current potential of the channels and pumps at the
initial concentrations (GHK currents for GHK channels, ohmic ones otherwise, voltage-gated
kinds at their stationary open probability; with GHK leaks only, that is the GHK voltage of the
leaks shifted by the pump's own current) and the fluxes there. For the shipped pump
experiments it gives -70.1 mV (neuron_rest) and -89.9 mV (cardiac_myocyte), the potentials
their runs hold for an hour, with both ratios within 1.5% of 1.

Threshold, a factor of 2 either way (`BALANCE_FACTOR`), for Na+ and, by the same argument, for
K+: the pump can follow a mismatch only through its Na+ saturation,
1 / (1 + (K_Na / [Na]i)^1.5) with K_Na = 10 mM (channelsim.channels.pump), and at the usual
[Na]i of about 10 mM that factor is 1/2, so the pump can at most double its rate. A Na+ influx
more than twice the pumps' efflux then has no pump-leak steady state at all and the cell runs
down towards the Donnan equilibrium; an efflux more than twice the influx is matched only once
[Na]i has fallen by half or more (to 4.8 mM or less). Within a factor of 2 the cell settles
near the configured state. The warning also needs the run to be long enough to show the drift:
none is given when no concentration would change by 1% within `run.duration` (10% of the ion
content takes more than ten run durations), e.g. a squid axon patch in a 1 nL reservoir.

Not checked: configs without pumps, which are out of balance on purpose (nernst_k, ghk_rest),
and pumps blocked at t = 0 by a `block` or `ouabain` step (a run-down from the start). The
ouabain experiment blocks only at 10 s and is checked as the balanced cell it starts as.
Protocol steps at t = 0 that set an outside concentration are applied first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from channelsim.channels import KINDS
from channelsim.channels.hh import HH_KINDS, Q10
from channelsim.channels.pump import PUMP_KINDS
from channelsim.config.schema import Config
from channelsim.constants import AVOGADRO, ELEMENTARY_CHARGE, VALENCE, ZERO_CELSIUS
from channelsim.physics import ghk_current, glycoside_blocked_fraction, nernst_potential, pump_cycle_rate

#: Above this temperature (degC) the HH 1952 model with Q10 = 3 fires at no constant current.
HH_FIRING_LIMIT_C = 30.0
#: Warn when the channels' Na+ (or K+) flux and the pumps' differ by more than this factor.
BALANCE_FACTOR = 2.0

_V_GRID = np.linspace(-0.200, 0.100, 3001)  # 0.1 mV steps for the zero-current potential


def config_warnings(config: Config) -> list[str]:
    """Warnings about a resolved config that will run but probably not as intended.

    Parameters
    ----------
    config : channelsim.config.Config
        A resolved config (from `load_config` or `parse_config`).

    Returns
    -------
    list of str
        One message per trap found, each naming the config field and what to change; empty
        when nothing looks wrong.
    """
    return [*_hh_temperature_warnings(config), *_pump_balance_warnings(config)]


# --- HH temperature -----------------------------------------------------------------------------


def _hh_temperature_warnings(config: Config) -> list[str]:
    kinds = [entry.kind for entry in config.channels if entry.kind in HH_KINDS and entry.count > 0]
    celsius = config.cell.temperature - ZERO_CELSIUS
    if not kinds or celsius < HH_FIRING_LIMIT_C:
        return []
    return [f"cell.temperature: {celsius:.1f} degC is too warm for the Hodgkin-Huxley channels "
            f"({', '.join(kinds)}): their squid-axon rates are measured at 6.3 degC and scaled by "
            f"Q10 = {Q10:g}, and from {HH_FIRING_LIMIT_C:g} degC on the HH membrane fires at no "
            f"constant current (its spikes already stop overshooting 0 mV above 25 degC, so no "
            f"spike_time is recorded); set cell.temperature to 6.3 degC, the temperature of the "
            f"model (or at most {HH_FIRING_LIMIT_C - 1:g} degC)"]


# --- pump-leak balance --------------------------------------------------------------------------


def _open_probability(entry, temperature_K: float) -> np.ndarray:
    """Stationary open probability of a channel entry over `_V_GRID`."""
    scheme = KINDS[entry.kind].scheme(entry)
    n = len(scheme.states)
    if n == 1:
        return np.full(_V_GRID.shape, float(scheme.conducting_mask[0]))
    q = scheme.rate_matrix(_V_GRID, temperature_K)
    # pi Q = 0 with sum(pi) = 1: replace one (redundant) balance equation by the normalisation
    system = np.swapaxes(q, -1, -2).copy()
    system[:, -1, :] = 1.0
    rhs = np.zeros((len(_V_GRID), n))
    rhs[:, -1] = 1.0
    pi = np.linalg.solve(system, rhs[..., None])[..., 0]
    return np.clip(pi, 0.0, 1.0) @ scheme.conducting_mask


def _initial_outside(config: Config) -> dict[str, float]:
    """Outside concentrations (mol/m^3 = mM) once the protocol steps at t = 0 have acted."""
    outside = {ion: getattr(config.outside, ion) for ion in VALENCE}
    for step in config.protocol:
        if step.at == 0.0 and step.action == "set_outside":
            outside[step.ion] = step.concentration
    return outside


def _channel_fluxes(config: Config) -> dict[str, np.ndarray]:
    """Net outward ions per second of each ion through all channels, over `_V_GRID`."""
    temperature = config.cell.temperature
    inside = {ion: getattr(config.inside, ion) for ion in VALENCE}  # mol/m^3 = mM
    outside = _initial_outside(config)
    fluxes: dict[str, np.ndarray] = {}
    for entry in config.channels:
        if entry.count == 0:
            continue
        open_channels = entry.count * _open_probability(entry, temperature)
        for ion, share in KINDS[entry.kind].permeant_ions.items():
            z = VALENCE[ion]
            if entry.permeation == "ghk":
                if inside[ion] <= 0.0 and outside[ion] <= 0.0:
                    continue
                current = np.array([ghk_current(share * entry.permeability, z, inside[ion], outside[ion], v,
                                                temperature) for v in _V_GRID])
            elif inside[ion] <= 0.0 or outside[ion] <= 0.0:
                continue  # an ohmic channel has no reversal potential for an ion on one side only
            else:
                reversal = nernst_potential(z, inside[ion], outside[ion], temperature)
                current = share * entry.conductance * (_V_GRID - reversal)
            fluxes[ion] = fluxes.get(ion, 0.0) + open_channels * current / (z * ELEMENTARY_CHARGE)
    return fluxes


def _active_pumps(config: Config) -> dict[str, float]:
    """Count the pumps of each kind left active by protocol steps at t = 0.

    A block, or ouabain bound with probability c^n / (c^n + IC50^n), IC50 rising with [K]o: a cell
    blocked from the start is meant to run down.
    """
    active = {entry.kind: float(entry.count) for entry in config.pumps}
    for step in config.protocol:
        if step.at > 0.0 or getattr(step, "target", None) not in active:
            continue
        entry = next(e for e in config.pumps if e.kind == step.target)
        if step.action == "block":
            active[step.target] = entry.count * (1.0 - step.fraction)
        elif step.action == "unblock":
            active[step.target] = min(float(entry.count), active[step.target] + entry.count * step.fraction)
        elif step.action == "ouabain":
            bound = glycoside_blocked_fraction(step.concentration, _initial_outside(config)["K"], entry.ouabain_ic50,
                                               entry.ouabain_hill, entry.ouabain_k_competition)
            active[step.target] = entry.count * (1.0 - bound)
    return active


def _pump_cycles(config: Config, active: dict[str, float]) -> dict[str, np.ndarray]:
    """Cycles per second of all active pumps of each kind, over `_V_GRID`."""
    na_out, k_out = _initial_outside(config)["Na"], _initial_outside(config)["K"]
    cycles = {}
    for entry in config.pumps:
        if active[entry.kind] == 0.0 or PUMP_KINDS[entry.kind].law != "na_k":
            continue  # the balance is the Na+/K+-ATPase's
        rate = [pump_cycle_rate(entry.max_turnover, entry.half_saturation_na, entry.half_saturation_k,
                                config.inside.Na, na_out, k_out, v, config.cell.temperature)
                if config.inside.Na > 0.0 and k_out > 0.0 else 0.0 for v in _V_GRID]
        cycles[entry.kind] = active[entry.kind] * np.asarray(rate)
    return cycles


def _rest(net_outward_charge: np.ndarray) -> tuple[int, float, bool]:
    """Find where the net outward current first crosses zero upwards.

    That is the most negative stable potential: grid index, fraction of the step to the next
    point, and False. Without a crossing: the grid edge the current pushes towards, and True.
    """
    crossings = np.flatnonzero((net_outward_charge[:-1] < 0.0) & (net_outward_charge[1:] >= 0.0))
    if crossings.size:
        i = int(crossings[0])
        a, b = net_outward_charge[i], net_outward_charge[i + 1]
        return i, float(-a / (b - a)), False
    if net_outward_charge[0] >= 0.0:
        return 0, 0.0, True
    return len(net_outward_charge) - 2, 1.0, True


def _duration(seconds: float) -> str:
    for unit, size in (("h", 3600.0), ("min", 60.0), ("s", 1.0)):
        if seconds >= size:
            return f"{seconds / size:.2g} {unit}"
    return f"{seconds * 1e3:.2g} ms"


@dataclass(frozen=True)
class PumpLeakBalance:
    """Fluxes at the zero-current potential of a cell's channels and pumps (ions per second).

    Attributes
    ----------
    v_rest : float
        Zero-current potential (V) at the initial concentrations, channels at their stationary
        open probabilities, pumps included. At a grid edge (-200 or +100 mV) when the currents
        never cancel in between.
    at_edge : bool
        True when `v_rest` is such a grid edge.
    pump_cycles : float
        Cycles per second of all active pumps together at `v_rest`.
    na_influx, k_efflux : float
        Net Na+ entering and net K+ leaving through all channels at `v_rest`.
    na_pumped, k_pumped : float
        Na+ pumped out (3 per cycle) and K+ pumped in (2 per cycle) at `v_rest`.
    active_pumps : dict of str to float
        Pumps of each kind not blocked at t = 0.
    """

    v_rest: float
    at_edge: bool
    pump_cycles: float
    na_influx: float
    na_pumped: float
    k_efflux: float
    k_pumped: float
    active_pumps: dict


def pump_leak_balance(config: Config) -> PumpLeakBalance:
    """Compare the channels' Na+ and K+ fluxes with the pumps' at the cell's resting potential.

    Parameters
    ----------
    config : channelsim.config.Config
        A resolved config. Concentrations are the initial ones, after any `set_outside` at
        t = 0; pumps blocked at t = 0 (block, ouabain) are left out.

    Returns
    -------
    PumpLeakBalance
    """
    active = _active_pumps(config)
    fluxes = _channel_fluxes(config)
    cycles = _pump_cycles(config, active)
    # ions into the cell per second by the pumps (stoichiometry: ions in per cycle, negative out)
    pumped: dict[str, np.ndarray] = {}
    for kind, rate in cycles.items():
        for ion, per_cycle in PUMP_KINDS[kind].stoichiometry.items():
            pumped[ion] = pumped.get(ion, 0.0) + per_cycle * rate
    outward = {ion: fluxes.get(ion, 0.0) - pumped.get(ion, 0.0) for ion in {*fluxes, *pumped}}
    charge = sum(VALENCE[ion] * flux for ion, flux in outward.items()) + np.zeros(_V_GRID.shape)  # e/s out
    index, w, at_edge = _rest(charge)

    def at_rest(series) -> float:
        series = np.broadcast_to(series, _V_GRID.shape)
        return float(series[index] + w * (series[index + 1] - series[index]))

    return PumpLeakBalance(v_rest=at_rest(_V_GRID), at_edge=at_edge,
                           pump_cycles=sum(at_rest(rate) for rate in cycles.values()),
                           na_influx=-at_rest(fluxes.get("Na", 0.0)), na_pumped=-at_rest(pumped.get("Na", 0.0)),
                           k_efflux=at_rest(fluxes.get("K", 0.0)), k_pumped=at_rest(pumped.get("K", 0.0)),
                           active_pumps=active)


def _balanced(leak: float, pump: float) -> bool:
    return leak > 0.0 and pump > 0.0 and 1.0 / BALANCE_FACTOR <= leak / pump <= BALANCE_FACTOR


def _pump_balance_warnings(config: Config) -> list[str]:
    blocked_from_start = any(step.at == 0.0 and step.action in ("block", "ouabain")
                             and step.target in {e.kind for e in config.pumps} for step in config.protocol)
    na_k = [entry for entry in config.pumps if PUMP_KINDS[entry.kind].law == "na_k"]
    if blocked_from_start or not any(entry.count > 0 for entry in na_k):
        return []  # no pumps, or pumps blocked on purpose: the cell is meant to run down
    balance = pump_leak_balance(config)
    pumps = [entry for entry in na_k if balance.active_pumps[entry.kind] > 0.0]
    names = " and ".join(f"pumps.{entry.kind}" for entry in pumps)
    volume_L = config.cell.volume_m3 * 1e3
    # ion: (through the channels, by the pumps, words, sign of the net gain inside)
    ions = {"Na": (balance.na_influx, balance.na_pumped, "influx", "efflux", 1.0),
            "K": (balance.k_efflux, balance.k_pumped, "efflux", "influx", -1.0)}

    def drift_time(ion: str) -> float:
        """Seconds for [ion]i to change by 10% at the present net flux."""
        leak, pump, _, _, sign = ions[ion]
        content = getattr(config.inside, ion) * 1e-3 * volume_L * AVOGADRO
        gain = sign * (leak - pump)  # net ions entering per second
        return 0.1 * content / abs(gain) if gain != 0.0 and content > 0.0 else math.inf

    off = [ion for ion, (leak, pump, *_) in ions.items() if not _balanced(leak, pump)]
    # a run too short for any concentration to move by 1% cannot show the drift
    if not off or min(drift_time(ion) for ion in off) > 10.0 * config.run.duration:
        return []

    findings, fixes = [], []
    for ion, (leak, pump, leak_word, pump_word, sign) in ions.items():
        if pump > 0.0 and leak > 0.0:
            ratio = f"{leak / pump:.2g} times"
        elif leak <= 0.0:
            ratio = f"{leak:.3g} ions/s (the wrong way), against"
        else:
            ratio = f"{leak:.3g} ions/s, against no"
        finding = (f"the {ion}+ {leak_word} through the channels is {ratio} the pumps' {ion}+ {pump_word} "
                   f"({pump:.3g} ions/s)")
        if ion in off and math.isfinite(drift_time(ion)):
            rise = sign * (leak - pump) > 0.0
            finding += (f", so inside.{ion} will {'rise' if rise else 'fall'} by 10% in about "
                        f"{_duration(drift_time(ion))}")
        findings.append(finding)
    if "Na" in off:
        if balance.na_influx > 0.0 and balance.na_pumped > 0.0:
            needed = sum(balance.active_pumps[e.kind] for e in pumps) * balance.na_influx / balance.na_pumped
            density = needed / (config.cell.area_m2 * 1e12)
            fixes.append(f"set the density of {names} to about {density:.3g} /um^2")
        else:
            fixes.append(f"use fewer pumps ({names}): they hold V beyond E_Na, where no Na+ enters")
    channel_fixes = []
    for ion in off:
        leak, pump = ions[ion][:2]
        channels = [e for e in config.channels if KINDS[e.kind].ion == ion and e.count > 0]
        if channels and leak > 0.0 and pump > 0.0:
            channel_fixes += [f"channels.{e.kind}.count to about {round(e.count * pump / leak)}" for e in channels]
        elif ion == "K" and leak <= 0.0:
            fixes.append("use fewer pumps or more K+ channels: V sits at or beyond E_K, where no K+ leaves")
        elif not channels:
            fixes.append(f"add {ion}+ channels")
    if channel_fixes:
        fixes.append("set " + " and ".join(channel_fixes))
    where = f"at {balance.v_rest * 1e3:.0f} mV or beyond" if balance.at_edge else f"near {balance.v_rest * 1e3:.1f} mV"
    return [f"{names}: pumps and channels are far from a pump-leak balance (beyond the factor of "
            f"{BALANCE_FACTOR:g} the pump's Na+ saturation can absorb). At the initial concentrations the "
            f"cell rests {where}, where {'; and '.join(findings)}; the run will show this drift, not a "
            f"steady state. For balance at that potential, {', or '.join(fixes)} "
            f"(channelsim.physics.pump_leak_channel_counts gives the channel counts for a chosen potential)."]
