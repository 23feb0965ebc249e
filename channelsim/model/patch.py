"""MembranePatch: the Mesa model that owns a run's state and advances itself.

It holds the two compartments (integer ion counts), the channel, synapse and pump populations
(Mesa agents over arrays) and the protocol, and advances with the numba kernels
(`advance(n_steps)`, or Mesa's `step()`: one recording interval). Whatever it records is
computed by the declarations in `channelsim.recording.layout`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from channelsim.channels.pump import PUMP_KINDS
from channelsim.config import Config, load_config
from channelsim.config.loading import parse_config
from channelsim.config.schema import OpenClose
from channelsim.constants import AVOGADRO, ELEMENTARY_CHARGE, FARADAY, GAS_CONSTANT, IONS, MAX_SEED, VALENCE
from channelsim.errors import ConfigError, StateOutOfRange
from channelsim.kernels.agent_events import group_by_state
from channelsim.kernels.loop import AGENT, MEAN_FIELD, POPULATION, membrane_voltage, record_row, run_segment
from channelsim.kernels.markov import agent_step_serial, cumulative_rows, population_step
from channelsim.kernels.permeation import GHK, OHMIC
from channelsim.kernels.pump import NA_K, NCX, PMCA
from channelsim.kernels.rng import stream_key
from channelsim.kernels.state import Compartments, Drive, Kinds, Membrane, Pumps, Records
from channelsim.model.dependencies import mesa
from channelsim.model.populations import (
    ChannelPopulation,
    ChannelView,
    PumpPopulation,
    SynapsePopulation,
    open_in_row,
)
from channelsim.model.tables import V_MIN, V_POINTS, V_STEP, stationary_distribution, transition_table
from channelsim.physics import glycoside_blocked_fraction
from channelsim.protocol import Schedule
from channelsim.recording.layout import Rows, constants_of, series_of

TRACKING_CODES = {"agent": AGENT, "population": POPULATION, "mean_field": MEAN_FIELD}
PUMP_LAWS = {"na_k": NA_K, "ncx": NCX, "pmca": PMCA}
PERMEATION_CODES = {"ghk": GHK, "ohmic": OHMIC}
#: Initial-state draws use steps from 2^62 on, beyond any simulated step.
INITIAL_STEP = 2**62
#: Agent arrays at least this long are updated in parallel: a parallel region costs ~8 us to
#: enter; measured break-even on 2 cores near 1e5 (tests/benchmarks).
PARALLEL_THRESHOLD = 100_000
#: Electrode current is carried by K+: whole-cell pipettes are filled with K+-based solutions
#: (K-gluconate or KCl) and K+ is the main cytosolic cation, so its counts change least.
ELECTRODE_ION = "K"
#: Spike detector: upward crossing of 0 mV, re-armed below -30 mV (as in the peer workloads).
SPIKE_THRESHOLD_V = 0.0
SPIKE_REARM_V = -0.030
#: One kernel call covers at most this many steps (bounds the per-step protocol arrays: 16 MB).
MAX_KERNEL_STEPS = 2**20
#: ... and at most this many steps times synapses (the transmitter array, 1 byte each: 16 MB).
MAX_TRANSMITTER_CELLS = 2**24
#: A kernel call is sized from the speed of the previous ones to take about this long (s), so
#: that `advance` sees a stop request (Ctrl-C) within about a second whatever the model's size.
KERNEL_CALL_SECONDS = 0.25
#: Diffusion coefficients of the ions in water at 25 degC (m^2/s; Hille 2001, Table 14.1, from the
#: CRC Handbook): K+ 1.96, Na+ 1.33, Cl- 2.03, Ca2+ 0.79 x 1e-9. On a cable they are scaled by one
#: factor so that the cytoplasm's conductivity F^2/(RT) sum z^2 D c matches its axial resistivity
#: (the counted ions stand for every mobile species of the cytoplasm).
DIFFUSION_M2_PER_S = {"K": 1.96e-9, "Na": 1.33e-9, "Cl": 2.03e-9, "Ca": 0.79e-9}
#: The physical range of a run's state: |V| beyond 1 V breaks any membrane, and counts near
#: 2^62 are about to overflow int64. A run that leaves it stops with `StateOutOfRange`.
MAX_VOLTAGE = 1.0
MAX_STATE_COUNT = 2**62


@dataclass(frozen=True)
class Segment:
    """What an advance recorded.

    The rows' times (s), every declared series, the spike times (s) and the number of steps
    advanced.
    """

    time: np.ndarray
    rows: dict[str, np.ndarray]
    spike_time: np.ndarray
    steps: int

    @staticmethod
    def join(parts: list[Segment]) -> Segment:
        """Join consecutive segments into one (a single part is returned as it is)."""
        if len(parts) == 1:
            return parts[0]
        return Segment(np.concatenate([p.time for p in parts]),
                       {name: np.concatenate([p.rows[name] for p in parts]) for name in parts[0].rows},
                       np.concatenate([p.spike_time for p in parts]), sum(p.steps for p in parts))


def _records(n_rows: int, n_compartments: int, n_ions: int, n_kinds: int, n_pumps: int, n_steps: int) -> Records:
    """Empty raw rows for the kernel to fill (kinds and pumps: kernel rows, one per compartment on a cable)."""
    per_ion = (n_rows, n_compartments, n_ions)
    return Records(
        membrane_potential=np.zeros((n_rows, n_compartments)),
        ions_inside=np.zeros(per_ion, dtype=np.int64),
        ions_outside=np.zeros(per_ion, dtype=np.int64),
        open_channels=np.zeros((n_rows, n_kinds)),
        efflux=np.zeros(per_ion, dtype=np.int64),
        influx=np.zeros(per_ion, dtype=np.int64),
        electrode=np.zeros(per_ion, dtype=np.int64),
        pump_cycles=np.zeros((n_rows, n_pumps), dtype=np.int64),
        spike_steps=np.zeros(n_compartments * (n_steps // 2 + 1), dtype=np.int64),  # a spike takes >= 2 steps
        spike_compartment=np.zeros(n_compartments * (n_steps // 2 + 1), dtype=np.int64),
        spike_count=np.zeros(1, dtype=np.int64),
    )


def _last_row(raw: Records) -> Records:
    """Return the last of some raw rows as one-row records (without spikes): what the next rows follow."""
    rows = {name: getattr(raw, name)[-1:].copy() for name in Records._fields if not name.startswith("spike")}
    spikes = raw.membrane_potential.shape[1]  # as `_records(1, C, ..., 0)` holds: one per compartment
    return raw._replace(spike_steps=np.zeros(spikes, dtype=np.int64),
                        spike_compartment=np.zeros(spikes, dtype=np.int64), spike_count=np.zeros(1, dtype=np.int64),
                        **rows)


def _resolve(config: Config | str | Path, settings: dict | None) -> Config:
    """Return a Config from a Config, a path or TOML text, with `--set`-style settings applied."""
    if not isinstance(config, Config):
        config = load_config(config)
    return config.updated(settings) if settings else config


class MembranePatch(mesa.Model):
    """A cell's membrane, its compartments, the outside and the channel and pump populations, for one run.

    Parameters
    ----------
    config : Config, path or TOML text
        The experiment; `settings` (e.g. ``{"outside.K": "20 mM"}``, keys as in ``--set``) are
        applied to it first, so `mesa.batch_run` can sweep them.
    seed, rng : int, optional
        The run's seed (Mesa's conventions: give one or neither; default ``run.seed`` of the
        config). The same seed gives the same run as ``channelsim run --seed``.

    The simulation state lives in the kernel's NamedTuples (`membrane`, `compartments`, `kinds`,
    `pumps`); the voltage is always computed from the counts, never stored. Protocol events due
    at t = 0 are applied on construction, later ones when the run reaches them.
    """

    def __init__(self, config: Config | str | Path, seed: int | None = None, *, rng: int | None = None,
                 settings: dict | None = None, force_large: bool = False):
        if seed is not None and rng is not None:
            raise ValueError("give seed or rng, not both")
        config = _resolve(config, settings)
        seed = checked_seed(seed if seed is not None else rng if rng is not None else config.run.seed,
                            "seed" if seed is not None else "rng" if rng is not None else "run.seed")
        from channelsim.resources import check_memory, model_bytes

        check_memory(config, force=force_large)  # before any per-channel array is allocated
        self.model_bytes = model_bytes(config)
        super().__init__(rng=seed)
        self.config = config.model_copy(update={"run": config.run.model_copy(update={"seed": seed})})
        self.run_seed = seed
        self.schedule = Schedule(self.config)
        self.step_index = 0
        self._next_event = 0
        self._call_steps = 64  # steps of the next kernel call, tuned by KERNEL_CALL_SECONDS
        self._build_populations()
        self._build_compartments()
        self._build_kinds()
        self._build_pumps()
        self.compartments.spike_armed[self.compartment_voltages() >= SPIKE_THRESHOLD_V] = 0  # crossings from below
        self._apply_due_events()
        self.initial_bath_concentration = self.compartments.bath.copy()
        self.initial_counts = self.counts_by_kind()
        self._previous_row = self._record_now()
        self.datacollector = mesa.DataCollector(model_reporters={
            name: name for name in ("simulated_time", "membrane_potential", "ions_inside", "ions_outside")})
        self.datacollector.collect(self)

    # -- construction ---------------------------------------------------------------------------

    def _build_populations(self) -> None:
        """Build the Mesa agents in a canonical (alphabetical) order of kinds.

        The order of the config's entries cannot change the random streams, the floating-point
        sums or the results.
        """
        self.geometry = self.config.cell.geometry  # None unless the cell is a cable
        capacity = self._capacities()
        self.populations: list[ChannelPopulation] = []
        row = 0
        for index, entry in enumerate(sorted(self.config.channels, key=lambda e: e.kind)):
            population = ChannelPopulation(self, index, entry, capacity[entry.kind])
            population.place(row, *self._spread(entry))
            self.populations.append(population)
            row += len(population.row_counts)
        self.synapse_populations: list[SynapsePopulation] = []  # their kernel rows follow the channels'
        for index, entry in enumerate(sorted(self.config.synapses, key=lambda e: e.name)):
            self.synapse_populations.append(SynapsePopulation(self, index, entry, row,
                                                              self.schedule.first_synapse[entry.name]))
            row += entry.count
        pumps = sorted(self.config.pumps, key=lambda e: e.kind)
        self.pump_populations, row = [], 0
        for index, entry in enumerate(pumps):
            population = PumpPopulation(self, index, entry)
            population.place(row, *self._spread(entry))
            self.pump_populations.append(population)
            row += len(population.row_counts)
        self.ouabain_blocked = np.zeros(len(pumps))  # each pump kind's current binding probability

    def _capacities(self) -> dict[str, int]:
        """Return the most channels of each kind on the membrane at any time (the `open` and `close` steps)."""
        present = {entry.kind: entry.count for entry in self.config.channels}
        capacity = dict(present)
        for event in self.schedule.events:
            if isinstance(event.action, OpenClose):
                kind = event.action.target
                present[kind] += event.action.count if event.action.action == "open" else -event.action.count
                capacity[kind] = max(capacity[kind], present[kind])
        return capacity

    def _spread(self, entry) -> tuple[np.ndarray, np.ndarray]:
        """Return the compartments an entry covers and its channels or pumps in each (kernel rows).

        One compartment unless the cell is a cable; on a cable the entry's count is shared among
        the compartments of its region in proportion to their membrane areas (cumulative rounding,
        so the parts add up to the count), and compartments left without any get no row.
        """
        if self.geometry is None:
            return np.zeros(1, dtype=np.int64), np.array([entry.count], dtype=np.int64)
        where = np.flatnonzero(self.geometry.in_region(entry.region))
        area = self.geometry.area[where]
        edges = np.round(np.cumsum(area) / area.sum() * entry.count).astype(np.int64)
        counts = np.diff(np.concatenate([[0], edges]))
        keep = counts > 0
        keep[0] |= not keep.any()
        return where[keep].astype(np.int64), counts[keep]

    def _build_compartments(self) -> None:
        """Build the cell's compartments: one, or a cable's (`channelsim.config.geometry`).

        Each compartment holds its own ions and impermeant anions; on a cable neighbours exchange
        ions through the cytoplasm (`Compartments.axial_conductance`, `axial_diffusion`).
        """
        config, cell, geometry = self.config, self.config.cell, self.geometry
        if geometry is None:
            capacitance, volume = np.array([cell.capacitance_F]), np.array([cell.volume_m3])
        else:
            capacitance, volume = geometry.capacitance, geometry.volume
        n, n_ions = len(volume), len(IONS)
        outside_volume = config.outside.volume or 0.0  # 0: a clamped bath
        volume_out = outside_volume * volume / volume.sum()  # a finite outside shared as the inside is
        bath = np.array([getattr(config.outside, ion) for ion in IONS])
        zeros = np.zeros((n, n_ions), dtype=np.int64)
        inside = np.array([getattr(config.inside, ion) for ion in IONS])
        # a buffered ion's count holds its free and its bound ions: free / free_fraction
        free_fraction = np.array([1.0 / (1.0 + config.inside.ca_binding_ratio) if ion == "Ca" else 1.0 for ion in IONS])
        counts_in = np.array([[round(inside[i] * AVOGADRO * v / free_fraction[i]) for i in range(n_ions)]
                              for v in volume], dtype=np.int64)
        valence = np.array([VALENCE[ion] for ion in IONS], dtype=np.int64)
        anions = [self._impermeant_anions(counts_in[c], valence, capacitance[c]) for c in range(n)]
        self.impermeant_count = sum(count for count, _ in anions)
        diffusion = np.array([DIFFUSION_M2_PER_S[ion] for ion in IONS])
        thermal_v = GAS_CONSTANT * cell.temperature / FARADAY
        if geometry is None:
            axial, axial_diffusion = np.zeros(0), np.zeros((0, n_ions))
        else:
            conductivity = FARADAY / thermal_v * float(np.sum(valence**2 * diffusion * inside))  # S/m
            diffusion = diffusion / (cell.axial_resistivity * conductivity)
            cross_section = np.pi * cell.diameter**2 / 4
            spacing = (geometry.length[:-1] + geometry.length[1:]) / 2
            axial = geometry.axial_conductance
            axial_diffusion = (cross_section / spacing)[:, None] * diffusion[None, :]
        self.compartments = Compartments(
            capacitance=np.asarray(capacitance, dtype=np.float64),
            fixed_charge=np.array([charge for _, charge in anions], dtype=np.int64),
            volume_in=np.asarray(volume, dtype=np.float64), volume_out=volume_out,
            counts_in=counts_in,
            counts_out=zeros.copy() if outside_volume == 0.0 else np.round(
                bath[None, :] * AVOGADRO * volume_out[:, None]).astype(np.int64),
            bath=bath, efflux_total=zeros.copy(), influx_total=zeros.copy(), electrode_total=zeros.copy(),
            electrode_carry=np.zeros(1), spike_armed=np.ones(n, dtype=np.int64),
            axial_conductance=np.asarray(axial, dtype=np.float64), axial_diffusion=axial_diffusion,
            axial_carry=np.zeros((len(axial), n_ions)),
        )
        self.membrane = Membrane(
            dt=config.run.dt, seed=np.int64(self.run_seed), valence=valence,  # one fixed type: one compiled kernel
            free_fraction=free_fraction,
            thermal_v=thermal_v, avogadro=AVOGADRO, charge=ELEMENTARY_CHARGE,
            electrode_ion=IONS.index(ELECTRODE_ION), electrode_compartment=config.electrode_compartment,
            spike_threshold=SPIKE_THRESHOLD_V, spike_rearm=SPIKE_REARM_V, parallel_threshold=PARALLEL_THRESHOLD,
            v_min=V_MIN, v_step=V_STEP, flux_noise=config.run.flux_noise, diffusion=diffusion,
        )

    def _impermeant_anions(self, counts_in: np.ndarray, valence: np.ndarray, capacitance: float) -> tuple[int, int]:
        """Amount of A (valence z_A < 0) that makes the inside's net charge C V0 / e."""
        z = self.config.inside.impermeant_valence
        target = capacitance * self.config.cell.initial_voltage / ELEMENTARY_CHARGE
        mobile = int(valence @ counts_in)
        count = round((target - mobile) / z)
        if count < 0:
            raise ConfigError("inside", "the listed anions outweigh the cations, so no amount of "
                              "impermeant anions can give the initial voltage",
                              "raise inside K or Na, or lower inside Cl")
        return count, z * count

    def _kernel_rows(self) -> list[dict]:
        """Describe every row of the kernel's `Kinds`: each channel kind (per compartment), then each synapse.

        Each row names its scheme, tracking, members (`count`) and agent slots (`slots`), permeant
        ions, permeation, unitary value, its table (the index into `tables`) and its synapse (-1
        for none). `tables` lists (scheme, transmitter concentration, config field) per table: one
        per channel kind, two (transmitter absent, present) per synapse entry, shared by its synapses.
        """
        rows, self._tables = [], []
        for p in self.populations:  # one row per compartment it covers (`place`; one unless a cable)
            for c, n in zip(p.row_compartments, p.row_counts, strict=True):
                rows.append({"scheme": p.scheme, "tracking": p.tracking, "count": int(n),
                             "slots": p.capacity if len(p.row_counts) == 1 else int(n),
                             "permeant": p.permeant_ions, "permeation": p.entry.permeation, "unitary": p.unitary,
                             "table": len(self._tables), "cleft": -1, "compartment": int(c)})
            self._tables.append((p.scheme, 0.0, f"channels.{p.kind}"))
        for s in self.synapse_populations:
            table = len(self._tables)
            field = f"synapses.{s.name}"
            self._tables += [(s.scheme, 0.0, field), (s.scheme, s.entry.transmitter, field)]
            rows += [{"scheme": s.scheme, "tracking": s.tracking, "count": s.receptors, "slots": s.receptors,
                      "permeant": s.permeant_ions, "permeation": s.entry.permeation, "unitary": s.unitary,
                      "table": table, "cleft": s.first_synapse + j, "compartment": 0} for j in range(s.count)]
        return rows

    def _build_kinds(self) -> None:
        """Create `self.kinds` with the tables and the channels and receptors in their initial states."""
        rows = self._kernel_rows()
        n_kinds = len(rows)
        max_states = max([len(r["scheme"].states) for r in rows], default=1)
        temperature = self.config.cell.temperature
        agent_sizes = [r["slots"] if r["tracking"] == "agent" else 0 for r in rows]
        offsets = np.concatenate([[0], np.cumsum(agent_sizes)]).astype(np.int64)
        # an agent's place in its kind's state groups: 4 bytes while a kind has < 2^31 agents
        index = np.int32 if max(agent_sizes, default=0) < 2**31 else np.int64
        permeant = np.zeros((n_kinds, len(IONS)))
        for k, r in enumerate(rows):
            for ion, share in r["permeant"].items():
                permeant[k, IONS.index(ion)] = share
        kinds = Kinds(
            mode=np.array([TRACKING_CODES[r["tracking"]] for r in rows], dtype=np.int64),
            compartment=np.array([r["compartment"] for r in rows], dtype=np.int64),
            permeant=permeant,
            permeation=np.array([PERMEATION_CODES[r["permeation"]] for r in rows], dtype=np.int64),
            unitary=np.array([r["unitary"] for r in rows], dtype=np.float64),
            n_states=np.array([len(r["scheme"].states) for r in rows], dtype=np.int64),
            count=np.array([r["count"] for r in rows], dtype=np.int64),
            conducting=np.zeros((n_kinds, max_states), dtype=np.int64),
            table=np.zeros((len(self._tables), V_POINTS if self._tables else 2, max_states, max_states)),
            table_row=np.array([r["table"] for r in rows], dtype=np.int64),
            cleft=np.array([r["cleft"] for r in rows], dtype=np.int64),
            agent_states=np.zeros(offsets[-1], dtype=np.uint8),
            agent_blocked=np.zeros(offsets[-1], dtype=np.uint8),
            agent_offset=offsets,
            agent_order=np.zeros(offsets[-1], dtype=index),
            agent_position=np.zeros(offsets[-1], dtype=index),
            agent_group_start=np.zeros((n_kinds, max_states + 1), dtype=np.int64),
            population=np.zeros((n_kinds, max_states), dtype=np.int64),
            population_blocked=np.zeros((n_kinds, max_states), dtype=np.int64),
            occupancy=np.zeros((n_kinds, max_states)),
            blocked=np.zeros(n_kinds, dtype=np.int64),
            flux_carry=np.zeros((n_kinds, len(IONS), 2)),
            open_count=np.zeros(n_kinds),
        )
        self.kinds = kinds
        #: 1 for an agent slot that holds no channel (see `ChannelPopulation.insert`), aligned with agent_states
        self.agent_absent = np.zeros(offsets[-1], dtype=np.uint8)
        for t, (scheme, transmitter, field) in enumerate(self._tables):
            n = len(scheme.states)
            kinds.table[t, :, :n, :n] = transition_table(scheme, temperature, self.membrane.dt, transmitter)
            if not np.all(np.isfinite(kinds.table[t])):
                raise ConfigError(field, "its gating rates overflow at this temperature and time step",
                                  "check the entry's rates (mean_open_time, open_probability, transmitter) and "
                                  "run.dt")
        v0, steady = self.voltage, {}
        for k, r in enumerate(rows):
            scheme, n = r["scheme"], len(r["scheme"].states)
            kinds.conducting[k, :n] = scheme.conducting_mask
            # channels start in their steady state at the initial voltage, receptors without transmitter
            # (computed once per table: a cable's rows of one kind share it)
            if r["table"] not in steady:
                steady[r["table"]] = stationary_distribution(scheme, v0, temperature)
            pi = steady[r["table"]]
            key = np.uint64(stream_key(np.int64(self.run_seed), np.int64(INITIAL_STEP + k), np.int64(0)))
            if r["tracking"] == "agent":
                lo, hi = offsets[k], offsets[k + 1]
                states, blocked = kinds.agent_states[lo:hi], kinds.agent_blocked[lo:hi]
                edges = np.zeros((max_states, max_states + 1), dtype=np.int64)
                cumulative_rows(np.tile(pi, (max_states, 1)), n, edges)
                agent_step_serial(states, blocked, edges, n, kinds.conducting[k], key)
                self.agent_absent[lo + r["count"]:hi] = 1  # slots for channels that `open` inserts later
                blocked[r["count"]:] = 1
                group_by_state(states, n, kinds.agent_order[lo:hi], kinds.agent_position[lo:hi],
                               kinds.agent_group_start[k])
            elif r["tracking"] == "population":
                kinds.population[k, 0] = r["count"]
                population_step(kinds.population[k], np.tile(pi, (n, 1)), n, key, np.zeros(n, dtype=np.int64))
            else:
                kinds.occupancy[k, :n] = pi
            kinds.open_count[k] = open_in_row(kinds, k)

    def _build_pumps(self) -> None:
        """Create `self.pumps`: one kernel row per pump population and compartment."""
        rows = [(p, int(c), int(n)) for p in self.pump_populations
                for c, n in zip(p.row_compartments, p.row_counts, strict=True)]
        entries = [p.entry for p, _, _ in rows]
        kinds = [PUMP_KINDS[e.kind] for e in entries]
        #: ions into the cell per cycle of each kernel row
        self.pump_stoichiometry = np.array([[kind.stoichiometry.get(ion, 0) for ion in IONS] for kind in kinds],
                                           dtype=np.int64).reshape(len(kinds), len(IONS))
        self.pumps = Pumps(
            mode=np.array([TRACKING_CODES[e.tracking] for e in entries], dtype=np.int64),
            compartment=np.array([c for _, c, _ in rows], dtype=np.int64),
            law=np.array([PUMP_LAWS[kind.law] for kind in kinds], dtype=np.int64),
            constants=np.array([list(kind.law_constants) + [0.0] * (4 - len(kind.law_constants)) for kind in kinds],
                               dtype=np.float64).reshape(len(kinds), 4),
            stoichiometry=self.pump_stoichiometry,
            inner_ion=np.array([IONS.index(kind.inner_ion) for kind in kinds], dtype=np.int64),
            outer_ion=np.array([IONS.index(kind.outer_ion) for kind in kinds], dtype=np.int64),
            active=np.array([n for _, _, n in rows], dtype=np.int64),
            max_rate=np.array([e.max_turnover for e in entries], dtype=np.float64),
            km_na=np.array([e.half_saturation_na or 0.0 for e in entries], dtype=np.float64),
            km_k=np.array([e.half_saturation_k or 0.0 for e in entries], dtype=np.float64),
            cycles_total=np.zeros(len(entries), dtype=np.int64),
            carry=np.zeros(len(entries)),
        )

    # -- advancing ------------------------------------------------------------------------------

    @property
    def total_steps(self) -> int:
        """Time steps of the whole run (records times steps per record)."""
        run = self.config.run
        return run.n_records * run.steps_per_record

    @property
    def finished(self) -> bool:
        """Whether the run has reached its last step."""
        return self.step_index >= self.total_steps

    def advance(self, n_steps: int, stop: Callable[[], bool] | None = None) -> Segment:
        """Advance by `n_steps` time steps (at most to the end of the run).

        Protocol events are applied as they fall due; returns the rows recorded on the way.

        `stop`, if given, is asked after every kernel call (each sized to take about
        `KERNEL_CALL_SECONDS`); when it returns True, `advance` returns early with what it did.
        Raises `StateOutOfRange` when the state leaves the physical range.
        """
        end = min(self.step_index + n_steps, self.total_steps)
        parts = []
        while self.step_index < end:
            self._apply_due_events()
            upcoming = self.schedule.next_event_step(self.step_index)
            longest = min(MAX_KERNEL_STEPS, self._call_steps,
                          max(1, MAX_TRANSMITTER_CELLS // max(1, self.schedule.synapse_count)))
            stop_at = min(end, self.step_index + longest, upcoming if upcoming is not None else end)
            started = time.perf_counter()
            parts.append(self._kernel(stop_at - self.step_index))
            self._tune_call_steps(parts[-1].steps, time.perf_counter() - started)
            if stop is not None and stop():
                break
        return Segment.join(parts) if parts else self._kernel(0)

    def _tune_call_steps(self, steps: int, seconds: float) -> None:
        """Size the next kernel call from the speed of this one.

        The call is made about KERNEL_CALL_SECONDS long, at most 4 times the last size (a call's
        time is noisy; the first one loads the kernels).
        """
        rate = steps / max(seconds, 1e-6)
        self._call_steps = int(max(1, min(4 * max(steps, self._call_steps // 4), rate * KERNEL_CALL_SECONDS)))

    def step(self) -> None:
        """Advance one recording interval (Mesa's step), then collect.

        The interval's rows are in `last_segment`; `running` turns False at the end of the run.
        """
        self.last_segment = self.advance(self.config.run.steps_per_record)
        self.running = not self.finished
        self.datacollector.collect(self)

    def _kernel(self, n_steps: int) -> Segment:
        """Run the kernel for n_steps (no protocol event falls inside them) and compute the rows."""
        run, first = self.config.run, self.step_index
        every = run.steps_per_record
        row_steps = every * np.arange(first // every + 1, (first + n_steps) // every + 1)
        raw = self._empty_records(len(row_steps), n_steps)
        if n_steps:
            drive = Drive(injected_charge=self.schedule.injected_charge(first, n_steps, run.dt),
                          clamp_voltage=self.schedule.clamp_voltage(first, n_steps, run.dt),
                          transmitter=self.schedule.transmitter(first, n_steps))
            run_segment(first, n_steps, every, self.membrane, self.compartments, self.kinds, self.pumps, drive, raw)
            self.step_index += n_steps
        segment = self._segment(raw, self._previous_row, row_steps, n_steps)
        if n_steps:
            self._check_range(segment)
        if len(row_steps):
            self._previous_row = _last_row(raw)
        return segment

    def _check_range(self, segment: Segment) -> None:
        """Stop (StateOutOfRange) when the state has left the physical range.

        Out of range: |V| beyond MAX_VOLTAGE at a recorded row or now, a negative count (of ions; net
        pump cycles may be negative), or a count near int64 overflow.
        """
        c, pumps = self.compartments, self.pumps
        v = np.append(segment.rows["membrane_potential"], self.voltage)
        if not np.all(np.abs(v) <= MAX_VOLTAGE):
            row = int(np.argmax(~(np.abs(v) <= MAX_VOLTAGE)))
            t = segment.time[row] if row < len(segment.time) else self.simulated_time
            raise StateOutOfRange(f"at t = {t:.6g} s the membrane potential reached {v[row]:.3g} V, beyond the "
                                  f"{MAX_VOLTAGE:g} V any membrane could hold: the currents are too large for this "
                                  "cell, or the time step too coarse (check the current clamps, the channel and pump "
                                  "counts and run.dt)")
        finite_outside = c.volume_out > 0
        checks = (("ions inside", c.counts_in, True), ("ions outside", c.counts_out[finite_outside], True),
                  ("ions the bath received", c.counts_out[~finite_outside], False),
                  ("ions that left through channels", c.efflux_total, True),
                  ("ions that entered through channels", c.influx_total, True),
                  ("ions the electrode delivered", c.electrode_total, False),
                  ("pump cycles", pumps.cycles_total, False))  # net: an exchanger's reverse cycles count down
        for what, counts, non_negative in checks:
            if (non_negative and np.any(counts < 0)) or np.any(np.abs(counts) >= MAX_STATE_COUNT):
                raise StateOutOfRange(f"at t = {self.simulated_time:.6g} s the count of {what} left its range "
                                      f"(0 to 2^62, within 64-bit integers): {counts.ravel().tolist()}; the fluxes are "
                                      "too large for this cell (check the channel and pump counts and run.dt)")

    def _segment(self, raw: Records, previous: Records, row_steps: np.ndarray, n_steps: int) -> Segment:
        time = row_steps * self.config.run.dt
        rows = series_of(Rows(raw=raw, previous=previous, time=time, steps=row_steps, model=self))
        spikes = raw.spike_steps[: raw.spike_count[0]] * self.config.run.dt
        if self.geometry is not None:  # a cable's spikes in every compartment, and where each was
            rows["spike_compartment"] = raw.spike_compartment[: raw.spike_count[0]].copy()
        return Segment(time, rows, spikes, n_steps)

    def _empty_records(self, n_rows: int, n_steps: int) -> Records:
        return _records(n_rows, len(self.compartments.capacitance), len(IONS), len(self.kinds.mode),
                        len(self.pumps.active), n_steps)

    def _record_now(self) -> Records:
        raw = self._empty_records(1, 0)
        record_row(raw, 0, self.compartment_voltages(), self.compartments, self.kinds, self.pumps)
        return raw

    def current_row(self) -> Segment:
        """Return the present state as one recorded row (the t = 0 row of a run; its electrode current is 0)."""
        raw = self._record_now()
        return self._segment(raw, raw, np.array([self.step_index]), 0)

    # -- protocol -------------------------------------------------------------------------------

    def _apply_due_events(self) -> None:
        """Carry out the protocol events (block, unblock, ouabain, open, close, set_outside) due by now."""
        events = self.schedule.events
        while self._next_event < len(events) and events[self._next_event].step <= self.step_index:
            event = events[self._next_event]
            self._next_event += 1
            action = event.action
            rng = np.random.default_rng([self.run_seed, 2, event.index])  # which agents: seeded per event
            if action.action in ("block", "unblock"):
                self.block(action.target, action.fraction, rng, unblock=action.action == "unblock")
            elif action.action == "ouabain":
                self.apply_ouabain(action.target, action.concentration, rng)
            elif action.action in ("open", "close"):
                self.change_channels(action.target, action.count if action.action == "open" else -action.count, rng)
            else:
                self.set_outside(action.ion, action.concentration)

    def act(self, step: dict) -> None:
        """Carry out a protocol action now, as the config's ``[[protocol]]`` entry it would be.

        `step` is the entry as a config gives it, without ``at`` (e.g. ``{"action": "set_outside",
        "ion": "K", "concentration": "20 mM"}``); it joins the config's protocol at the present time
        and is validated like any config (ConfigError names the bad field). So the config of a
        live session (`config`) replays it: ``channelsim run`` of that config gives the same run.
        """
        given = copy.deepcopy(self.config._given)
        given.setdefault("protocol", []).append({**step, "at": f"{self.simulated_time!r} s"})
        config = parse_config(given).model_copy(update={"run": self.config.run})
        config._given = given
        previous = self.config, self.schedule, self._next_event
        self.config, self.schedule = config, Schedule(config)
        try:
            self._apply_due_events()
        except ConfigError:
            self.config, self.schedule, self._next_event = previous  # refused before it changed anything
            raise

    def block(self, kind: str, blocked_share: float, rng: np.random.Generator, unblock: bool = False) -> None:
        """Block or unblock channels or pumps of `kind`, chosen at random.

        `block`: the blocked share of `kind` becomes `blocked_share`; `unblock`: that share of
        all its channels or pumps is freed.
        """
        target = next(p for p in [*self.populations, *self.pump_populations] if p.kind == kind)
        share = round(blocked_share * target.count)
        if isinstance(target, PumpPopulation):
            already = target.count - int(self.pumps.active[target.first_row])
            target.set_blocked(self.pumps, max(0, already - share) if unblock else share, rng)
        else:
            already = int(self.kinds.blocked[target.first_row])
            target.set_blocked(self.kinds, max(0, already - share) if unblock else share, rng)

    def change_channels(self, kind: str, change: int, rng: np.random.Generator) -> None:
        """Insert (`change` > 0) or remove channels of `kind` (`open` and `close`).

        Inserted channels are unblocked and start in the steady state of their scheme at the
        present membrane potential (an always-open leak: open); removed ones are chosen at
        random among those on the membrane.
        """
        population = self.population_of(kind)
        room = population.capacity - population.count if population.tracking == "agent" else MAX_STATE_COUNT
        if change > room or -change > population.count:
            raise ConfigError("protocol", f"cannot {'open' if change > 0 else 'close'} {abs(change)} {kind} channels "
                              f"now: {population.count} are on the membrane, and agent tracking has room for "
                              f"{population.capacity} (the most its config's open and close steps put there)",
                              "give a count within that, or track the kind as a population")
        if change > 0:
            pi = stationary_distribution(population.scheme, self.voltage, self.config.cell.temperature)
            population.insert(self.kinds, change, pi, rng)
        elif change < 0:
            population.remove(self.kinds, -change, rng)

    def apply_ouabain(self, kind: str, concentration: float, rng: np.random.Generator) -> None:
        """Bind ouabain at equilibrium with the bath's [K]o.

        Each pump is blocked with probability c^n / (c^n + IC50^n), IC50 = IC50_0 (1 + [K]o / K_i)
        (`glycoside_blocked_fraction`).
        """
        population = next(p for p in self.pump_populations if p.kind == kind)
        entry = population.entry
        probability = glycoside_blocked_fraction(concentration, float(self.compartments.bath[IONS.index("K")]),
                                                 entry.ouabain_ic50, entry.ouabain_hill, entry.ouabain_k_competition)
        population.set_blocked_probability(self.pumps, self.ouabain_blocked[population.index], probability, rng)
        self.ouabain_blocked[population.index] = probability

    def _ouabain_present(self) -> dict[str, float]:
        """Return the ouabain concentration on each pump kind, from the protocol steps applied so far."""
        present: dict[str, float] = {}
        for event in self.schedule.events[:self._next_event]:
            if event.action.action == "ouabain":
                present[event.action.target] = event.action.concentration
        return present

    def set_outside(self, ion: str, concentration: float) -> None:
        """Step an outside concentration: the bath's, or the counts of a finite outside volume.

        For a finite volume the ions come from or go to the wider extracellular space, recorded
        as a change of `ions_outside` without a matching inside change. A step of [K]o
        re-equilibrates ouabain binding (K+ competes with it for the pump).
        """
        i, compartments = IONS.index(ion), self.compartments
        compartments.bath[i] = concentration
        finite = compartments.volume_out > 0
        compartments.counts_out[finite, i] = np.round(concentration * AVOGADRO * compartments.volume_out[finite])
        if ion == "K":  # K+ competes with ouabain: the bound pumps re-equilibrate at the new [K]o
            present = self._ouabain_present()
            for population in self.pump_populations:
                if present.get(population.kind, 0.0) > 0.0:
                    rng = np.random.default_rng([self.run_seed, 3, self.step_index, population.index])
                    self.apply_ouabain(population.kind, present[population.kind], rng)

    def command_at(self, t: np.ndarray) -> np.ndarray:
        """Voltage clamp command (V) at times t; NaN where the membrane is free."""
        return self.schedule.command_at(t)

    # -- checkpoints ----------------------------------------------------------------------------

    def state(self) -> dict[str, np.ndarray]:
        """Everything that evolves during a run, by name.

        The transition tables are rebuilt from the config. Saved in the run file's checkpoint
        after every segment.
        """
        arrays = {f"compartments.{k}": v for k, v in self.compartments._asdict().items()}
        arrays |= {f"kinds.{k}": v for k, v in self.kinds._asdict().items() if k != "table"}
        arrays |= {f"pumps.{k}": v for k, v in self.pumps._asdict().items()}
        arrays |= {f"previous_row.{k}": v for k, v in self._previous_row._asdict().items()}
        flags = [p.blocked for p in self.pump_populations]
        arrays["pump_agents_blocked"] = np.concatenate([np.zeros(0, np.uint8), *flags])
        arrays["channel_agents_absent"] = self.agent_absent
        arrays["ouabain_blocked"] = self.ouabain_blocked
        arrays["step_index"] = np.array([self.step_index], dtype=np.int64)
        arrays["next_event"] = np.array([self._next_event], dtype=np.int64)  # protocol events applied so far
        return arrays

    def restore(self, saved: dict[str, np.ndarray]) -> None:
        """Put a saved `state()` back (the patch was built from the same config and not advanced).

        Every array is checked first (`channelsim.model.checkpoint.validate`): a state this model
        could not have saved raises `CheckpointError` naming the array, before any kernel reads it.
        """
        from channelsim.model.checkpoint import validate

        validate(saved, self)
        current = self.state()
        for name, array in current.items():
            if name != "pump_agents_blocked":
                array[...] = saved[name]
        offset = 0
        for population in self.pump_populations:
            population.blocked[:] = saved["pump_agents_blocked"][offset:offset + len(population.blocked)]
            offset += len(population.blocked)
        self.step_index = int(saved["step_index"][0])
        self._next_event = int(saved["next_event"][0])

    # -- what the model shows between steps -----------------------------------------------------

    @property
    def simulated_time(self) -> float:
        """Simulated time (s)."""
        return self.step_index * self.config.run.dt

    @property
    def voltage(self) -> float:
        """Membrane potential (V) where the electrode is, from the net charge inside: e * q / C."""
        c, compartments = self.membrane.electrode_compartment, self.compartments
        return membrane_voltage(compartments.counts_in[c], self.membrane.valence, compartments.fixed_charge[c],
                                compartments.capacitance[c], ELEMENTARY_CHARGE)

    membrane_potential = voltage

    def compartment_voltages(self) -> np.ndarray:
        """Membrane potential (V) of every compartment, from its counts."""
        c = self.compartments
        return np.array([membrane_voltage(c.counts_in[i], self.membrane.valence, c.fixed_charge[i], c.capacitance[i],
                                          ELEMENTARY_CHARGE) for i in range(len(c.capacitance))])

    @property
    def ions_inside(self) -> dict[str, int]:
        """Ions in the cell, by ion."""
        return dict(zip(IONS, self.compartments.counts_in.sum(axis=0).tolist(), strict=True))

    @property
    def ions_outside(self) -> dict[str, int]:
        """Ions outside (for a clamped bath: the net number the bath received), by ion."""
        return dict(zip(IONS, self.compartments.counts_out.sum(axis=0).tolist(), strict=True))

    @property
    def kind_names(self) -> list[str]:
        """Channel kinds, then synapse entries by name, then pump kinds: the `kind` dimension of the run file."""
        return ([p.kind for p in self.populations] + [s.name for s in self.synapse_populations]
                + [p.kind for p in self.pump_populations])

    @property
    def synapse_names(self) -> list[str]:
        """The [[synapses]] entries by name, in alphabetical order: the `synapse` dimension of the run file."""
        return [s.name for s in self.synapse_populations]

    @property
    def channel_kind_count(self) -> int:
        """Number of channel kinds (one population each)."""
        return len(self.populations)

    def open_receptors(self, open_by_row: np.ndarray) -> np.ndarray:
        """Sum open counts of the kernel's rows (last axis) over each synapse entry's synapses: (..., entries)."""
        columns = [open_by_row[..., s.rows].sum(axis=-1) for s in self.synapse_populations]
        return np.stack(columns, axis=-1) if columns else np.zeros((*open_by_row.shape[:-1], 0))

    def releases_before(self, steps: np.ndarray) -> np.ndarray:
        """Return the vesicles each synapse entry released before each step: (steps, entries)."""
        return self.schedule.releases_before(np.asarray(steps))

    @property
    def pump_kind_count(self) -> int:
        """Number of pump kinds (one population each)."""
        return len(self.pump_populations)

    def counts_by_kind(self) -> np.ndarray:
        """Return the channels, receptors or pumps of each kind now, in the order of `kind_names`."""
        channels = [p.count for p in self.populations]
        receptors = [s.count * s.receptors for s in self.synapse_populations]
        return np.array([*channels, *receptors, *(p.count for p in self.pump_populations)], dtype=np.int64)

    def blocked_fraction(self) -> np.ndarray:
        """Return the blocked share of each kind, in the order of `kind_names` (0 for a kind with none)."""
        sizes = self.counts_by_kind()
        pumps = sizes[len(sizes) - len(self.pump_populations):] - self.pumps.active @ self.pump_rows
        blocked = np.concatenate([self.kinds.blocked @ self.channel_rows, np.zeros(len(self.synapse_populations)),
                                  pumps])
        return np.divide(blocked, sizes, out=np.zeros(len(sizes)), where=sizes > 0)

    @property
    def channel_rows(self) -> np.ndarray:
        """(kernel rows, channel kinds) 0/1: the channel population of each row of `kinds` (synapse rows: none)."""
        matrix = _membership([p.row_counts for p in self.populations])
        return np.vstack([matrix, np.zeros((len(self.kinds.mode) - len(matrix), len(self.populations)), np.int64)])

    @property
    def pump_rows(self) -> np.ndarray:
        """(kernel rows, pump kinds) 0/1: which population each row of `pumps` belongs to."""
        return _membership([p.row_counts for p in self.pump_populations])

    def constants(self) -> dict[str, np.ndarray]:
        """Return the run's constants, as declared in `channelsim.recording.layout.CONSTANTS`."""
        return constants_of(self)

    # constants the recorded quantities are computed from (SI units)
    @property
    def valence(self) -> np.ndarray:
        """Valence of each ion, in the order of `channelsim.constants.IONS`."""
        return self.membrane.valence

    @property
    def capacitance(self) -> float:
        """Membrane capacitance of the whole cell (F)."""
        return float(self.compartments.capacitance.sum())

    @property
    def area(self) -> float:
        """Membrane area of the whole cell (m^2)."""
        return self.config.cell.area_m2

    @property
    def volume_inside(self) -> float:
        """Volume of the cell (m^3), summed over its compartments."""
        return float(self.compartments.volume_in.sum())

    @property
    def volume_outside(self) -> float:
        """The finite outside volume (m^3); 0 for a clamped bath."""
        return float(self.compartments.volume_out.sum())

    @property
    def electrode_compartment(self) -> int:
        """Index of the compartment where the electrode records, injects and detects spikes."""
        return self.membrane.electrode_compartment

    @property
    def temperature(self) -> float:
        """Temperature (K)."""
        return self.config.cell.temperature

    @property
    def bath_concentration(self) -> np.ndarray:
        """Bath concentration of each ion (mol/m^3, i.e. mM) as the config and `set_outside` steps set it."""
        return self.compartments.bath

    @property
    def dt(self) -> float:
        """Time step (s)."""
        return self.config.run.dt

    @property
    def record_every(self) -> float:
        """Recording interval (s)."""
        return self.config.run.record_every

    avogadro = AVOGADRO
    elementary_charge = ELEMENTARY_CHARGE

    # -- single channels --------------------------------------------------------------------------

    def agent(self, identity: int) -> ChannelView:
        """Return the channel with this identity (identities run over populations in kind order)."""
        first = 0
        for population in self.populations:
            if identity < first + population.count:
                return population.channel(identity - first)
            first += population.count
        raise IndexError(f"no channel {identity}: the patch has {sum(p.count for p in self.populations)}")

    def population_of(self, kind: str) -> ChannelPopulation:
        """Return the channel population of `kind`."""
        return next(p for p in self.populations if p.kind == kind)

    def synapses_of(self, name: str) -> SynapsePopulation:
        """Return the synapse population of the [[synapses]] entry `name`."""
        return next(s for s in self.synapse_populations if s.name == name)


def _membership(row_counts: list[np.ndarray]) -> np.ndarray:
    """(rows, groups) int64 matrix with a 1 where a row belongs to a group; groups hold consecutive rows."""
    sizes = [len(rows) for rows in row_counts]
    matrix = np.zeros((sum(sizes), len(sizes)), dtype=np.int64)
    matrix[np.arange(sum(sizes)), np.repeat(np.arange(len(sizes)), sizes)] = 1
    return matrix


def build(config: Config | str | Path, seed: int | None = None, settings: dict | None = None,
          force_large: bool = False) -> MembranePatch:
    """Build a patch in its initial state (protocol events at t = 0 applied); seed defaults to run.seed.

    A model whose arrays would not fit in memory is refused unless `force_large`.
    """
    return MembranePatch(config, seed, settings=settings, force_large=force_large)


def checked_seed(seed: object, field: str = "seed") -> int:
    """Return `seed` as a Python int if it is an integer from 0 to 2^63 - 1; otherwise raise a ConfigError.

    The kernels take it as int64: one type, so numba compiles and caches one kernel.
    """
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise ConfigError(field, f"{seed!r} is not an integer", f"give an integer from 0 to {MAX_SEED}")
    if not 0 <= int(seed) <= MAX_SEED:
        raise ConfigError(field, f"{int(seed)} is out of range", f"give an integer from 0 to {MAX_SEED} (2^63 - 1)")
    return int(seed)
