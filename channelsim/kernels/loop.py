"""The hot loop: gating, permeation, electrode and membrane potential, for a segment of steps.

One step, for every compartment and every kind k in it with open count o_k (start-of-step values):
1. V = e * (net elementary charges inside) / C  (charge-difference method; never integrated).
2. Linearise the membrane: I0 = sum_k o_k i_k(V) - I_injected (outward) and G = dI/dV. Over a
   step the linear membrane relaxes exponentially, so the step-averaged voltage is
   V_bar = V - (I0 / G) (1 - phi),  phi = (1 - exp(-x)) / x,  x = G dt / C.
   Fluxes evaluated at V_bar move exactly the charge C dV of the exact linear solution: stable
   and accurate for dt up to and beyond the membrane time constant C / G (exponential Euler).
   Under voltage clamp V_bar is the command.
3. Unidirectional ion counts: Poisson draws with means o_k * rate(V_bar) * dt, one per kind,
   permeant ion and direction (mean_field, or any mode when `Membrane.flux_noise` is off: the
   deterministic mean, with the fractional remainder carried to the next step so counts stay
   integers). Counts are capped at the ions available.
4. Electrode (in its compartment): current clamp delivers its charge as whole K+ ions (fraction carried); voltage
   clamp delivers the K+ ions that bring V back to the command.
   Pumps: Poisson counts of forward and reverse cycles (mean_field: the carried net mean), each
   cycle moving the pump kind's stoichiometry (Na+/K+-ATPase: 3 Na+ out, 2 K+ in; Na+/Ca2+
   exchanger: 1 Ca2+ out, 3 Na+ in) forwards or backwards; their current is part of the
   linearised membrane.
5. Gating at V (clamp: at the command): agent, population or mean_field update. A receptor row
   (a synapse's receptors) gates with its table for transmitter present while its synapse's
   cleft holds transmitter (`Drive.transmitter`), else with its table for transmitter absent.
6. Spike detector (at the electrode's compartment): an upward crossing of the threshold, re-armed
   below the re-arm level.
Counts are int64 and every ion taken from one place is added to another.
"""

import math

import numpy as np
from numba import njit

from channelsim.kernels.agent_events import agent_step_events, expected_transitions, group_by_state
from channelsim.kernels.markov import (
    agent_step_parallel,
    agent_step_serial,
    cumulative_rows,
    mean_field_step,
    population_step,
    transition_matrix,
)
from channelsim.kernels.permeation import OHMIC, outward_current, unidirectional_rates
from channelsim.kernels.pump import cycle_rates
from channelsim.kernels.rng import poisson, stream_key

AGENT = 0
POPULATION = 1
MEAN_FIELD = 2


@njit(cache=True)
def membrane_voltage(counts_in, valence, fixed_charge, capacitance, charge):
    """V = e * (fixed charge + sum_i z_i n_i) / C, with the sum in exact integer arithmetic."""
    net = fixed_charge
    for i in range(counts_in.shape[0]):
        net += valence[i] * counts_in[i]
    return net * charge / capacitance


@njit(cache=True, inline="always")
def _voltages(counts_in, valence, fixed_charge, capacitance, charge, v):
    """Membrane potential (V) of every compartment, into v."""
    for c in range(v.shape[0]):
        v[c] = membrane_voltage(counts_in[c], valence, fixed_charge[c], capacitance[c], charge)


@njit(cache=True, inline="always")
def _concentrations(counts_in, counts_out, volume_in, volume_out, bath, free_fraction, avogadro, c_in, c_out):
    """Inside (free) and outside concentrations (mol/m^3) of every compartment, into c_in and c_out.

    Inside, a fast buffer in equilibrium leaves the share `free_fraction` of an ion's count free.
    """
    for c in range(c_in.shape[0]):
        for i in range(c_in.shape[1]):
            c_in[c, i] = free_fraction[i] * counts_in[c, i] / (avogadro * volume_in[c])
            if volume_out[c] <= 0.0:
                c_out[c, i] = bath[i]
            else:
                c_out[c, i] = counts_out[c, i] / (avogadro * volume_out[c])


@njit(cache=True, inline="always")
def _free_count(free_fraction, count, ion):
    """Free ions of `ion` among `count` inside (all of them without a buffer): the most that can leave."""
    return np.int64(math.floor(free_fraction[ion] * count))


@njit(cache=True, inline="always")
def _pump_rates(pumps, p, v, thermal_v, c_in, c_out):
    """Forward and reverse cycles per second of one active pump of kind p (c_in, c_out: of all compartments)."""
    c, inner, outer = pumps.compartment[p], pumps.inner_ion[p], pumps.outer_ion[p]
    return cycle_rates(pumps.law[p], pumps.max_rate[p], pumps.km_na[p], pumps.km_k[p], pumps.constants[p],
                       c_in[c, inner], c_out[c, inner], c_in[c, outer], c_out[c, outer], v, thermal_v)


@njit(cache=True, inline="always")
def _pump_current(pumps, p, v, membrane, c_in, c_out):
    """Outward current (A) of kind p's active pumps: the charge its stoichiometry moves out per cycle."""
    charge_in = 0
    for i in range(c_in.shape[1]):
        charge_in += membrane.valence[i] * pumps.stoichiometry[p, i]
    forward, reverse = _pump_rates(pumps, p, v, membrane.thermal_v, c_in, c_out)
    return -pumps.active[p] * (forward - reverse) * charge_in * membrane.charge


@njit(cache=True, inline="always")
def _linearise_pumps(pumps, membrane, v, c_in, c_out, current, slope):
    """Add the pumps' outward current (A) and its slope (S) to current[c] and slope[c] of their compartments."""
    h = 1e-5  # V; central difference for the slope conductance
    for p in range(pumps.mode.shape[0]):
        c = pumps.compartment[p]
        current[c] += _pump_current(pumps, p, v[c], membrane, c_in, c_out)
        slope[c] += (_pump_current(pumps, p, v[c] + h, membrane, c_in, c_out)
                     - _pump_current(pumps, p, v[c] - h, membrane, c_in, c_out)) / (2 * h)


@njit(cache=True, inline="always")
def _linearise_channels(channels, valence, constants, v, c_in, c_out, current, slope):
    """Add the open channels' outward current (A) and its slope (S) to current[c] and slope[c].

    `channels`: as for `_permeate`; `constants`: (thermal_v, avogadro, charge).
    """
    h = 1e-5  # V; central difference for the slope conductance of the GHK/ohmic laws
    _, compartment, permeant, permeation, unitary_of, open_counts, _ = channels
    for k in range(compartment.shape[0]):
        open_count = open_counts[k]
        if open_count <= 0.0:
            continue
        c = compartment[k]
        for ion in range(c_in.shape[1]):
            share = permeant[k, ion]
            if share <= 0.0:
                continue
            unitary = share * unitary_of[k]
            args = (permeation[k], unitary, valence[ion], c_in[c, ion], c_out[c, ion])
            current[c] += open_count * outward_current(*args, v[c], *constants)
            if permeation[k] == OHMIC:  # linear: the slope is the conductance
                slope[c] += open_count * unitary
            else:
                slope[c] += open_count * (outward_current(*args, v[c] + h, *constants)
                                          - outward_current(*args, v[c] - h, *constants)) / (2 * h)


@njit(cache=True, inline="always")
def _step_averaged_voltage(v, current, slope, capacitance, dt):
    """V_bar of one compartment's linearised membrane over one step (see module docstring)."""
    if slope <= 0.0:  # no conductance (the pump's slope is small and may be negative)
        return v - 0.5 * current * dt / capacitance
    x = slope * dt / capacitance
    phi = 1.0 - 0.5 * x if x < 1e-8 else -math.expm1(-x) / x
    return v - current / slope * (1.0 - phi)


@njit(cache=True)
def cable_voltages(v, current, slope, capacitance, axial, dt, clamped_site, clamp, v_new, diagonal, rhs):
    """End-of-step voltages of a cable by backward Euler (Hines 1984), into v_new.

    For compartment c with linearised membrane (I0_c outward, slope G_c) and axial conductances
    g to its neighbours:
        (C_c/dt + G_c + sum g) V'_c - sum g V'_neighbour = C_c V_c / dt - I0_c + G_c V_c,
    a tridiagonal system solved by elimination (Thomas algorithm) in O(C). A clamped compartment
    (`clamped_site` >= 0) holds V' = clamp. Unconditionally stable, so dt need not resolve the
    axial RC time (~0.3 us for 5 um of a 1 um axon).
    """
    n = v.shape[0]
    for c in range(n):
        if c == clamped_site:
            diagonal[c] = 1.0
            rhs[c] = clamp
            continue
        own = capacitance[c] / dt + slope[c]
        if c > 0:
            own += axial[c - 1]
        if c < n - 1:
            own += axial[c]
        diagonal[c] = own
        rhs[c] = capacitance[c] / dt * v[c] - current[c] + slope[c] * v[c]
    # forward elimination: the row of c + 1 has -g_c at c (zero for a clamped row)
    for c in range(1, n):
        lower = 0.0 if c == clamped_site else -axial[c - 1]
        upper = 0.0 if c - 1 == clamped_site else -axial[c - 1]  # row c - 1's entry at c
        factor = lower / diagonal[c - 1]
        diagonal[c] -= factor * upper
        rhs[c] -= factor * rhs[c - 1]
    v_new[n - 1] = rhs[n - 1] / diagonal[n - 1]
    for c in range(n - 2, -1, -1):
        upper = 0.0 if c == clamped_site else -axial[c]
        v_new[c] = (rhs[c] - upper * v_new[c + 1]) / diagonal[c]


@njit(cache=True, inline="always")
def _axial_transfer(compartments, membrane, v_new, c_in):
    """Move the step's axial charge between neighbours as counted ions (electrodiffusion).

    The charge g (V'_c - V'_{c+1}) dt crosses each junction, carried by each ion in proportion to
    its transport number z^2 D c / sum(z^2 D c) (concentrations: the junction's mean), plus each
    ion's diffusion D A (c_c - c_{c+1}) / dx. Whole ions move; the fraction is carried to the
    next step, so the transfer is exact over time and no ion is created or lost.
    """
    n_ions = c_in.shape[1]
    for c in range(compartments.axial_conductance.shape[0]):
        charges = compartments.axial_conductance[c] * (v_new[c] - v_new[c + 1]) * membrane.dt / membrane.charge
        total = 0.0
        for i in range(n_ions):
            z = membrane.valence[i]
            total += z * z * membrane.diffusion[i] * 0.5 * (c_in[c, i] + c_in[c + 1, i])
        for i in range(n_ions):
            z = membrane.valence[i]
            weight = z * z * membrane.diffusion[i] * 0.5 * (c_in[c, i] + c_in[c + 1, i])
            moved = charges * weight / total / z if total > 0.0 else 0.0
            moved += (compartments.axial_diffusion[c, i] * (c_in[c, i] - c_in[c + 1, i])
                      * membrane.avogadro * membrane.dt)
            carry = compartments.axial_carry[c]
            carry[i] += moved
            whole = np.int64(math.floor(carry[i]))
            carry[i] -= whole
            if whole > 0:
                whole = min(whole, compartments.counts_in[c, i])
            else:
                whole = max(whole, -compartments.counts_in[c + 1, i])
            compartments.counts_in[c, i] -= whole
            compartments.counts_in[c + 1, i] += whole


@njit(cache=True, inline="always")
def _gate(kinds, membrane, transmitter, step, global_step, v, v_gate_site, site, matrix, edges, new_counts,
          new_occupancy):
    """Advance the gating of every kind by one step; update their open counts.

    Kind k gates at its compartment's v (at the electrode's compartment: `v_gate_site`), with its
    table for transmitter present while its synapse's cleft holds transmitter. One loop over the
    kinds here, not one call per kind: every inlined call copies the `kinds` tuple, an atomic
    reference count per array. `new_counts`, `new_occupancy`: scratch for the population and
    mean-field updates.
    """
    for k in range(kinds.mode.shape[0]):
        n_states = kinds.n_states[k]
        if n_states < 2:
            kinds.open_count[k] = kinds.count[k] - kinds.blocked[k]
            continue
        c = kinds.compartment[k]
        table = kinds.table_row[k]
        if kinds.cleft[k] >= 0 and transmitter[step, kinds.cleft[k]] != 0:
            table += 1
        transition_matrix(kinds.table, table, n_states, v_gate_site if c == site else v[c], membrane.v_min,
                          membrane.v_step, matrix)
        key = stream_key(membrane.seed, global_step, 1 + k)
        mode = kinds.mode[k]
        conducting = kinds.conducting[k]
        if mode == AGENT:
            lo, hi = kinds.agent_offset[k], kinds.agent_offset[k + 1]
            states, blocked = kinds.agent_states[lo:hi], kinds.agent_blocked[lo:hi]
            order, position = kinds.agent_order[lo:hi], kinds.agent_position[lo:hi]
            groups = kinds.agent_group_start[k]
            # measured break-even (tests/benchmarks): events win below ~3% of agents changing per step
            if expected_transitions(groups, matrix, n_states) * 32 < hi - lo:
                n_open, _ = agent_step_events(states, blocked, order, position, groups, matrix, n_states,
                                              conducting, np.int64(kinds.open_count[k]), key)
                kinds.open_count[k] = n_open
                continue
            cumulative_rows(matrix, n_states, edges)  # many changes: one uniform per agent
            if hi - lo >= membrane.parallel_threshold:
                kinds.open_count[k] = agent_step_parallel(states, blocked, edges, n_states, conducting, key)
            else:
                kinds.open_count[k] = agent_step_serial(states, blocked, edges, n_states, conducting, key)
            group_by_state(states, n_states, order, position, groups)
        elif mode == POPULATION:
            key = population_step(kinds.population[k], matrix, n_states, key, new_counts)
            if kinds.blocked[k] > 0:  # blocked channels keep gating, so unblocking finds them in step
                population_step(kinds.population_blocked[k], matrix, n_states, key, new_counts)
            n_open = 0
            for s in range(n_states):
                n_open += conducting[s] * kinds.population[k, s]
            kinds.open_count[k] = n_open
        else:
            mean_field_step(kinds.occupancy[k], matrix, n_states, new_occupancy)
            fraction = 0.0
            for s in range(n_states):
                fraction += conducting[s] * kinds.occupancy[k, s]
            kinds.open_count[k] = (kinds.count[k] - kinds.blocked[k]) * fraction


@njit(cache=True, inline="always")
def _permeate(channels, ions, efflux_total, influx_total, membrane, v_bar, c_in, c_out, flux_state):
    """Draw the unidirectional counts of every permeant ion through the open channels over one step.

    For every kind, between the kind's compartment and the outside next to it. `channels`: the
    kinds' (mode, compartment, permeant, permeation, unitary, open_count, flux_carry); `ions`:
    the compartments' (counts_in, counts_out, volume_out).
    """
    mode, compartment, permeant, permeation, unitary, open_counts, flux_carry = channels
    counts_in, counts_out, volume_out = ions
    for k in range(mode.shape[0]):
        open_count = open_counts[k]
        if open_count <= 0.0:
            continue
        c = compartment[k]
        for ion in range(counts_in.shape[1]):
            share = permeant[k, ion]
            if share <= 0.0:
                continue
            efflux_rate, influx_rate = unidirectional_rates(
                permeation[k], share * unitary[k], membrane.valence[ion], c_in[c, ion], c_out[c, ion],
                v_bar[c], membrane.thermal_v, membrane.avogadro, membrane.charge)
            mean_efflux = open_count * efflux_rate * membrane.dt
            mean_influx = open_count * influx_rate * membrane.dt
            if mode[k] == MEAN_FIELD or not membrane.flux_noise:
                carry = flux_carry[k, ion]
                carry[0] += mean_efflux
                carry[1] += mean_influx
                n_efflux = np.int64(math.floor(carry[0]))
                n_influx = np.int64(math.floor(carry[1]))
                carry[0] -= n_efflux
                carry[1] -= n_influx
            else:
                n_efflux, flux_state = poisson(mean_efflux, flux_state)
                n_influx, flux_state = poisson(mean_influx, flux_state)
            n_efflux = min(n_efflux, _free_count(membrane.free_fraction, counts_in[c, ion], ion))
            if volume_out[c] > 0.0:
                n_influx = min(n_influx, counts_out[c, ion])
            counts_in[c, ion] += n_influx - n_efflux
            counts_out[c, ion] += n_efflux - n_influx
            efflux_total[c, ion] += n_efflux
            influx_total[c, ion] += n_influx
    return flux_state


@njit(cache=True, inline="always")
def _pump(pumps, membrane, ions, v_bar, c_in, c_out, flux_state):
    """Draw the completed pump cycles over one step; `ions`: as for `_permeate`.

    Each cycle moves its whole stoichiometry at once (a cycle is atomic), never more cycles than
    the ions available allow.
    """
    counts_in, counts_out, volume_out = ions
    for p in range(pumps.mode.shape[0]):
        c = pumps.compartment[p]
        forward, reverse = _pump_rates(pumps, p, v_bar[c], membrane.thermal_v, c_in, c_out)
        if pumps.mode[p] == MEAN_FIELD:
            pumps.carry[p] += pumps.active[p] * (forward - reverse) * membrane.dt
            cycles = np.int64(math.floor(pumps.carry[p]))
            pumps.carry[p] -= cycles
        else:
            n_forward, flux_state = poisson(pumps.active[p] * forward * membrane.dt, flux_state)
            n_reverse = np.int64(0)
            if reverse > 0.0:
                n_reverse, flux_state = poisson(pumps.active[p] * reverse * membrane.dt, flux_state)
            cycles = n_forward - n_reverse
        for i in range(counts_in.shape[1]):  # net cycles never move more ions than are there
            moved = pumps.stoichiometry[p, i] * (1 if cycles >= 0 else -1)
            limit = np.int64(-1)
            if moved < 0:
                limit = _free_count(membrane.free_fraction, counts_in[c, i], i) // -moved
            elif moved > 0 and volume_out[c] > 0.0:
                limit = counts_out[c, i] // moved
            if limit >= 0:
                cycles = min(cycles, limit) if cycles >= 0 else max(cycles, -limit)
        for i in range(counts_in.shape[1]):
            counts_in[c, i] += pumps.stoichiometry[p, i] * cycles
            counts_out[c, i] -= pumps.stoichiometry[p, i] * cycles
        pumps.cycles_total[p] += cycles
    return flux_state


@njit(cache=True, inline="always")
def _deliver(counts_in, electrode_total, ion, c, n_ions):
    """Move n ions of the electrode's ion into (n > 0) or out of (n < 0) its compartment c."""
    n_ions = max(n_ions, -counts_in[c, ion])
    counts_in[c, ion] += n_ions
    electrode_total[c, ion] += n_ions


@njit(cache=True, inline="always")
def record_row(records, row, v, compartments, kinds, pumps):
    """Write the state into row `row` of the records (the t = 0 row uses this too); v: (C,) V."""
    # element by element: a slice assignment would allocate a temporary (numba cannot rule out aliasing)
    n_compartments, n_ions = compartments.counts_in.shape
    for c in range(n_compartments):
        records.membrane_potential[row, c] = v[c]
        for i in range(n_ions):
            records.ions_inside[row, c, i] = compartments.counts_in[c, i]
            records.ions_outside[row, c, i] = compartments.counts_out[c, i]
            records.efflux[row, c, i] = compartments.efflux_total[c, i]
            records.influx[row, c, i] = compartments.influx_total[c, i]
            records.electrode[row, c, i] = compartments.electrode_total[c, i]
    for k in range(kinds.open_count.shape[0]):
        records.open_channels[row, k] = kinds.open_count[k]
    for p in range(pumps.cycles_total.shape[0]):
        records.pump_cycles[row, p] = pumps.cycles_total[p]


@njit(cache=True)
def run_segment(first_step, n_steps, record_every, membrane, compartments, kinds, pumps, drive, records):
    """Advance `n_steps` steps from global step `first_step`, recording every `record_every`.

    All state is updated in place; a row is recorded after every global step that is a
    multiple of `record_every`, so segments may start and end anywhere.
    The per-step helpers take the arrays they use, unpacked here once: every inlined call that
    receives a whole state tuple copies it, an atomic reference count per array in it.
    """
    n_compartments, n_ions = compartments.counts_in.shape
    max_states = kinds.table.shape[2]
    matrix = np.zeros((max_states, max_states))
    edges = np.zeros((max_states, max_states + 1), dtype=np.int64)
    new_counts = np.zeros(max_states, dtype=np.int64)
    new_occupancy = np.zeros(max_states)
    v = np.zeros(n_compartments)
    v_bar = np.zeros(n_compartments)
    current = np.zeros(n_compartments)
    slope = np.zeros(n_compartments)
    diagonal = np.zeros(n_compartments)
    rhs = np.zeros(n_compartments)
    c_in = np.zeros((n_compartments, n_ions))
    c_out = np.zeros((n_compartments, n_ions))
    site = membrane.electrode_compartment
    electrode_ion = membrane.electrode_ion
    electrode_valence = membrane.valence[electrode_ion]
    cable = compartments.axial_conductance.shape[0] > 0
    has_pumps = pumps.mode.shape[0] > 0
    valence, charge, dt = membrane.valence, membrane.charge, membrane.dt
    counts_in, counts_out = compartments.counts_in, compartments.counts_out
    fixed_charge, capacitance = compartments.fixed_charge, compartments.capacitance
    volume_in, volume_out, bath = compartments.volume_in, compartments.volume_out, compartments.bath
    efflux_total, influx_total = compartments.efflux_total, compartments.influx_total
    electrode_total, electrode_carry = compartments.electrode_total, compartments.electrode_carry
    armed = compartments.spike_armed
    ions = (counts_in, counts_out, volume_out)
    channels = (kinds.mode, kinds.compartment, kinds.permeant, kinds.permeation, kinds.unitary, kinds.open_count,
                kinds.flux_carry)
    constants = (membrane.thermal_v, membrane.avogadro, charge)
    injected_charge, clamp_voltage, transmitter = drive.injected_charge, drive.clamp_voltage, drive.transmitter
    spike_steps, spike_compartment, spike_count = records.spike_steps, records.spike_compartment, records.spike_count
    row = 0
    for step in range(n_steps):
        global_step = first_step + step
        clamp = clamp_voltage[step]
        clamped = not math.isnan(clamp)
        _voltages(counts_in, valence, fixed_charge, capacitance, charge, v)
        _concentrations(counts_in, counts_out, volume_in, volume_out, bath, membrane.free_fraction, membrane.avogadro,
                        c_in, c_out)
        injected = injected_charge[step] / dt  # A, inward, at the electrode's compartment
        for c in range(n_compartments):  # linearise the membrane: outward current and slope
            current[c] = -injected if c == site else -0.0
            slope[c] = 0.0
        if has_pumps:
            _linearise_pumps(pumps, membrane, v, c_in, c_out, current, slope)
        _linearise_channels(channels, valence, constants, v, c_in, c_out, current, slope)
        if cable:  # fluxes at the implicit end-of-step voltages, consistent with the axial transfer
            cable_voltages(v, current, slope, capacitance, compartments.axial_conductance,
                           dt, site if clamped else -1, clamp, v_bar, diagonal, rhs)
        else:
            for c in range(n_compartments):
                v_bar[c] = _step_averaged_voltage(v[c], current[c], slope[c], capacitance[c], dt)
        if clamped:
            v_bar[site] = clamp  # an ideal clamp holds V through the step
        flux_state = _permeate(channels, ions, efflux_total, influx_total, membrane, v_bar, c_in, c_out,
                               stream_key(membrane.seed, global_step, 0))
        if has_pumps:
            _pump(pumps, membrane, ions, v_bar, c_in, c_out, flux_state)
        if cable:
            _axial_transfer(compartments, membrane, v_bar, c_in)
        if clamped:
            # the clamp supplies the charge that brings V back to the command, as whole ions
            v_site = membrane_voltage(counts_in[site], valence, fixed_charge[site], capacitance[site], charge)
            missing = (clamp - v_site) * capacitance[site]
            _deliver(counts_in, electrode_total, electrode_ion, site,
                     np.int64(round(missing / (electrode_valence * charge))))
        elif injected_charge[step] != 0.0:
            electrode_carry[0] += injected_charge[step] / (electrode_valence * charge)
            whole = np.int64(math.floor(electrode_carry[0]))
            electrode_carry[0] -= whole
            _deliver(counts_in, electrode_total, electrode_ion, site, whole)
        _gate(kinds, membrane, transmitter, step, global_step, v, v_bar[site] if clamped else v[site], site, matrix,
              edges, new_counts, new_occupancy)
        _voltages(counts_in, valence, fixed_charge, capacitance, charge, v)
        for c in range(n_compartments):
            if armed[c] == 1 and v[c] >= membrane.spike_threshold:
                if spike_count[0] < spike_steps.shape[0]:
                    spike_steps[spike_count[0]] = global_step + 1
                    spike_compartment[spike_count[0]] = c
                spike_count[0] += 1
                armed[c] = 0
            elif armed[c] == 0 and v[c] < membrane.spike_rearm:
                armed[c] = 1
        if (global_step + 1) % record_every == 0:
            record_row(records, row, v, compartments, kinds, pumps)
            row += 1
