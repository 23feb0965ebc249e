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
from channelsim.constants import AVOGADRO, IONS, MAX_SEED, VALENCE
from channelsim.units import format_quantity, parse_quantity, readable_quantity

#: Physical limits of the config's numbers (SI). Each keeps the simulation in the range where its
#: physics and its arithmetic hold; the reasons are in the Field descriptions (docs/config.md).
MAX_DURATION_s = 1e6  # 11.6 days: longer than any recording from a living cell
MIN_DT_s = 1e-9  # an ion takes tens of ns to cross a channel
MAX_DT_s = 1.0
MAX_CONCENTRATION_mM = 1e4  # 10 M: more than any salt solution (water itself is 55 M)
#: Ions of one kind in one compartment are counted below 2^53, so that counts, their sums with
#: valences (|z| <= 4) and their conversions to float64 stay exact.
MAX_ION_COUNT = 2**53
MAX_CHANNEL_COUNT = 10**15
#: Channels or pumps per membrane area (1/m^2): 1e5 /um^2, ten times the close packing of
#: proteins of ~10 nm across and of the densest known arrays (acetylcholine receptors at the endplate).
MAX_DENSITY = 1e17
MAX_PULSES = 100_000
MAX_PULSES_IN_ALL = 1_000_000
#: The most a current clamp may move V in one time step (V).
MAX_VOLTS_PER_STEP = 1.0
#: Synapses onto one cell, over all [[synapses]] entries: a cerebellar Purkinje cell, the neuron
#: with the most, receives about 175,000 (Napper & Harvey 1988, J Comp Neurol 274:168). Each
#: synapse is a row of the kernel's state with its own cleft.
MAX_SYNAPSES = 200_000
#: Presynaptic spikes (one per synapse reached) in a run, over all `presynaptic_spikes` steps:
#: each drawn spike and release is held in memory (16 bytes a release) before the run starts.
MAX_SPIKES_IN_ALL = 10_000_000
#: An experiment name becomes a file name (255 bytes at most) with suffixes such as ".h5.lock".
MAX_NAME_LENGTH = 200


def _within(value: float, dimension: str, bounds: dict[str, float], given: object = None) -> float:
    """Return `value` if it lies within `bounds`; otherwise raise a ValueError that gives the accepted range.

    Within means to a relative 1e-12, so that the limits as printed are accepted.
    """
    ge, gt, le = bounds.get("ge"), bounds.get("gt"), bounds.get("le")
    tolerance = 1e-12
    low_ok = (ge is None or value >= ge - tolerance * abs(ge)) and (gt is None or value > gt)
    high_ok = le is None or value <= le + tolerance * abs(le)
    if low_ok and high_ok:
        return value
    low = (f"from {readable_quantity(ge, dimension, exact=True)}" if ge is not None
           else f"above {readable_quantity(gt, dimension, exact=True)}" if gt is not None else "")
    high = (f"{'to' if ge is not None else 'and up to' if low else 'up to'} "
            f"{readable_quantity(le, dimension, exact=True)}" if le is not None else "")
    shown = repr(given) if isinstance(given, str) else readable_quantity(value, dimension)
    raise ValueError(f"{shown} is out of range; give a {dimension.replace('_', ' ')} "
                     f"{' '.join(filter(None, (low, high)))}")


def _ion_label(ion: str) -> str:
    """K -> K+, Ca -> Ca2+, Cl -> Cl-."""
    z = VALENCE[ion]
    return f"{ion}{abs(z) if abs(z) > 1 else ''}{'+' if z > 0 else '-'}"


def _round_down(value: float) -> float:
    """Round `value` down to 2 significant digits (less a thousandth, against round-off).

    The result is a limit to suggest that is itself within the limit.
    """
    value *= 0.999
    exponent = math.floor(math.log10(value)) - 1
    return math.floor(value / 10.0**exponent) * 10.0**exponent


def _quantity(dimension: str, description: str | None = None, **bounds) -> type:
    def parse(value: object) -> float:
        return _within(parse_quantity(value, dimension), dimension, bounds, value)

    return Annotated[
        float,
        BeforeValidator(parse),
        PlainSerializer(lambda value: format_quantity(value, dimension), return_type=str),
        Field(description=description, **bounds),
    ]


Duration = _quantity("time", "at most 1e6 s (11.6 days), longer than any recording from a living cell",
                     gt=0, le=MAX_DURATION_s)
TimeStep = _quantity("time", "from 1 ns (ions take tens of ns to cross a channel, so a shorter step resolves "
                     "nothing) to 1 s (concentrations are held fixed through a step)", ge=MIN_DT_s, le=MAX_DT_s)
Instant = _quantity("time", "at most 1e6 s, the longest run", ge=0, le=MAX_DURATION_s)
OpenTime = _quantity("time", "from 1 ns (no channel opening is briefer) to 1e6 s", ge=MIN_DT_s, le=MAX_DURATION_s)
Resistivity = _quantity("resistivity", "from 1 to 10,000 ohm cm: cytoplasm is 30 to 300 ohm cm (squid axoplasm "
                        "35.4, Hodgkin & Huxley 1952; mammalian neurons 70 to 200)", ge=1e-2, le=100.0)
Position = _quantity("length", "from 0 to 1 m, along the cable from its start; it must lie on the cable",
                     ge=0, le=1.0)
CellLength = _quantity("length", "from 10 nm to 1 m (the longest axons); a cell, or a cable's compartment, must "
                       "also hold at most 2^53 ions of a kind (see the rules across keys)", ge=1e-8, le=1.0)
#: A cable of more compartments than this is refused: each holds its own ions, channels and rows.
MAX_COMPARTMENTS = 100_000
Length = _quantity("length", "from 10 nm (smaller than any vesicle) to 1 cm (larger than any cell body); "
                   "a cell must also hold at most 2^53 ions of a kind (see the rules across keys)", ge=1e-8, le=1e-2)
Area = _quantity("area", "from 100 nm^2 (about one channel's footprint) to 1 cm^2", ge=1e-16, le=1e-4)
Volume = _quantity("volume", "from 1e-6 fL, a cube of 10 nm, to 1 mL; it must also hold at most 2^53 ions of a "
                   "kind (see the rules across keys)", ge=1e-24, le=1e-6)
Concentration = _quantity("concentration", "at most 10 M, more than any salt solution (water itself is 55 M)",
                          ge=0, le=MAX_CONCENTRATION_mM)
InhibitorConstant = _quantity("concentration", "above 0 and at most 10 M: the concentration of a competing ion that "
                              "doubles a drug's IC50", gt=0, le=MAX_CONCENTRATION_mM)
Voltage = _quantity("voltage", "within 1 V of 0: membranes break down near 0.5 V", ge=-1.0, le=1.0)
Temperature = _quantity("temperature", "from 0 degC to 100 degC, where water is liquid", ge=273.15, le=373.15)
SpecificCapacitance = _quantity("specific_capacitance", "from 0.1 to 100 uF/cm^2: lipid bilayers have about 1 "
                                "uF/cm^2 and folded membranes up to about 10", ge=1e-3, le=1.0)
MyelinCapacitance = _quantity("specific_capacitance", "from 0.0001 to 1 uF/cm^2: a myelin sheath of n wraps has "
                              "about 1/(2n) of a membrane's 1 uF/cm^2 (n up to about 300)", ge=1e-6, le=1e-2)
Conductance = _quantity("conductance", "at most 10 nS, 30 times the largest known unitary conductance (BK, "
                        "about 300 pS)", gt=0, le=1e-8)
Permeability = _quantity("permeability", "at most 100 um^3/s, the GHK equivalent of a channel of about 50 nS, "
                         "far beyond any real one", gt=0, le=1e-16)
Density = _quantity("density", "at most 1e5 /um^2, 10 times the close packing of membrane proteins and "
                    "the densest known channel arrays (acetylcholine receptors at the endplate)", ge=0, le=MAX_DENSITY)
Rate = _quantity("rate", "at most 1e7 /s, the turnover of the fastest enzymes", ge=0, le=1e7)
SpikeRate = _quantity("rate", "above 0 and at most 1 kHz: a neuron's refractory period of about 1 ms bounds how "
                      "fast it fires", gt=0, le=1e3)


def _current_or_density(value: object) -> tuple[str, float]:
    for dimension in ("current", "current_density"):
        try:
            return dimension, parse_quantity(value, dimension)
        except ValueError as error:
            if "too large for a number" in str(error):
                raise
    raise ValueError(f"{value!r} is neither a current nor a current density; "
                     'write e.g. "10 pA" or "10 uA/cm^2"')


Amplitude = Annotated[
    tuple[str, float],
    BeforeValidator(_current_or_density),
    PlainSerializer(lambda value: format_quantity(value[1], value[0]), return_type=str),
]


def _bath_or_volume(value: object) -> float | None:
    if value == "bath":
        return None
    try:
        return _within(parse_quantity(value, "volume"), "volume", {"ge": 1e-24, "le": 1e-6}, value)
    except ValueError as error:
        raise ValueError(f'{error}, or "bath" for a clamped bath') from None


OutsideVolume = Annotated[
    Annotated[float, Field(ge=1e-24, le=1e-6)] | None,
    BeforeValidator(_bath_or_volume),
    PlainSerializer(lambda v: "bath" if v is None else format_quantity(v, "volume"), return_type=str),
]


Region = Annotated[Literal["node", "internode", "all"], Field(description=(
    "on a cable, where the entry sits: `node` (nodes of Ranvier; every compartment of an "
    "unmyelinated cable), `internode` (the myelinated segments) or `all`; a density applies to the "
    "region's membrane and a count is shared among its compartments by membrane area"))]


class Strict(BaseModel):
    """Base of every config table: unknown keys are errors, and defaults are taken as given (not re-validated)."""

    model_config = ConfigDict(extra="forbid", validate_default=False)


class Experiment(Strict):
    """What the experiment is called and what it shows."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=MAX_NAME_LENGTH,
                      description="file-name safe identifier of at most 200 characters (it becomes a file name)")
    description: str = ""


class RunSettings(Strict):
    """How long the run lasts, its time step, how often it records, and its random seed."""

    duration: Duration
    dt: TimeStep = 10e-6
    record_every: Duration = 1e-4
    seed: StrictInt = Field(1, ge=0, le=MAX_SEED, description="from 0 to 2^63 - 1: the kernels take it as a "
                            "64-bit signed integer")
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
        """Time steps per recording interval (record_every / dt, a whole number)."""
        return round(self.record_every / self.dt)

    @property
    def n_records(self) -> int:
        """Recording intervals in the run (duration / record_every): the rows recorded after the t = 0 row."""
        return round(self.duration / self.record_every)


class Myelin(Strict):
    """Myelinated internodes between nodes of Ranvier, on a cable.

    The cable starts and ends with a node; its internodes are cut into segments of the cell's
    `segment_length`. Channel entries choose where they sit with `region`.
    """

    internode_length: Length = Field(description="length of myelin between two nodes (e.g. 200 um; about 100 "
                                     "times the fibre's diameter in vertebrate nerve, Rushton 1951)")
    node_length: Length = Field(1e-6, description="length of a node of Ranvier, one compartment (about 1 um)")
    specific_capacitance: MyelinCapacitance = Field(5e-5, description=(
        "capacitance of the myelinated membrane per area of the axon: a sheath of many membranes in "
        "series; 0.005 uF/cm^2 for about 100 lamellae of 1 uF/cm^2 each (the membrane's 1 uF/cm^2 "
        "divided by twice the number of wraps)"))


class Cell(Strict):
    """The cell's geometry, temperature, specific membrane capacitance and initial membrane potential."""

    shape: Literal["sphere", "cylinder", "patch", "cable"] = "sphere"
    radius: Length | None = None
    length: CellLength | None = None
    area: Area | None = None
    volume: Volume | None = None
    diameter: Length | None = Field(None, description="cable only: the axon's diameter")
    segment_length: Length | None = Field(None, description="cable only: length of one compartment (the length "
                                          "is cut into equal segments of about this length)")
    axial_resistivity: Resistivity | None = Field(None, description="cable only: resistivity of the cytoplasm "
                                                  "along the axon (squid axoplasm: 35.4 ohm cm, HH 1952)")
    myelin: Myelin | None = Field(None, description="cable only: nodes of Ranvier and myelinated internodes")
    temperature: Temperature = 310.15  # 37 degC
    specific_capacitance: SpecificCapacitance = 0.01  # 1 uF/cm^2 (Hille 2001, ch. 1)
    initial_voltage: Voltage = 0.0

    @model_validator(mode="after")
    def _dimensions_match_shape(self) -> Cell:
        needed = {"sphere": {"radius"}, "cylinder": {"radius", "length"}, "patch": {"area", "volume"},
                  "cable": {"diameter", "length", "segment_length", "axial_resistivity"}}[self.shape]
        if self.shape == "sphere" and self.radius is None:
            self.radius = 10e-6  # a 20 um diameter soma
        for name in ("radius", "length", "area", "volume", "diameter", "segment_length", "axial_resistivity"):
            given = getattr(self, name) is not None
            if given != (name in needed):
                raise ValueError(f"{name}: shape {self.shape!r} takes {' and '.join(sorted(needed))}; "
                                 + (f"remove {name}" if given else f"add {name}"))
        if self.myelin is not None and self.shape != "cable":
            raise ValueError('myelin: only a cable has myelin; use shape = "cable" or remove [cell.myelin]')
        if self.shape == "cable":
            self._check_cable()
        return self

    def _check_cable(self) -> None:
        if self.segment_length > self.length:
            raise ValueError(f"segment_length: {readable_quantity(self.segment_length, 'length')} is longer than the "
                             f"cable ({readable_quantity(self.length, 'length')}); give a segment_length up to length")
        myelin = self.myelin
        if myelin is not None and myelin.node_length > self.length:
            raise ValueError("myelin.node_length: longer than the cable; give a node_length up to length")
        count = len(self.geometry.length)
        if count > MAX_COMPARTMENTS:
            raise ValueError(f"segment_length: the cable would have {count:,} compartments, more than "
                             f"{MAX_COMPARTMENTS:,}; give a longer segment_length")

    @property
    def geometry(self):
        """The compartments of a cable (`channelsim.config.geometry.CableGeometry`); None for other shapes."""
        if self.shape != "cable":
            return None
        from channelsim.config.geometry import cable_geometry

        return cable_geometry(self)

    @property
    def area_m2(self) -> float:
        """Membrane area; a cylinder is closed by its two end caps, a cable's sealed ends carry no membrane."""
        if self.shape == "cable":
            return float(self.geometry.area.sum())
        if self.shape == "sphere":
            return 4.0 * math.pi * self.radius**2
        if self.shape == "cylinder":
            return 2.0 * math.pi * self.radius * (self.length + self.radius)
        return self.area

    @property
    def volume_m3(self) -> float:
        """Cell volume (m^3): a sphere's or a cylinder's from its dimensions, or the `volume` given for a patch."""
        if self.shape == "cable":
            return math.pi * self.diameter**2 / 4 * float(self.geometry.length.sum())
        if self.shape == "sphere":
            return 4.0 / 3.0 * math.pi * self.radius**3
        if self.shape == "cylinder":
            return math.pi * self.radius**2 * self.length
        return self.volume

    @property
    def capacitance_F(self) -> float:
        """Membrane capacitance (F): specific capacitance times membrane area (a cable's: summed)."""
        if self.shape == "cable":
            return float(self.geometry.capacitance.sum())
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
    impermeant_valence: StrictInt = Field(-1, ge=-4, lt=0, description="valence of impermeant anions A, from -4 "
                                          "to -1 (keeps the charge sums of the counts within 64-bit integers)")
    ca_binding_ratio: float = Field(
        0.0, ge=0.0, le=1e4, description="kappa, bound over free Ca2+ of a fast cytosolic buffer in equilibrium: of "
        "every 1 + kappa Ca2+ ions in the cell one is free (the one fluxes and E_Ca see) and kappa are bound; both "
        "are counted and charged. `Ca` is the free concentration. 0 (the default): unbuffered. Measured: about 75 "
        "in chromaffin cells (Neher & Augustine 1992, J Physiol 450:273); about 50 in rat ventricular myocytes "
        "between 0.2 and 1 uM free, the chord ratio of their fast buffers (Bmax 123 uM, KD 0.96 uM: Berlin, Bassani "
        "& Bers 1994, Biophys J 67:1775). At most 10,000")


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
    count: StrictInt | None = Field(None, ge=0, le=MAX_CHANNEL_COUNT, description="at most 1e15 (counts stay exact "
                                    "in float64); agent tracking also needs memory for every channel")
    density: Density | None = None
    tracking: Literal["agent", "population", "mean_field"] = "agent"
    permeation: Literal["ghk", "ohmic"] | None = None
    conductance: Conductance | None = None
    permeability: Permeability | None = None
    open_probability: float | None = Field(None, gt=0.0, le=1.0, allow_inf_nan=False)
    mean_open_time: OpenTime | None = None
    region: Region = "all"

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
    count: StrictInt | None = Field(None, ge=0, le=MAX_CHANNEL_COUNT,
                                    description="at most 1e15 (counts stay exact in float64)")
    density: Density | None = None
    tracking: Literal["agent", "population", "mean_field"] = "population"
    max_turnover: Rate | None = None
    half_saturation_na: Concentration | None = None
    half_saturation_k: Concentration | None = None
    ouabain_ic50: Concentration | None = None
    ouabain_k_competition: InhibitorConstant | None = None
    ouabain_hill: float | None = Field(None, gt=0.0, le=10.0, allow_inf_nan=False,
                                       description="at most 10; drug binding has Hill coefficients of 1 to 4")
    region: Region = "all"

    @model_validator(mode="after")
    def _known_kind_and_one_amount(self) -> PumpEntry:
        if self.kind not in PUMP_KINDS:
            raise ValueError(f"kind: unknown pump kind {self.kind!r}; use one of {', '.join(PUMP_KINDS)}")
        kind = PUMP_KINDS[self.kind]
        own = {"half_saturation_na": kind.half_saturation_na_mM, "half_saturation_k": kind.half_saturation_k_mM,
               "ouabain_ic50": kind.ouabain_ic50_mM, "ouabain_hill": kind.ouabain_hill,
               "ouabain_k_competition": kind.ouabain_k_competition_mM}
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
    count: StrictInt = Field(1, ge=0, le=MAX_SYNAPSES, description="number of synapses; at most 200,000 over all "
                             "entries, more than the most any neuron receives (a Purkinje cell's 175,000)")
    receptors: StrictInt = Field(ge=0, le=MAX_CHANNEL_COUNT, description="receptors at each synapse; at most 1e15 "
                                 "(counts stay exact in float64), and all receptors of the cell no denser than "
                                 "channels may be (see the rules across keys)")
    release_probability: float = Field(0.5, ge=0.0, le=1.0,
                                       description="probability that a presynaptic spike releases a vesicle at a "
                                                   "synapse")
    tracking: Literal["agent", "population", "mean_field"] = Field(
        "agent", description="how the receptors are followed (as channels' `tracking`)")
    transmitter: Concentration | None = Field(None, description="transmitter concentration in the cleft during the "
                                                                "pulse of one release")
    transmitter_duration: Duration | None = Field(None, description="duration of the transmitter pulse of one "
                                                                    "release")
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
    duration: Duration
    period: Duration | None = None
    position: Position | None = Field(None, description=(
        "cable only: where the electrode sits, from the start of the cable (default: the first "
        "compartment); a cell has one electrode, so every current_clamp gives the same position"))
    count: StrictInt = Field(1, ge=1, le=MAX_PULSES, description="at most 100,000 (a 1 kHz train for 100 s); "
                             "the train must start its last pulse within the run")

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
    duration: Duration | None = None


class Block(Strict):
    """`block`: the blocked share of the target kind becomes `fraction`.

    E.g. TTX on hh_na, TEA on hh_k. `unblock`: that share of all its channels is freed again.
    """

    action: Literal["block", "unblock"]
    at: Instant
    target: str
    fraction: float = Field(1.0, ge=0.0, le=1.0, allow_inf_nan=False)


class Ouabain(Strict):
    """Ouabain at `concentration` from `at` on.

    Each pump of `target` is blocked independently with probability c^n / (c^n + IC50^n), where
    IC50 = IC50_0 (1 + [K]o / K_i) rises with the bath's [K]o (K+ competes for the pump; binding
    re-equilibrates when `set_outside` changes [K]o); 0 washes it out.
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
    count: StrictInt = Field(ge=1, le=MAX_CHANNEL_COUNT, description="channels inserted (open) or removed (close); "
                             "at most 1e15, and the channels on the membrane no denser than the rules across keys "
                             "allow")


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
    count: StrictInt | None = Field(None, ge=1, le=MAX_PULSES, description="spikes in a regular train; at most "
                                    "100,000, and the train must start its last spike within the run")
    period: Duration | None = Field(None, description="time from one spike of a train to the next")
    rate: SpikeRate | None = Field(None, description="mean rate of a Poisson train at each synapse")
    duration: Duration | None = Field(None, description="how long the Poisson trains last")
    synapses: StrictInt | None = Field(None, ge=1, le=MAX_SYNAPSES,
                                       description="how many of the entry's synapses receive the spikes")

    @model_validator(mode="after")
    def _train_or_rate(self) -> PresynapticSpikes:
        if self.rate is not None:
            if self.count is not None or self.period is not None:
                raise ValueError("rate: a Poisson train (rate) takes no count or period; remove them or the rate")
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
    def _cable_keys(self) -> Config:
        """Regions, electrode positions and actions that need a cable, or that a cable does not take yet."""
        geometry = self.cell.geometry
        for section, entries in (("channels", self.channels), ("pumps", self.pumps)):
            for entry in entries:
                if entry.region == "all":
                    continue
                if geometry is None:
                    raise ValueError(f"{section}.{entry.kind}.region: only a cable has regions; remove region "
                                     "(or use shape = \"cable\")")
                if not geometry.in_region(entry.region).any():
                    raise ValueError(f"{section}.{entry.kind}.region: the cable has no {entry.region}s (add "
                                     "[cell.myelin] for internodes); use region = \"all\"")
        if geometry is not None and self.synapses:
            raise ValueError("synapses: synapses are not implemented on a cable yet; remove [[synapses]] (or use "
                             "another cell shape)")
        positions = set()
        for index, step in enumerate(self.protocol):
            if isinstance(step, CurrentClamp) and step.position is not None:
                if geometry is None:
                    raise ValueError(f"protocol.{index}.position: only a cable has positions; remove position")
                if step.position > self.cell.length:
                    raise ValueError(f"protocol.{index}.position: {readable_quantity(step.position, 'length')} is "
                                     f"beyond the end of the cable ({readable_quantity(self.cell.length, 'length')}); "
                                     "give a position up to cell.length")
            if isinstance(step, CurrentClamp):
                positions.add(step.position or 0.0)
                if len(positions) > 1:
                    raise ValueError(f"protocol.{index}.position: a cell has one electrode, and an earlier "
                                     "current_clamp sits elsewhere; give every current_clamp the same position")
            if geometry is not None and isinstance(step, (Block, Ouabain, OpenClose, PresynapticSpikes)):
                raise ValueError(f"protocol.{index}.action: {step.action} is not implemented on a cable yet; "
                                 "lower the entry's density instead")
        return self

    @property
    def electrode_compartment(self) -> int:
        """Index of the compartment of the electrode (a cable's nearest to the current clamps' position)."""
        geometry = self.cell.geometry
        if geometry is None:
            return 0
        clamps = [step for step in self.protocol if isinstance(step, CurrentClamp)]
        return geometry.nearest(clamps[0].position or 0.0) if clamps else 0

    def electrode_membrane(self) -> tuple[float, float]:
        """Area (m^2) and capacitance (F) the electrode charges: a cable's compartment, else the cell's."""
        geometry = self.cell.geometry
        if geometry is None:
            return self.cell.area_m2, self.cell.capacitance_F
        c = self.electrode_compartment
        return float(geometry.area[c]), float(geometry.capacitance[c])

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
        counts = self._channel_counts()
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

    @model_validator(mode="after")
    def _within_physical_limits(self) -> Config:
        """Check the physical limits across keys.

        Channels and pumps the membrane has room for, ion counts that fit their integers, pulse
        trains that fit the run, currents that move V by less than 1 V a step, synapses and
        presynaptic spikes that fit in memory.
        """
        self._check_packing()
        self._check_ion_counts()
        self._check_current_clamps()
        self._check_synapses()
        return self

    def _check_packing(self) -> None:
        """No more channels or pumps of a kind than the membrane has room for (MAX_DENSITY)."""
        area = self.cell.area_m2
        for section, entries in (("channels", self.channels), ("pumps", self.pumps)):
            for entry in entries:
                if entry.count is not None and entry.count > MAX_DENSITY * area + 1:
                    most = math.floor(MAX_DENSITY * area)
                    raise ValueError(f"{section}.{entry.kind}.count: {entry.count:,} on "
                                     f"{readable_quantity(area, 'area')} of membrane is "
                                     f"{entry.count / area * 1e-12:.3g} /um^2, denser than the limit of "
                                     f"{MAX_DENSITY * 1e-12:g} /um^2; give count up to {most}")

    def _check_synapses(self) -> None:
        """Room on the membrane for the receptors and the channels `open` adds; synapses and spikes that fit."""
        area, room = self.cell.area_m2, MAX_DENSITY * self.cell.area_m2
        total = 0
        for entry in self.synapses:
            total += entry.count
            if total > MAX_SYNAPSES:
                raise ValueError(f"synapses.{entry.name}.count: {total:,} synapses in all, more than the "
                                 f"{MAX_SYNAPSES:,} any neuron receives; give count up to "
                                 f"{entry.count - (total - MAX_SYNAPSES)}")
        receptors = sum(entry.count * entry.receptors for entry in self.synapses)
        if receptors > room + 1:
            entry = max(self.synapses, key=lambda e: e.count * e.receptors)
            others = receptors - entry.count * entry.receptors
            most = max(0, math.floor((room - others) / max(1, entry.count)))
            raise ValueError(f"synapses.{entry.name}.receptors: {receptors:,} receptors on "
                             f"{readable_quantity(area, 'area')} of membrane are {receptors / area * 1e-12:.3g} "
                             f"/um^2, denser than the limit of {MAX_DENSITY * 1e-12:g} /um^2; give receptors up to "
                             f"{most}")
        present = self._channel_counts()
        for index, step in sorted(enumerate(self.protocol), key=lambda item: (item[1].at, item[0])):
            if isinstance(step, OpenClose) and step.target in present:
                present[step.target] += step.count if step.action == "open" else -step.count
                if present[step.target] > room + 1:
                    most = step.count - (present[step.target] - math.floor(room))
                    raise ValueError(f"protocol.{index}.count: opening {step.count:,} {step.target} channels puts "
                                     f"{present[step.target]:,} on {readable_quantity(area, 'area')} of membrane, "
                                     f"denser than the limit of {MAX_DENSITY * 1e-12:g} /um^2; give count up to "
                                     f"{max(1, most)}")
        for index, step in enumerate(self.protocol):
            if isinstance(step, PresynapticSpikes) and step.rate is None and step.spikes > 1:
                if step.at + (step.spikes - 1) * step.period > self.run.duration * (1 + 1e-12):
                    most = math.floor((self.run.duration - step.at) / step.period * (1 + 1e-12)) + 1
                    raise ValueError(f"protocol.{index}.count: {step.spikes} spikes every "
                                     f"{readable_quantity(step.period, 'time')} from "
                                     f"{readable_quantity(step.at, 'time')} run past the end of the run "
                                     f"({readable_quantity(self.run.duration, 'time')}); give count up to {most}")
        spikes = self.presynaptic_spikes()
        if spikes > MAX_SPIKES_IN_ALL:
            raise ValueError(f"protocol: {spikes:.3g} presynaptic spikes at synapses in all (expected, for Poisson "
                             f"trains), more than {MAX_SPIKES_IN_ALL:,}; lower the rates, the counts or the synapses "
                             "they reach, or shorten the trains")

    def _channel_counts(self) -> dict[str, int]:
        """Return the channels of each kind at the start: its count, or its density times the membrane area."""
        return {entry.kind: entry.count if entry.count is not None else round(
            (entry.density if entry.density is not None else KINDS[entry.kind].density_per_m2) * self.cell.area_m2)
            for entry in self.channels}

    def presynaptic_spikes(self) -> float:
        """Return the presynaptic spikes the protocol brings to synapses: one per spike and synapse reached.

        Poisson trains count with their expected number.
        """
        counts, spikes = {entry.name: entry.count for entry in self.synapses}, 0.0
        for step in self.protocol:
            if isinstance(step, PresynapticSpikes) and step.target in counts:
                synapses = step.synapses or counts[step.target]
                if step.rate is not None:
                    end = self.run.duration if step.duration is None else min(self.run.duration,
                                                                              step.at + step.duration)
                    spikes += step.rate * max(0.0, end - step.at) * synapses
                else:
                    spikes += step.spikes * synapses
        return spikes

    def _check_ion_counts(self) -> None:
        def shown(value: float, dimension: str) -> str:
            return readable_quantity(value, dimension)

        def limit(value: float, dimension: str) -> str:
            return readable_quantity(_round_down(value), dimension, exact=True)

        cell, most = self.cell, f"more than the 2^53 ({MAX_ION_COUNT:.2g}) ions of one kind a compartment may hold"
        ion = max(IONS, key=lambda i: getattr(self.inside, i))
        concentration = getattr(self.inside, ion)
        geometry = cell.geometry
        volume = cell.volume_m3 if geometry is None else float(geometry.volume.max())  # a cable's: per compartment
        count = concentration * AVOGADRO * volume
        if count >= MAX_ION_COUNT:
            largest = (MAX_ION_COUNT - 1) / (concentration * AVOGADRO)  # m^3
            held = f"holds {count:.3g} {_ion_label(ion)} ions at {shown(concentration, 'concentration')}, {most}"
            if geometry is not None:
                longest = largest / (math.pi * cell.diameter**2 / 4)
                raise ValueError(f"cell.segment_length: a compartment of the cable {held}; give a segment_length "
                                 f"up to {limit(longest, 'length')} (or a thinner diameter)")
            if cell.shape == "sphere":
                raise ValueError(f"cell.radius: a sphere of radius {shown(cell.radius, 'length')} {held}; give a "
                                 f"radius up to {limit((3 * largest / (4 * math.pi)) ** (1 / 3), 'length')}")
            if cell.shape == "cylinder":
                length = largest / (math.pi * cell.radius**2)
                if length >= 1e-8:
                    raise ValueError(f"cell.length: a cylinder of length {shown(cell.length, 'length')} {held}; "
                                     f"give a length up to {limit(length, 'length')}")
                raise ValueError(f"cell.radius: a cylinder of radius {shown(cell.radius, 'length')} {held}; give a "
                                 f"radius up to {limit(math.sqrt(largest / (math.pi * cell.length)), 'length')}")
            raise ValueError(f"cell.volume: {shown(cell.volume, 'volume')} {held}; "
                             f"give a volume up to {limit(largest, 'volume')}")
        volume = self.outside.volume
        if volume is None:
            return
        ion = max(IONS, key=lambda i: getattr(self.outside, i))
        concentration = getattr(self.outside, ion)
        if concentration * AVOGADRO * volume >= MAX_ION_COUNT:
            raise ValueError(f"outside.volume: {shown(volume, 'volume')} holds {concentration * AVOGADRO * volume:.3g} "
                             f"{_ion_label(ion)} ions at {shown(concentration, 'concentration')}, {most}; give a "
                             f"volume up to {limit((MAX_ION_COUNT - 1) / (concentration * AVOGADRO), 'volume')}, "
                             f"or \"bath\"")
        for index, step in enumerate(self.protocol):
            if isinstance(step, SetOutside) and step.concentration * AVOGADRO * volume >= MAX_ION_COUNT:
                raise ValueError(f"protocol.{index}.concentration: {shown(step.concentration, 'concentration')} of "
                                 f"{_ion_label(step.ion)} in the outside volume of {shown(volume, 'volume')} is "
                                 f"{most}; give a concentration up to "
                                 f"{limit((MAX_ION_COUNT - 1) / (AVOGADRO * volume), 'concentration')}")

    def _check_current_clamps(self) -> None:
        run, pulses = self.run, 0
        area, capacitance = self.electrode_membrane()
        for index, step in enumerate(self.protocol):
            if not isinstance(step, CurrentClamp):
                continue
            pulses += step.count
            if step.count > 1 and step.at + (step.count - 1) * step.period > run.duration * (1 + 1e-12):
                most = math.floor((run.duration - step.at) / step.period * (1 + 1e-12)) + 1
                raise ValueError(f"protocol.{index}.count: {step.count} pulses every "
                                 f"{readable_quantity(step.period, 'time')} from {readable_quantity(step.at, 'time')} "
                                 f"run past the end of the run ({readable_quantity(run.duration, 'time')}); "
                                 f"give count up to {most}")
            volts = abs(step.current_A(area)) * run.dt / capacitance
            if volts > MAX_VOLTS_PER_STEP:
                dimension, _ = step.amplitude
                largest = MAX_VOLTS_PER_STEP * capacitance / run.dt / (area if dimension == "current_density" else 1.0)
                raise ValueError(f"protocol.{index}.amplitude: {readable_quantity(step.amplitude[1], dimension)} "
                                 f"moves V by {volts:.3g} V in one time step of {readable_quantity(run.dt, 'time')} "
                                 f"(C = {capacitance:.3g} F), "
                                 f"more than the {MAX_VOLTS_PER_STEP:g} V a membrane can hold; give an amplitude up to "
                                 f"{readable_quantity(_round_down(largest), dimension, exact=True)}")
        if pulses > MAX_PULSES_IN_ALL:
            raise ValueError(f"protocol: {pulses} current-clamp pulses in all, more than {MAX_PULSES_IN_ALL:,}; "
                             "merge trains or shorten them")

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
