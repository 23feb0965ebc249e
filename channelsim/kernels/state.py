"""The kernel's arguments, grouped: numba takes these NamedTuples of scalars and arrays.

Arrays are the live simulation state, updated in place; scalars are constants of a run.
Counts are int64; one-element arrays hold scalars that change (carries, detector state).
"""

from typing import NamedTuple

import numpy as np


class Membrane(NamedTuple):
    """Constants of the run (SI units)."""

    dt: float
    seed: int
    valence: np.ndarray  # (ions,) int64
    free_fraction: np.ndarray  # (ions,) float64 free share of each ion's count inside (fast buffer: 1 / (1 + kappa))
    thermal_v: float  # RT/F
    avogadro: float
    charge: float  # e
    electrode_ion: int  # the ion that carries electrode current (K+)
    electrode_compartment: int  # where the electrode injects or clamps, and the spike detector watches
    spike_threshold: float
    spike_rearm: float
    parallel_threshold: int
    v_min: float  # voltage grid of the transition tables
    v_step: float
    flux_noise: bool  # channel fluxes as Poisson counts (True) or as their means, fraction carried (False)
    diffusion: np.ndarray  # (ions,) float64 m^2/s, in the cytoplasm (scaled to the axial resistivity)


class Compartments(NamedTuple):
    """The cell's compartments, one row each (C of them), and the bath they share."""

    capacitance: np.ndarray  # (C,) float64 F, of each compartment's membrane
    fixed_charge: np.ndarray  # (C,) int64 elementary charges of its impermeant anions
    volume_in: np.ndarray  # (C,) float64 m^3
    volume_out: np.ndarray  # (C,) float64 m^3 of the outside next to it; 0: the clamped bath
    counts_in: np.ndarray  # (C, ions) int64
    counts_out: np.ndarray  # (C, ions) int64; for a bath, the net ions it received
    bath: np.ndarray  # (ions,) float64, mol/m^3
    efflux_total: np.ndarray  # (C, ions) int64, cumulative through channels
    influx_total: np.ndarray
    electrode_total: np.ndarray  # (C, ions) int64, cumulative ions delivered by the electrode
    electrode_carry: np.ndarray  # (1,) float64, fractional ion of injected charge
    spike_armed: np.ndarray  # (C,) int64, the spike detector of each compartment
    axial_conductance: np.ndarray  # (C - 1,) float64 S between compartment c and c + 1 (a cable; else empty)
    axial_diffusion: np.ndarray  # (C - 1, ions) float64 m^3/s: D A / dx of each junction and ion
    axial_carry: np.ndarray  # (C - 1, ions) float64 fractional ions of the axial transfer


class Kinds(NamedTuple):
    """Channel populations, one row per kind and compartment (padded to the largest scheme).

    A config entry on a cable has one row per compartment it covers, in compartment order. A
    synapse's receptors are a row of their own (`cleft` >= 0): each synapse has its own cleft,
    so its receptors see only its own transmitter.
    """

    mode: np.ndarray  # (K,) int64: AGENT, POPULATION, MEAN_FIELD
    compartment: np.ndarray  # (K,) int64 the compartment whose membrane holds the kind
    permeant: np.ndarray  # (K, ions) float64: each ion's share of the unitary value (0: impermeant)
    permeation: np.ndarray  # (K,) int64: GHK, OHMIC
    unitary: np.ndarray  # (K,) float64: permeability (m^3/s) or conductance (S)
    n_states: np.ndarray  # (K,) int64
    count: np.ndarray  # (K,) int64
    conducting: np.ndarray  # (K, S) int64 0/1
    table: np.ndarray  # (tables, grid, S, S) float64 one-step transition matrices
    table_row: np.ndarray  # (K,) int64 the row's table in `table` (receptors: transmitter absent; + 1: present)
    cleft: np.ndarray  # (K,) int64 the synapse whose cleft's transmitter the row sees; -1 for a channel kind
    agent_states: np.ndarray  # (sum of agent-tracked counts,) uint8
    agent_blocked: np.ndarray  # same shape, uint8 1 = blocked
    agent_offset: np.ndarray  # (K + 1,) int64
    agent_order: np.ndarray  # agents grouped by state, per kind (see agent_events); int32 below 2^31 agents
    agent_position: np.ndarray  # each agent's index in agent_order, per kind; as agent_order
    agent_group_start: np.ndarray  # (K, S + 1) int64 start of each state's group
    population: np.ndarray  # (K, S) int64 unblocked channels per state
    population_blocked: np.ndarray  # (K, S) int64 blocked channels per state
    occupancy: np.ndarray  # (K, S) float64 mean-field state fractions
    blocked: np.ndarray  # (K,) int64 blocked channels
    flux_carry: np.ndarray  # (K, ions, 2) float64 mean-field fractional efflux, influx
    open_count: np.ndarray  # (K,) float64 open, unblocked channels


class Pumps(NamedTuple):
    """Pump populations, one row per kind.

    Independent pumps cycling as Poisson processes: the cycles of all active pumps of a kind in a
    step are one Poisson draw.
    """

    mode: np.ndarray  # (P,) int64: AGENT, POPULATION, MEAN_FIELD
    compartment: np.ndarray  # (P,) int64
    law: np.ndarray  # (P,) int64 rate law: NA_K, NCX, PMCA (kernels.pump)
    constants: np.ndarray  # (P, 4) float64 the law's constants (NCX: K_mNa, K_mCa mol/m^3, k_sat, eta; PMCA: K_m)
    stoichiometry: np.ndarray  # (P, ions) int64 ions into the cell per cycle (Na+/K+-ATPase: -3 Na, +2 K)
    inner_ion: np.ndarray  # (P,) int64 the ion a forward cycle binds inside (Na+/K+-ATPase: Na+)
    outer_ion: np.ndarray  # (P,) int64 the ion a forward cycle binds outside (Na+/K+-ATPase: K+)
    active: np.ndarray  # (P,) int64 pumps not blocked
    max_rate: np.ndarray  # (P,) float64 1/s
    km_na: np.ndarray  # (P,) float64 mol/m^3
    km_k: np.ndarray  # (P,) float64 mol/m^3
    cycles_total: np.ndarray  # (P,) int64 cumulative net completed cycles (forward minus reverse)
    carry: np.ndarray  # (P,) float64 mean-field fractional cycle


class Drive(NamedTuple):
    """What the protocol imposes on each step of a segment."""

    injected_charge: np.ndarray  # (steps,) C delivered into the cell by current clamp
    clamp_voltage: np.ndarray  # (steps,) V held by voltage clamp, NaN where free
    transmitter: np.ndarray  # (steps, synapses) uint8 1 where a synapse's cleft holds transmitter


class Records(NamedTuple):
    """Rows written every `record_every` steps, and the spikes of the segment."""

    membrane_potential: np.ndarray  # (rows, C)
    ions_inside: np.ndarray  # (rows, C, ions)
    ions_outside: np.ndarray  # (rows, C, ions)
    open_channels: np.ndarray  # (rows, K)
    efflux: np.ndarray  # (rows, C, ions)
    influx: np.ndarray  # (rows, C, ions)
    electrode: np.ndarray  # (rows, C, ions)
    pump_cycles: np.ndarray  # (rows, P)
    spike_steps: np.ndarray  # global step index of each upward threshold crossing
    spike_compartment: np.ndarray  # the compartment of each crossing
    spike_count: np.ndarray  # (1,) int64
