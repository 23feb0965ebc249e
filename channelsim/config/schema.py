"""The config schema (reference: docs/config.md): every quantity a string with a unit, stored in SI.

Unknown keys are errors (`extra="forbid"`). Defaults are SI floats; `Config.model_dump(mode=
"json")` writes every quantity back as "<value> <SI unit>", which parses to the same float.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    StrictInt,
    model_validator,
)

from channelsim.channels import CHANNEL_KINDS, KINDS, RECEPTORS
from channelsim.channels.pump import PUMP_KINDS
from channelsim.constants import IONS
from channelsim.units import format_quantity, parse_quantity


def _quantity(dimension: str, **bounds) -> type:
    return Annotated[
        float,
        BeforeValidator(lambda value: parse_quantity(value, dimension)),
        PlainSerializer(lambda value: format_quantity(value, dimension), return_type=str),
        Field(**bounds),
    ]


Time = _quantity("time", gt=0)
Instant = _quantity("time", ge=0)
Length = _quantity("length", gt=0)
Area = _quantity("area", gt=0)
Volume = _quantity("volume", gt=0)
Concentration = _quantity("concentration", ge=0)
Voltage = _quantity("voltage", ge=-1.0, le=1.0)
Temperature = _quantity("temperature", gt=0)
SpecificCapacitance = _quantity("specific_capacitance", gt=0)
Conductance = _quantity("conductance", gt=0)
Permeability = _quantity("permeability", gt=0)
Density = _quantity("density", ge=0)
Rate = _quantity("rate", ge=0)


def _current_or_density(value: object) -> tuple[str, float]:
    for dimension in ("current", "current_density"):
        try:
            return dimension, parse_quantity(value, dimension)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is neither a current nor a current density; "
                     'write e.g. "10 pA" or "10 uA/cm^2"')


Amplitude = Annotated[
    tuple[str, float],
    BeforeValidator(_current_or_density),
    PlainSerializer(lambda value: format_quantity(value[1], value[0]), return_type=str),
]


def _bath_or_volume(value: object) -> float | None:
    return None if value == "bath" else parse_quantity(value, "volume")


OutsideVolume = Annotated[
    float | None,
    BeforeValidator(_bath_or_volume),
    PlainSerializer(lambda v: "bath" if v is None else format_quantity(v, "volume"), return_type=str),
]


class Strict(BaseModel):
    """Base of every config table: unknown keys are errors, and defaults are taken as given (not re-validated)."""

    model_config = ConfigDict(extra="forbid", validate_default=False)


class Experiment(Strict):
    """What the experiment is called and what it shows."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="file-name safe identifier")
    description: str = ""


class RunSettings(Strict):
    """How long the run lasts, its time step, how often it records, and its random seed."""

    duration: Time
    dt: Time = 10e-6
    record_every: Time = 1e-4
    seed: StrictInt = Field(1, ge=0)

    @model_validator(mode="after")
    def _whole_steps(self) -> RunSettings:
        for name, numerator, denominator, fix in (
            ("record_every", self.record_every, self.dt, "make it a whole number of dt"),
            ("duration", self.duration, self.record_every, "make it a whole number of record_every"),
        ):
            ratio = numerator / denominator
            if ratio < 1 - 1e-9 or abs(ratio - round(ratio)) > 1e-6 * ratio:
                raise ValueError(f"{name}: {numerator:g} s is not a whole multiple (>= 1) of "
                                 f"{denominator:g} s; {fix}")
        return self

    @property
    def steps_per_record(self) -> int:
        """Time steps per recording interval (record_every / dt, a whole number)."""
        return round(self.record_every / self.dt)

    @property
    def n_records(self) -> int:
        """Recording intervals in the run (duration / record_every): the rows recorded after the t = 0 row."""
        return round(self.duration / self.record_every)


class Cell(Strict):
    """The cell's geometry, temperature, specific membrane capacitance and initial membrane potential."""

    shape: Literal["sphere", "cylinder", "patch"] = "sphere"
    radius: Length | None = None
    length: Length | None = None
    area: Area | None = None
    volume: Volume | None = None
    temperature: Temperature = 310.15  # 37 degC
    specific_capacitance: SpecificCapacitance = 0.01  # 1 uF/cm^2 (Hille 2001, ch. 1)
    initial_voltage: Voltage = 0.0

    @model_validator(mode="after")
    def _dimensions_match_shape(self) -> Cell:
        needed = {"sphere": {"radius"}, "cylinder": {"radius", "length"}, "patch": {"area", "volume"}}[self.shape]
        if self.shape == "sphere" and self.radius is None:
            self.radius = 10e-6  # a 20 um diameter soma
        for name in ("radius", "length", "area", "volume"):
            given = getattr(self, name) is not None
            if given != (name in needed):
                raise ValueError(f"{name}: shape {self.shape!r} takes {' and '.join(sorted(needed))}; "
                                 + (f"remove {name}" if given else f"add {name}"))
        return self

    @property
    def area_m2(self) -> float:
        """Membrane area; a cylinder is closed by its two end caps."""
        if self.shape == "sphere":
            return 4.0 * math.pi * self.radius**2
        if self.shape == "cylinder":
            return 2.0 * math.pi * self.radius * (self.length + self.radius)
        return self.area

    @property
    def volume_m3(self) -> float:
        """Cell volume (m^3): a sphere's or a cylinder's from its dimensions, or the `volume` given for a patch."""
        if self.shape == "sphere":
            return 4.0 / 3.0 * math.pi * self.radius**3
        if self.shape == "cylinder":
            return math.pi * self.radius**2 * self.length
        return self.volume

    @property
    def capacitance_F(self) -> float:
        """Membrane capacitance (F): specific capacitance times membrane area."""
        return self.specific_capacitance * self.area_m2


# Default concentrations: mammalian skeletal muscle, Hille (2001) Ion Channels of Excitable
# Membranes, 3rd ed., Table 1.1 (free ions, mM).
class Inside(Strict):
    """Initial free ion concentrations in the cell, and the valence of its impermeant anions.

    Defaults: mammalian skeletal muscle (Hille 2001, Table 1.1).
    """

    K: Concentration = 155.0
    Na: Concentration = 12.0
    Cl: Concentration = 4.2
    Ca: Concentration = 1e-4
    impermeant_valence: StrictInt = Field(-1, lt=0, description="valence of impermeant anions A")
    ca_binding_ratio: float = Field(
        0.0, ge=0.0, description="kappa, bound over free Ca2+ of a fast cytosolic buffer in equilibrium: of every "
        "1 + kappa Ca2+ ions in the cell one is free (the one fluxes and E_Ca see) and kappa are bound; both are "
        "counted and charged. `Ca` is the free concentration. 0 (the default): unbuffered. Measured: about 75 "
        "in chromaffin cells (Neher & Augustine 1992, J Physiol 450:273); of the order of 50-100 in "
        "ventricular myocytes (Bers 2001, Excitation-Contraction Coupling and Cardiac Contractile Force, ch. 3)")


class Outside(Strict):
    """Concentrations outside the cell, and whether the outside is a clamped bath or a finite volume.

    The outside is a clamped bath by default. Defaults: mammalian skeletal muscle (Hille 2001,
    Table 1.1).
    """

    K: Concentration = 4.0
    Na: Concentration = 145.0
    Cl: Concentration = 123.0
    Ca: Concentration = 1.5
    volume: OutsideVolume = None


class ChannelEntry(Strict):
    """One channel kind on the membrane.

    How many (count or density), how they are tracked, and the parameters that override the kind's
    defaults.
    """

    kind: str
    count: StrictInt | None = Field(None, ge=0)
    density: Density | None = None
    tracking: Literal["agent", "population", "mean_field"] = "agent"
    permeation: Literal["ghk", "ohmic"] | None = None
    conductance: Conductance | None = None
    permeability: Permeability | None = None
    open_probability: float | None = Field(None, gt=0.0, le=1.0)
    mean_open_time: Time | None = None

    @model_validator(mode="after")
    def _known_kind_and_one_amount(self) -> ChannelEntry:
        if self.kind in RECEPTORS:
            raise ValueError(f"kind: {self.kind!r} is a receptor kind, opened by transmitter; add it as a "
                             f'[[synapses]] entry with receptor = "{self.kind}"')
        if self.kind not in KINDS:
            raise ValueError(f"kind: unknown kind {self.kind!r}; use one of {', '.join(CHANNEL_KINDS)}")
        defaults = KINDS[self.kind]
        if self.count is not None and self.density is not None:
            raise ValueError("count: give count or density, not both; remove one")
        if self.count is None and self.density is None and defaults.density_per_m2 is None:
            raise ValueError("count: missing; give count (e.g. count = 1000) or density (e.g. density = \"2 /um^2\")")
        for name in ("conductance", "permeability", "open_probability", "mean_open_time"):
            if getattr(self, name) is not None and name not in defaults.parameters():
                raise ValueError(f"{name}: kind {self.kind!r} has no {name}; remove it")
        if self.permeation == "ghk" and "permeability" not in defaults.parameters() and self.permeability is None:
            raise ValueError(f"permeability: GHK permeation of {self.kind!r} needs a single-channel permeability; "
                             "give permeability or use permeation = \"ohmic\"")
        return self


class PumpEntry(Strict):
    """One pump kind on the membrane.

    How many (count or density), how they are tracked, and the parameters that override the kind's
    defaults.
    """

    kind: str
    count: StrictInt | None = Field(None, ge=0)
    density: Density | None = None
    tracking: Literal["agent", "population", "mean_field"] = "population"
    max_turnover: Rate | None = None
    half_saturation_na: Concentration | None = None
    half_saturation_k: Concentration | None = None
    ouabain_ic50: Concentration | None = None
    ouabain_hill: float | None = Field(None, gt=0.0)

    @model_validator(mode="after")
    def _known_kind_and_one_amount(self) -> PumpEntry:
        if self.kind not in PUMP_KINDS:
            raise ValueError(f"kind: unknown pump kind {self.kind!r}; use one of {', '.join(PUMP_KINDS)}")
        kind = PUMP_KINDS[self.kind]
        own = {"half_saturation_na": kind.half_saturation_na_mM, "half_saturation_k": kind.half_saturation_k_mM,
               "ouabain_ic50": kind.ouabain_ic50_mM, "ouabain_hill": kind.ouabain_hill}
        for name, default in own.items():
            if getattr(self, name) is not None and default is None:
                raise ValueError(f"{name}: pump kind {self.kind!r} has no {name} (its rate law has none); remove it")
        if self.count is not None and self.density is not None:
            raise ValueError("count: give count or density, not both; remove one")
        return self


class SynapseEntry(Strict):
    """A group of synapses onto the cell, each with its own cleft and its own receptors.

    `count` synapses of `receptors` receptors each, of one receptor kind. A presynaptic spike
    (`presynaptic_spikes` in the protocol) releases one vesicle at each synapse it reaches with
    probability `release_probability`, independently; the transmitter pulse of a release reaches
    only that synapse's receptors.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$", description="what the protocol and the run file call the entry")
    receptor: str = Field(description="the receptor kind (a receptor of the channel catalogue)")
    count: StrictInt = Field(1, ge=0, description="number of synapses")
    receptors: StrictInt = Field(ge=0, description="receptors at each synapse")
    release_probability: float = Field(0.5, ge=0.0, le=1.0,
                                       description="probability that a presynaptic spike releases a vesicle at a "
                                                   "synapse")
    tracking: Literal["agent", "population", "mean_field"] = Field(
        "agent", description="how the receptors are followed (as channels' `tracking`)")
    transmitter: Concentration | None = Field(None, description="transmitter concentration in the cleft during the "
                                                                "pulse of one release")
    transmitter_duration: Time | None = Field(None, description="duration of the transmitter pulse of one release")
    permeation: Literal["ghk", "ohmic"] | None = Field(None, description="flux law of the receptor channels")
    conductance: Conductance | None = Field(None, description="unitary conductance of a receptor channel")
    permeability: Permeability | None = Field(None, description="single-channel permeability of a receptor "
                                                                "channel")

    @model_validator(mode="after")
    def _known_receptor(self) -> SynapseEntry:
        if self.receptor not in RECEPTORS:
            raise ValueError(f"receptor: unknown receptor kind {self.receptor!r}; use one of {', '.join(RECEPTORS)}")
        return self


class CurrentClamp(Strict):
    """Current injected into the cell (positive inward): one pulse, or `count` pulses every `period`."""

    action: Literal["current_clamp"]
    at: Instant
    amplitude: Amplitude
    duration: Time
    period: Time | None = None
    count: StrictInt = Field(1, ge=1)

    @model_validator(mode="after")
    def _train(self) -> CurrentClamp:
        if self.count > 1 and (self.period is None or self.period < self.duration):
            raise ValueError("period: a train of pulses needs a period at least as long as each pulse; "
                             "give period >= duration")
        return self

    def current_A(self, area_m2: float) -> float:
        """Return the pulse current (A) on a membrane of `area_m2` (m^2).

        The amplitude itself when given as a current, or times the area when given as a current
        density.
        """
        dimension, value = self.amplitude
        return value * area_m2 if dimension == "current_density" else value


class VoltageClamp(Strict):
    """Hold the membrane at `potential` from `at` for `duration` (to the end of the run if omitted)."""

    action: Literal["voltage_clamp"]
    at: Instant
    potential: Voltage
    duration: Time | None = None


class Block(Strict):
    """`block`: the blocked share of the target kind becomes `fraction`.

    E.g. TTX on hh_na, TEA on hh_k. `unblock`: that share of all its channels is freed again.
    """

    action: Literal["block", "unblock"]
    at: Instant
    target: str
    fraction: float = Field(1.0, ge=0.0, le=1.0)


class Ouabain(Strict):
    """Ouabain at `concentration` from `at` on.

    Each pump of `target` is blocked independently with probability c^n / (c^n + IC50^n)
    (0 washes it out).
    """

    action: Literal["ouabain"]
    at: Instant
    concentration: Concentration
    target: str = "na_k_atpase"


class SetOutside(Strict):
    """Step the outside concentration of one ion (e.g. hyperkalaemia: K to 10 mM)."""

    action: Literal["set_outside"]
    at: Instant
    ion: Literal[IONS]
    concentration: Concentration


class OpenClose(Strict):
    """`open`: insert `count` more channels of the target kind; `close`: remove `count` of them.

    Inserted channels start in their scheme's steady state at the membrane potential of that
    moment (always-open leaks: open); removed ones are chosen at random among those present.
    """

    action: Literal["open", "close"]
    at: Instant
    target: str = Field(description="the channel kind whose channels are inserted or removed")
    count: StrictInt = Field(ge=1, description="channels inserted (open) or removed (close)")


class PresynapticSpikes(Strict):
    """Presynaptic spikes arriving at the synapses of a `[[synapses]]` entry.

    A train of `count` spikes every `period` (the same times at every synapse), or, with `rate`,
    an independent Poisson train at each synapse from `at` to the end of the run (or for
    `duration`). Each spike releases one vesicle at a synapse with the entry's release
    probability, independently at each synapse and spike.
    """

    action: Literal["presynaptic_spikes"]
    at: Instant
    target: str = Field(description="the synapse entry the spikes arrive at")
    count: StrictInt | None = Field(None, ge=1, description="spikes in a regular train")
    period: Time | None = Field(None, description="time from one spike of a train to the next")
    rate: Rate | None = Field(None, description="mean rate of a Poisson train at each synapse")
    duration: Time | None = Field(None, description="how long the Poisson trains last")
    synapses: StrictInt | None = Field(None, ge=1, description="how many of the entry's synapses receive the "
                                                                "spikes")

    @model_validator(mode="after")
    def _train_or_rate(self) -> PresynapticSpikes:
        if self.rate is not None:
            if self.count is not None or self.period is not None:
                raise ValueError("rate: a Poisson train (rate) takes no count or period; remove them or the rate")
            if self.rate <= 0:
                raise ValueError("rate: must be above 0 /s; give e.g. rate = \"20 Hz\"")
        else:
            if self.duration is not None:
                raise ValueError("duration: only a Poisson train (rate) has a duration; remove it or give a rate")
            if (self.count or 1) > 1 and self.period is None:
                raise ValueError("period: a train of spikes needs a period; give period (e.g. \"5 ms\")")
        return self

    @property
    def spikes(self) -> int:
        """Spikes of a regular train (1 unless `count` says otherwise)."""
        return self.count or 1


ProtocolStep = Annotated[CurrentClamp | VoltageClamp | Block | Ouabain | SetOutside | OpenClose | PresynapticSpikes,
                         Field(discriminator="action")]


class Config(Strict):
    """An experiment: run settings, cell, solutions, channels, pumps and protocol (SI inside)."""

    _given: dict = PrivateAttr(default_factory=dict)  # the raw config it was parsed from, for `updated`

    experiment: Experiment
    run: RunSettings
    cell: Cell = Field(default_factory=Cell)
    inside: Inside = Field(default_factory=Inside)
    outside: Outside = Field(default_factory=Outside)
    channels: list[ChannelEntry] = Field(default_factory=list)
    pumps: list[PumpEntry] = Field(default_factory=list)
    synapses: list[SynapseEntry] = Field(default_factory=list)
    protocol: list[ProtocolStep] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_entry_per_kind(self) -> Config:
        kinds = [entry.kind for entry in self.channels]
        for kind in set(kinds):
            if kinds.count(kind) > 1:
                raise ValueError(f"channels: kind {kind!r} appears {kinds.count(kind)} times in [[channels]]; "
                                 "merge them into one entry")
        pumps = [entry.kind for entry in self.pumps]
        if len(set(pumps)) < len(pumps):
            raise ValueError("pumps: a pump kind appears twice in [[pumps]]; merge the entries into one")
        for index, step in enumerate(self.protocol):
            if step.at > self.run.duration:
                raise ValueError(f"protocol.{index}.at: {step.at:g} s is after the end of the run "
                                 f"({self.run.duration:g} s); give a time within run.duration")
            binding = [kind for kind in pumps if PUMP_KINDS[kind].ouabain_ic50_mM is not None]
            targets = kinds + pumps if isinstance(step, Block) else binding
            if isinstance(step, (Block, Ouabain)) and step.target not in targets:
                raise ValueError(f"protocol.{index}.target: no [[channels]] or [[pumps]] entry of kind "
                                 f"{step.target!r}; use one of {', '.join(targets) or '(none configured)'}")
        return self

    @model_validator(mode="after")
    def _synapses_and_openings(self) -> Config:
        names = [entry.name for entry in self.synapses]
        catalogue = set(KINDS) | set(PUMP_KINDS)
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"synapses: the name {name!r} appears {names.count(name)} times in [[synapses]]; "
                                 "give each entry its own name")
            if name in catalogue:
                raise ValueError(f"synapses.{name}.name: {name!r} is a channel or pump kind; name the entry "
                                 "otherwise (e.g. \"excitatory\")")
        synapses = {entry.name: entry for entry in self.synapses}
        counts = {entry.kind: entry.count if entry.count is not None else round(
            (entry.density if entry.density is not None else KINDS[entry.kind].density_per_m2) * self.cell.area_m2)
            for entry in self.channels}
        steps = sorted(enumerate(self.protocol), key=lambda item: (item[1].at, item[0]))
        for index, step in steps:
            if isinstance(step, PresynapticSpikes):
                if step.target not in synapses:
                    raise ValueError(f"protocol.{index}.target: no [[synapses]] entry named {step.target!r}; use "
                                     f"one of {', '.join(synapses) or '(none configured)'}")
                if step.synapses is not None and step.synapses > synapses[step.target].count:
                    raise ValueError(f"protocol.{index}.synapses: {step.target!r} has "
                                     f"{synapses[step.target].count} synapses; give at most that many")
            elif isinstance(step, OpenClose):
                if step.target not in counts:
                    raise ValueError(f"protocol.{index}.target: no [[channels]] entry of kind {step.target!r}; "
                                     f"add one (count = 0 is fine) or use one of "
                                     f"{', '.join(counts) or '(none configured)'}")
                counts[step.target] += step.count if step.action == "open" else -step.count
                if counts[step.target] < 0:
                    raise ValueError(f"protocol.{index}.count: closes more {step.target} channels than there are "
                                     f"then ({counts[step.target] + step.count}); close at most that many")
        return self

    def __eq__(self, other: object) -> bool:
        """Equal settings make equal configs, however they were written."""
        return isinstance(other, Config) and self.model_dump() == other.model_dump()

    __hash__ = None

    def updated(self, settings: dict[str, object]) -> Config:
        """Return a new config with settings applied, keys as in `--set`.

        E.g. ``{"outside.K": "20 mM", "channels.k_leak.count": 500, "protocol.0.at": "5 ms"}``;
        None removes a key.
        """
        from channelsim.config.loading import updated_config

        return updated_config(self, settings)
