"""The hot loop: gating, permeation and the membrane potential, for a segment of steps.

One step, for every kind k with open count o_k (start-of-step values):
1. V = e * (net elementary charges inside) / C  (charge-difference method; never integrated).
2. Linearise the membrane: I0 = sum_k o_k i_k(V) (outward current) and G = dI/dV. Over a step
   the linear membrane relaxes exponentially, so the step-averaged voltage is
   V_bar = V - (I0 / G) (1 - phi),  phi = (1 - exp(-x)) / x,  x = G dt / C.
   Fluxes evaluated at V_bar move exactly the charge C dV of the exact linear solution: stable
   and accurate for dt up to and beyond the membrane time constant C / G (exponential Euler).
3. Unidirectional ion counts: Poisson draws with means o_k * rate(V_bar) * dt, one per kind and
   direction (mean_field: the deterministic mean, with the fractional remainder carried to the
   next step so counts stay integers). Counts are capped at the ions available.
4. Gating at V: agent, population or mean_field update from the tabulated matrices.
Counts are int64 and every ion taken from one compartment is added to the other.
"""

import math

import numpy as np
from numba import njit

from channelsim.kernels.markov import (
    agent_step_parallel,
    agent_step_serial,
    cumulative_rows,
    mean_field_step,
    population_step,
    transition_matrix,
)
from channelsim.kernels.permeation import outward_current, unidirectional_rates
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


@njit(cache=True)
def _concentrations(counts_in, counts_out, volume_in, volume_out, bath, avogadro, c_in, c_out):
    for i in range(counts_in.shape[0]):
        c_in[i] = counts_in[i] / (avogadro * volume_in)
        c_out[i] = bath[i] if volume_out <= 0.0 else counts_out[i] / (avogadro * volume_out)


@njit(cache=True)
def _step_averaged_voltage(v, dt, capacitance, open_count, kind_ion, kind_permeation,
                           kind_unitary, valence, c_in, c_out, thermal_v, avogadro, charge):
    """V_bar of the linearised membrane over one step (see module docstring)."""
    h = 1e-5  # V; central difference for the slope conductance of the GHK/ohmic laws
    current = 0.0
    slope = 0.0
    for k in range(open_count.shape[0]):
        if open_count[k] <= 0.0:
            continue
        ion = kind_ion[k]
        args = (kind_permeation[k], kind_unitary[k], valence[ion], c_in[ion], c_out[ion])
        current += open_count[k] * outward_current(*args, v, thermal_v, avogadro, charge)
        slope += open_count[k] * (outward_current(*args, v + h, thermal_v, avogadro, charge)
                                  - outward_current(*args, v - h, thermal_v, avogadro, charge)) / (2 * h)
    if slope <= 0.0:
        return v
    x = slope * dt / capacitance
    phi = 1.0 - 0.5 * x if x < 1e-8 else -math.expm1(-x) / x
    return v - current / slope * (1.0 - phi)


@njit(cache=True)
def run_segment(first_step, n_steps, record_every, dt, seed,
                capacitance, fixed_charge, valence, volume_in, volume_out, bath,
                thermal_v, avogadro, charge,
                counts_in, counts_out, efflux_total, influx_total,
                kind_mode, kind_ion, kind_permeation, kind_unitary, kind_n_states, kind_count,
                conducting, table, v_min, v_step,
                agent_states, agent_offset, population, occupancy, flux_carry, open_count,
                parallel_threshold,
                rec_v, rec_in, rec_out, rec_open, rec_efflux, rec_influx):
    """Advance `n_steps` steps from global step `first_step`, recording every `record_every`.

    All state arrays are updated in place; row r of the rec_* arrays holds the state after
    step (r + 1) * record_every of this segment.
    """
    n_kinds = kind_mode.shape[0]
    n_ions = counts_in.shape[0]
    max_states = table.shape[2]
    matrix = np.zeros((max_states, max_states))
    cumulative = np.zeros((max_states, max_states))
    c_in = np.zeros(n_ions)
    c_out = np.zeros(n_ions)
    row = 0
    for step in range(n_steps):
        global_step = first_step + step
        v = membrane_voltage(counts_in, valence, fixed_charge, capacitance, charge)
        _concentrations(counts_in, counts_out, volume_in, volume_out, bath, avogadro, c_in, c_out)
        v_bar = _step_averaged_voltage(v, dt, capacitance, open_count, kind_ion, kind_permeation,
                                       kind_unitary, valence, c_in, c_out, thermal_v, avogadro, charge)
        flux_state = stream_key(seed, global_step, 0)
        for k in range(n_kinds):
            if open_count[k] <= 0.0:
                continue
            ion = kind_ion[k]
            efflux_rate, influx_rate = unidirectional_rates(
                kind_permeation[k], kind_unitary[k], valence[ion], c_in[ion], c_out[ion], v_bar,
                thermal_v, avogadro, charge)
            mean_efflux = open_count[k] * efflux_rate * dt
            mean_influx = open_count[k] * influx_rate * dt
            if kind_mode[k] == MEAN_FIELD:
                flux_carry[k, 0] += mean_efflux
                flux_carry[k, 1] += mean_influx
                n_efflux = np.int64(math.floor(flux_carry[k, 0]))
                n_influx = np.int64(math.floor(flux_carry[k, 1]))
                flux_carry[k, 0] -= n_efflux
                flux_carry[k, 1] -= n_influx
            else:
                n_efflux, flux_state = poisson(mean_efflux, flux_state)
                n_influx, flux_state = poisson(mean_influx, flux_state)
            n_efflux = min(n_efflux, counts_in[ion])
            if volume_out > 0.0:
                n_influx = min(n_influx, counts_out[ion])
            counts_in[ion] += n_influx - n_efflux
            counts_out[ion] += n_efflux - n_influx
            efflux_total[ion] += n_efflux
            influx_total[ion] += n_influx
        for k in range(n_kinds):
            n_states = kind_n_states[k]
            if n_states < 2:
                continue
            transition_matrix(table, k, n_states, v, v_min, v_step, matrix)
            key = stream_key(seed, global_step, 1 + k)
            if kind_mode[k] == AGENT:
                cumulative_rows(matrix, n_states, cumulative)
                states = agent_states[agent_offset[k]:agent_offset[k + 1]]
                if states.shape[0] >= parallel_threshold:
                    open_count[k] = agent_step_parallel(states, cumulative, n_states, conducting[k], key)
                else:
                    open_count[k] = agent_step_serial(states, cumulative, n_states, conducting[k], key)
            elif kind_mode[k] == POPULATION:
                population_step(population[k], matrix, n_states, key)
                n_open = 0
                for s in range(n_states):
                    n_open += conducting[k, s] * population[k, s]
                open_count[k] = n_open
            else:
                mean_field_step(occupancy[k], matrix, n_states)
                fraction = 0.0
                for s in range(n_states):
                    fraction += conducting[k, s] * occupancy[k, s]
                open_count[k] = kind_count[k] * fraction
        if (step + 1) % record_every == 0:
            rec_v[row] = membrane_voltage(counts_in, valence, fixed_charge, capacitance, charge)
            rec_in[row] = counts_in
            rec_out[row] = counts_out
            rec_open[row] = open_count
            rec_efflux[row] = efflux_total
            rec_influx[row] = influx_total
            row += 1
