"""The config schema (reference: docs/config.md): every quantity a string with a unit, stored in SI.

Unknown keys are errors (`extra="forbid"`). Defaults are SI floats; `Config.model_dump(mode=
"json")` writes every quantity back as "<value> <SI unit>", which parses to the same float.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Union

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, PrivateAttr, StrictInt,
                      model_validator)

from channelsim.channels import KINDS
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
    model_config = ConfigDict(extra="forbid", validate_default=False)


class Experiment(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="file-name safe identifier")
    description: str = ""


class RunSettings(Strict):
    duration: Time
    dt: Time = 10e-6
    record_every: Time = 1e-4
    seed: StrictInt = Field(1, ge=0)
    flux_noise: bool = Field(True, description=(
        "Ion shot noise: `true` draws the ions that cross each kind's open channels in a step as "
        "Poisson counts (the noise of single ions, whose equilibrium variance of V is kT/C); `false` "
        "moves their mean instead, as whole ions with the fraction carried to the next step (as "
        "`mean_field` tracking does), so counts stay exact. Gating noise and pump cycles are unchanged: "
        "with `false` the only noise left in the channels is their gating."))

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
        return round(self.record_every / self.dt)

    @property
    def n_records(self) -> int:
        return round(self.duration / self.record_every)


class Cell(Strict):
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
        if self.shape == "sphere":
            return 4.0 / 3.0 * math.pi * self.radius**3
        if self.shape == "cylinder":
            return math.pi * self.radius**2 * self.length
        return self.volume

    @property
    def capacitance_F(self) -> float:
        return self.specific_capacitance * self.area_m2


# Default concentrations: mammalian skeletal muscle, Hille (2001) Ion Channels of Excitable
# Membranes, 3rd ed., Table 1.1 (free ions, mM).
class Inside(Strict):
    K: Concentration = 155.0
    Na: Concentration = 12.0
    Cl: Concentration = 4.2
    Ca: Concentration = 1e-4
    impermeant_valence: StrictInt = Field(-1, lt=0, description="valence of impermeant anions A")


class Outside(Strict):
    K: Concentration = 4.0
    Na: Concentration = 145.0
    Cl: Concentration = 123.0
    Ca: Concentration = 1.5
    volume: OutsideVolume = None


class ChannelEntry(Strict):
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
        if self.kind not in KINDS:
            raise ValueError(f"kind: unknown kind {self.kind!r}; use one of {', '.join(KINDS)}")
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
        if self.count is not None and self.density is not None:
            raise ValueError("count: give count or density, not both; remove one")
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
        dimension, value = self.amplitude
        return value * area_m2 if dimension == "current_density" else value


class VoltageClamp(Strict):
    """Hold the membrane at `potential` from `at` for `duration` (to the end of the run if omitted)."""

    action: Literal["voltage_clamp"]
    at: Instant
    potential: Voltage
    duration: Time | None = None


class Block(Strict):
    """`block`: the blocked share of the target kind becomes `fraction` (e.g. TTX on hh_na, TEA on
    hh_k). `unblock`: that share of all its channels is freed again."""

    action: Literal["block", "unblock"]
    at: Instant
    target: str
    fraction: float = Field(1.0, ge=0.0, le=1.0)


class Ouabain(Strict):
    """Ouabain at `concentration` from `at` on: each pump of `target` is blocked independently
    with probability c^n / (c^n + IC50^n) (0 washes it out)."""

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


ProtocolStep = Annotated[Union[CurrentClamp, VoltageClamp, Block, Ouabain, SetOutside],
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
            targets = kinds + pumps if isinstance(step, Block) else pumps
            if isinstance(step, (Block, Ouabain)) and step.target not in targets:
                raise ValueError(f"protocol.{index}.target: no [[channels]] or [[pumps]] entry of kind "
                                 f"{step.target!r}; use one of {', '.join(targets) or '(none configured)'}")
        return self

    def __eq__(self, other: object) -> bool:
        """Equal settings make equal configs, however they were written."""
        return isinstance(other, Config) and self.model_dump() == other.model_dump()

    __hash__ = None

    def updated(self, settings: dict[str, object]) -> Config:
        """A new config with settings applied, keys as in `--set`: ``{"outside.K": "20 mM",
        "channels.k_leak.count": 500, "protocol.0.at": "5 ms"}``; None removes a key."""
        from channelsim.config.loading import updated_config

        return updated_config(self, settings)
