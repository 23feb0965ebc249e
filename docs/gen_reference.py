"""MkDocs hook: generate the reference pages from the code at every build, so they cannot go stale.

A page asks for a generated part with a marker line of its own, e.g. `<!-- generate: config -->`;
`on_page_markdown` replaces it with the markdown of that part:

    config       the config reference, from the pydantic schema (channelsim.config.schema)
    units        the accepted units of every dimension (channelsim.units)
    rejected     examples of rejected configs, with the messages the loader really prints
    catalogue    channel and pump kinds (channelsim.channels.KINDS, channelsim.channels.pump.PUMP_KINDS)
    run-file     the run file's variables (channelsim.recording.layout)
    checkpoint   the arrays of a run file's checkpoint (channelsim.model.MembranePatch.state)
    cli          the command line (channelsim.cli, a click group)
    experiments  experiments/README.md and every experiments/*.toml

Whatever the code has that these pages do not explain (a config key without a description, a
model validator without a rule, a run status without a meaning) is logged as a warning, so
`mkdocs build --strict` fails until it is documented. Run `python docs/gen_reference.py NAME` to
print one part.
"""

from __future__ import annotations

import inspect
import logging
import math
import re
import sys
import types
import typing
from pathlib import Path

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

ROOT = Path(__file__).resolve().parent.parent
NBSP = "\u00a0"  # keeps a number and its unit on one line
log = logging.getLogger("mkdocs.hooks.gen_reference")
MARKER = re.compile(r"^<!-- generate: ([a-z-]+) -->$", re.MULTILINE)
#: Nothing in the docs may point outside the repository.
FORBIDDEN = ("DESIGN" + ".md", "../shared")  # the team notes file, spelled in two parts so this check cites nothing


def _warn(message: str) -> None:
    log.warning("docs/gen_reference.py: %s", message)


# --------------------------------------------------------------------------------------------
# Words the schema does not carry. A schema `Field(description=...)` is shown first; these notes
# follow it. Every key must have one or the other (checked below).

FIELD_NOTES = {
    "experiment.name": "Names the default run file `data/runs/NAME.h5`.",
    "experiment.description": "Free text, kept in the run file's stored config.",
    "run.duration": "Simulated time; a whole multiple of `record_every`.",
    "run.dt": "Time step. Gating uses the exact matrix exponential of each step and the voltage "
              "update is exponential, so long runs may use 1 ms.",
    "run.record_every": "Recording interval: one row of every time series per interval, plus t = 0. "
                        "A whole multiple of `dt`.",
    "run.seed": "Random seed (`--seed` overrides it). The same config and seed give a bit-identical run.",
    "cell.shape": "`cable` takes `diameter`, `length`, `segment_length`, `axial_resistivity` and optionally "
                  "`[cell.myelin]` (one compartment per segment, sealed ends without membrane); "
                  "`sphere` takes `radius`; `cylinder` takes `radius` and `length` (its area includes "
                  "the two end caps); `patch` takes `area` and `volume` directly.",
    "cell.radius": "Sphere or cylinder radius. A sphere without one gets 10 um (a 20 um soma).",
    "cell.length": "Cylinder or cable length (cylinder and cable only).",
    "cell.myelin": "A table `[cell.myelin]` with `internode_length` (required, e.g. \"200 um\"), `node_length` "
                   "(default 1 um, one compartment per node) and `specific_capacitance` (default 0.005 uF/cm^2, "
                   "from 0.0001 to 1: about 100 wraps of membrane). The cable runs node, internode, node, ..., "
                   "node, as many whole periods as fit in `length`; the internodes are cut into segments of "
                   "`segment_length`.",
    "cell.area": "Membrane area (patch only).",
    "cell.volume": "Cell volume (patch only).",
    "cell.temperature": "Sets RT/F of the flux laws and the Q10 factor of temperature-dependent rates.",
    "cell.specific_capacitance": "Membrane capacitance per area (1 uF/cm^2: Hille 2001, ch. 1); "
                                 "C = specific_capacitance x area.",
    "cell.initial_voltage": "Membrane potential at t = 0. The number of impermeant anions inside is "
                            "chosen so that the inside's net charge is C V0 / e.",
    "inside.K": "Initial K+ concentration inside (mammalian skeletal muscle, Hille 2001 Table 1.1); "
                "turned into a whole number of ions.",
    "inside.Na": "Initial Na+ concentration inside.",
    "inside.Cl": "Initial Cl- concentration inside.",
    "inside.Ca": "Initial Ca2+ concentration inside.",
    "inside.impermeant_valence": "Their number makes up the inside's net charge (see `cell.initial_voltage`).",
    "outside.K": "K+ concentration outside: fixed for a bath (until `set_outside`), initial for a "
                 "finite volume.",
    "outside.Na": "Na+ concentration outside.",
    "outside.Cl": "Cl- concentration outside.",
    "outside.Ca": "Ca2+ concentration outside.",
    "outside.volume": '`"bath"` (the default): a clamped bath whose concentrations never change; or a '
                      "volume: a finite outside compartment whose ions are counted like the inside's.",
    "channels.kind": "A kind from the [channel catalogue](channels.md); one entry per kind.",
    "channels.count": "Number of channels. Give `count` or `density`, not both.",
    "channels.density": "Channels per membrane area; resolved to count = round(density x area).",
    "channels.tracking": "How the channels are followed: `agent`, `population` or `mean_field` "
                         "(see the [user guide](guide.md#tracking-modes)).",
    "channels.permeation": "Flux law: `ghk` (uses `permeability`) or `ohmic` (uses `conductance`).",
    "channels.conductance": "Unitary (single-channel) conductance, used by ohmic permeation.",
    "channels.permeability": "Single-channel permeability, used by GHK permeation.",
    "channels.open_probability": "Leak kinds: steady open probability. 1 is always open (one state); "
                                 "below 1 the channel flickers between closed and open.",
    "channels.mean_open_time": "Leak kinds: mean open time of a flickering channel (sets only the noise "
                               "spectrum, not the mean current).",
    "pumps.kind": "A kind from the [pump catalogue](channels.md#pump-kinds); one entry per kind.",
    "pumps.count": "Number of pumps. Give `count` or `density`, not both.",
    "pumps.density": "Pumps per membrane area; resolved to count = round(density x area).",
    "pumps.tracking": "`population` (the default) or `mean_field`; `agent` gives each pump its own "
                      "blocked flag. Cycles are Poisson counts in every mode but `mean_field`.",
    "pumps.max_turnover": "Maximal cycle rate of one pump (k_max of the rate law).",
    "pumps.half_saturation_na": "K_Na of the rate law (inside Na+).",
    "pumps.half_saturation_k": "K_K of the rate law (outside K+).",
    "pumps.ouabain_ic50": "Ouabain concentration that blocks half the pumps without K+ outside.",
    "pumps.ouabain_k_competition": "[K]o that doubles the IC50: IC50([K]o) = ouabain_ic50 (1 + [K]o / this).",
    "pumps.ouabain_hill": "Hill coefficient of ouabain binding.",
    "protocol.current_clamp.action": '`"current_clamp"`.',
    "protocol.current_clamp.at": "Start of the (first) pulse.",
    "protocol.current_clamp.amplitude": 'A current ("50 pA") or a current density ("10 uA/cm^2", times '
                                        "the membrane area); positive is inward.",
    "protocol.current_clamp.duration": "Length of each pulse.",
    "protocol.current_clamp.period": "Pulse start to pulse start, for a train (`count` > 1).",
    "protocol.current_clamp.count": "Number of pulses.",
    "protocol.voltage_clamp.action": '`"voltage_clamp"`.',
    "protocol.voltage_clamp.at": "Start of the clamp.",
    "protocol.voltage_clamp.potential": "Command potential.",
    "protocol.voltage_clamp.duration": "How long the clamp holds; omitted: to the end of the run.",
    "protocol.block.action": '`"block"` or `"unblock"`.',
    "protocol.block.at": "When the block or unblock happens.",
    "protocol.block.target": "A channel or pump kind configured in this run.",
    "protocol.block.fraction": "`block`: the share of the kind that is blocked from now on; `unblock`: "
                               "the share of all its channels or pumps that is freed.",
    "protocol.ouabain.action": '`"ouabain"`.',
    "protocol.ouabain.at": "When the concentration takes effect.",
    "protocol.ouabain.concentration": "Ouabain concentration; 0 washes it out.",
    "protocol.ouabain.target": "A pump kind configured in this run.",
    "synapses.name": "Names the entry in `--set synapses.NAME.KEY`, the protocol's `target`, and the run "
                     "file's `synapse` and `kind` dimensions. One entry per name; not a catalogue kind's name.",
    "synapses.receptor": "`ampa`, `nmda` or `gaba_a`: see the [receptor kinds](channels.md#receptor-kinds).",
    "synapses.count": "Each synapse has its own cleft: a release there reaches only its own receptors.",
    "synapses.receptors": "Each synapse's receptors are one row of the kernel's state, so `population` and "
                          "`mean_field` tracking cost the same whatever this number.",
    "synapses.release_probability": "One vesicle at most per spike and synapse, drawn independently "
                                    "(Bernoulli) from the run's seed: quantal, binomial release.",
    "synapses.tracking": "See the [user guide](guide.md#tracking-modes).",
    "synapses.transmitter": "The kind's default: 1 mM (Destexhe et al. 1994); 0 outside pulses.",
    "synapses.transmitter_duration": "The kind's default: 1 ms. Rounded to whole steps (at least one); "
                                     "releases at one synapse within a pulse extend it.",
    "synapses.permeation": "The kind's default: `ghk`. Each permeant ion's flux uses its permeability ratio.",
    "synapses.conductance": "The kind's default (ampa 10 pS, nmda 50 pS, gaba_a 27 pS); used by ohmic permeation.",
    "synapses.permeability": "The kind's default (from the conductance in symmetric 140 mM at 23 degC); "
                             "used by GHK permeation.",
    "protocol.open.action": '`"open"` (insert channels) or `"close"` (remove them).',
    "protocol.open.at": "When the channels are inserted or removed.",
    "protocol.open.target": "A kind configured in `[[channels]]` (its `count` may be 0).",
    "protocol.open.count": "`close` may not remove more than are on the membrane then.",
    "protocol.presynaptic_spikes.action": '`"presynaptic_spikes"`.',
    "protocol.presynaptic_spikes.at": "The first spike (regular train) or the start of the Poisson trains.",
    "protocol.presynaptic_spikes.target": "Its `name`.",
    "protocol.presynaptic_spikes.count": "1 if omitted; not with `rate`.",
    "protocol.presynaptic_spikes.period": "Needed when `count` > 1; the same times at every synapse.",
    "protocol.presynaptic_spikes.rate": "Independent trains, one per synapse; instead of `count` and `period`.",
    "protocol.presynaptic_spikes.duration": "Omitted: to the end of the run. Only with `rate`.",
    "protocol.presynaptic_spikes.synapses": "The first N (in the entry's order); omitted: all.",
    "protocol.set_outside.action": '`"set_outside"`.',
    "protocol.set_outside.at": "When the step happens.",
    "protocol.set_outside.ion": "The ion whose outside concentration changes.",
    "protocol.set_outside.concentration": "The new outside concentration.",
}

#: One line per model validator (checks across keys); a validator missing here fails the build.
RULES = {
    "RunSettings._whole_steps": "`run.record_every` must be a whole multiple (at least 1) of `run.dt`, and "
                                "`run.duration` a whole multiple of `run.record_every` (to a relative 1e-6).",
    "Cell._dimensions_match_shape": "`cell.shape` decides the size keys: `sphere` takes `radius` (10 um if "
                                    "omitted), `cylinder` takes `radius` and `length`, `patch` takes `area` and "
                                    "`volume`, `cable` takes `diameter`, `length`, `segment_length` and "
                                    "`axial_resistivity` (and optionally `[cell.myelin]`, which only a cable "
                                    "takes). Any other size key is rejected, so switching shape with `--set` "
                                    "also removes the old keys (`--set cell.radius=`). A cable's "
                                    "`segment_length` and `myelin.node_length` are at most its `length`, and it "
                                    "has at most 100,000 compartments.",
    "Config._cable_keys": "`region` other than `all` needs a cable (and `internode` a myelinated one); "
                          "`position` needs a cable and lies on it; every `current_clamp` gives the same "
                          "`position` (a cell has one electrode); `block`, `unblock` and `ouabain` are not "
                          "implemented on a cable yet.",
    "ChannelEntry._known_kind_and_one_amount": "A channel entry's `kind` must be in the catalogue; it takes "
                                               "`count` or `density`, not both, and one of them when the kind has "
                                               "no default density (the leaks); parameters the kind does not have "
                                               "(e.g. `open_probability` on `hh_na`) are rejected; `permeation = "
                                               '"ghk"` on a kind without a default permeability (the HH kinds) '
                                               "needs a `permeability`.",
    "PumpEntry._known_kind_and_one_amount": "A pump entry's `kind` must be a pump kind; it takes `count` or "
                                            "`density`, not both.",
    "CurrentClamp._train": "A `current_clamp` with `count` > 1 needs a `period` at least as long as "
                           "`duration`.",
    "Config._one_entry_per_kind": "Each channel kind and each pump kind appears at most once; every protocol "
                                  "step's `at` lies within `run.duration`; a `block`/`unblock` target is a "
                                  "configured channel or pump kind, an `ouabain` target a configured pump kind.",
    "SynapseEntry._known_receptor": "A synapse entry's `receptor` must be a receptor kind of the catalogue; a "
                                    "receptor kind in `[[channels]]` is rejected (it needs a cleft).",
    "PresynapticSpikes._train_or_rate": "A `presynaptic_spikes` step is a regular train (`count`, and a `period` "
                                        "when `count` > 1) or a Poisson train (`rate` > 0, optional `duration`), "
                                        "not both.",
    "Config._synapses_and_openings": "Synapse entries have distinct names that are not catalogue kinds; a "
                                     "`presynaptic_spikes` target is a configured synapse entry and its "
                                     "`synapses` at most the entry's `count`; an `open`/`close` target is a "
                                     "configured channel kind, and taking the steps in time order, `close` never "
                                     "removes more channels than are on the membrane.",
    "Config._within_physical_limits": "Physical limits across keys: a `count` of channels or pumps at most "
                                      "1e5 /um^2 times the membrane area (as `density`); at most 2^53 "
                                      "(9.0e15) ions of one kind in the cell or a finite outside volume "
                                      "(counts, their sums with valences and their conversions to float64 stay "
                                      "exact), so a large cell or outside gets the largest radius, length or "
                                      "volume that fits; a pulse train's last pulse starts within "
                                      "`run.duration`, and a run has at most 1,000,000 pulses in all; a current "
                                      "clamp moves V by at most 1 V in one time step (amplitude x dt / C), "
                                      "since no membrane holds more; the receptors of all synapses, and the "
                                      "channels of a kind after every `open` step, also at most 1e5 /um^2; at "
                                      "most 200,000 synapses in all (a Purkinje cell, the neuron with the most, "
                                      "receives about 175,000); a spike train's last spike starts within "
                                      "`run.duration`, and a run brings at most 10,000,000 presynaptic spikes to "
                                      "synapses in all (one per spike and synapse reached; Poisson trains by "
                                      "their expected number), each held in memory before the run.",
}

#: Meaning of each run status (channelsim.recording.layout.STATUSES).
STATUS_MEANINGS = {
    "running": "being written, or its writer was killed (SIGKILL, power loss): readable up to the last "
               "flush, resumable from the last checkpoint",
    "complete": "the run reached `run.duration`",
    "interrupted": "stopped by Ctrl-C or SIGTERM at a segment boundary; `channelsim run --resume` continues it",
    "failed": "an error during the run (its state left the physical range, or the disk filled up); the rows up "
              "to it are kept, and `channelsim run --resume` continues from the last checkpoint once the cause "
              "is gone",
}

#: Root attributes of a run file (written by channelsim.engine).
ROOT_ATTRIBUTES = {
    "config": "the fully resolved config as TOML, every default written out; "
              "`channelsim run --from` reruns it",
    "seed": "the random seed used (the config's `run.seed` or `--seed`)",
    "status": "how the run ended (below); a fixed-length ASCII string, overwritten in place",
    "experiment": "`experiment.name`",
    "channelsim_version": "version of channelsim that wrote the file",
    "created": "UTC time the file was created (ISO 8601)",
    "command": "the command line that wrote the file",
    "resumed": "only after `--resume`: the command line that resumed it",
}


# --------------------------------------------------------------------------------------------
# Units

def _unit_table() -> dict[str, tuple[str, dict[str, float]]]:
    from channelsim.units import _UNITS

    return _UNITS


def _dimensions_of(validator, metadata: list = ()) -> list[str]:
    """Find the dimensions a quantity validator accepts by giving it one value of each.

    Each value lies within the key's limits: the validators check them.
    """
    from channelsim.units import format_quantity

    ge = next((m.ge for m in metadata if isinstance(m, annotated_types.Ge)), None)
    le = next((m.le for m in metadata if isinstance(m, annotated_types.Le)), None)
    probe = ge if ge is not None else le if le is not None else 1.0
    found = []
    for dimension in _unit_table():
        try:
            validator(format_quantity(probe, dimension))
        except (ValueError, TypeError):
            continue
        found.append(dimension)
    return found


def _number(x: float) -> str:
    if x == 0:
        return "0"
    text = f"{x:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}e{int(exponent)}"
    return text


def pretty(value: float, dimension: str) -> str:
    """Write a value in the accepted unit of its dimension that reads best (1 to 1000 if possible)."""
    si, table = _unit_table()[dimension]
    if dimension == "temperature":
        return f"{value:.6g}{NBSP}K" + (f" ({value - 273.15:.6g}{NBSP}degC)" if value > 0 else "")
    if value == 0:
        return f"0{NBSP}{si}"
    best, best_score = si, math.inf
    for unit, factor in table.items():
        if not unit.isascii():
            continue
        x = abs(value) / factor
        score = 0.0 if 1 <= x <= 1000 else min(abs(math.log10(x)), abs(math.log10(x / 1000)))
        if score < best_score - 1e-12:
            best, best_score = unit, score
    return f"{_number(value / table[best])}{NBSP}{best}"


def units_markdown() -> str:
    """Render the table of the accepted units of every dimension (channelsim.units)."""
    lines = ["| dimension | written back as | accepted units |", "|---|---|---|"]
    for dimension, (si, table) in _unit_table().items():
        accepted = ", ".join(f"`{u}`" for u in table)
        lines.append(f"| {dimension.replace('_', ' ')} | `{si}` | {accepted} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# The config schema

def _flatten(annotation, metadata: list) -> tuple[object, list, bool]:
    """Strip Optional and Annotated: (core type, all metadata, whether None is allowed)."""
    optional = False
    while True:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(annotation))
            if len(args) == 1:
                annotation = args[0]
                continue
            return annotation, metadata, optional
        if origin is typing.Annotated:
            annotation, *extra = typing.get_args(annotation)
            for item in extra:
                metadata = metadata + (list(item.metadata) if isinstance(item, FieldInfo) else [item])
            continue
        return annotation, metadata, optional


def _validator(metadata: list):
    return next((m.func for m in metadata if type(m).__name__ == "BeforeValidator"), None)


def describe_type(annotation, metadata: list) -> tuple[str, list[str]]:
    """Markdown for a key's type, and the dimensions of a quantity (empty otherwise)."""
    validator = _validator(metadata)
    if validator is not None:
        dimensions = _dimensions_of(validator, metadata)
        words = []
        for keyword in ("bath",):
            try:
                validator(keyword)
                words.append(f'`"{keyword}"`')
            except (ValueError, TypeError):
                pass
        text = " or ".join(f"[{d.replace('_', ' ')}](#units)" for d in dimensions)
        return ("string: " + " or ".join(words + [text])) if text else "string", dimensions
    if typing.get_origin(annotation) is typing.Literal:
        values = [f'`"{v}"`' for v in typing.get_args(annotation)]
        return ("one of " + ", ".join(values)) if len(values) > 1 else values[0], []
    strict = any(type(m).__name__ == "Strict" for m in metadata)
    if annotation is int:
        return ("integer" + (" (no quotes, no fraction)" if strict else "")), []
    if annotation is float:
        return "number", []
    if annotation is str:
        pattern = next((m.pattern for m in metadata if getattr(m, "pattern", None)), None)
        return ("string" + (f" matching `{pattern}`" if pattern else "")), []
    return f"`{getattr(annotation, '__name__', annotation)}`", []


def describe_bounds(metadata: list, dimensions: list[str]) -> str:
    """Describe a field's limits (>, ≥, <, ≤, a maximum length) from its annotated metadata, in its dimension's unit."""
    from channelsim.units import readable_quantity

    def show(x):
        if isinstance(x, int) and not isinstance(x, bool):
            return str(x)  # counts and seeds: every digit
        if len(dimensions) == 1 and dimensions[0] != "temperature":
            return readable_quantity(x, dimensions[0], exact=True).replace(" ", NBSP)  # a limit as written
        return pretty(x, dimensions[0]) if len(dimensions) == 1 else _number(x)

    parts = []
    for m in metadata:
        for cls, symbol in ((annotated_types.Gt, ">"), (annotated_types.Ge, "≥"),
                            (annotated_types.Lt, "<"), (annotated_types.Le, "≤")):
            if isinstance(m, cls):
                parts.append(f"{symbol}{NBSP}{show(getattr(m, cls.__name__.lower()))}")
        if isinstance(m, annotated_types.MaxLen):
            parts.append(f"at most {m.max_length} characters")
    return ", ".join(parts)


def describe_default(field: FieldInfo, dimensions: list[str]) -> str:
    """Describe a field's default as the config reference shows it (required, none, or a value in its unit)."""
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, list):
            return "none"
        return "all defaults"
    if field.default is PydanticUndefined:
        return "**required**"
    value = field.default
    if value is None:
        serializer = next((m.func for m in field.metadata if type(m).__name__ == "PlainSerializer"), None)
        try:
            return f'`"{serializer(None)}"`' if serializer else "—"
        except (TypeError, ValueError, AttributeError):
            return "—"
    if isinstance(value, str):
        return f'`"{value}"`'
    if dimensions and isinstance(value, float):
        return pretty(value, dimensions[0])
    return f"`{value}`"


def field_rows(model: type[BaseModel], prefix: str, defaults_note: dict[str, str] | None = None) -> list[str]:
    """Render the key table of a config section: type, default, limits and description of each key."""
    lines = ["| key | type | default | limits | description |", "|---|---|---|---|---|"]
    for name, field in model.model_fields.items():
        annotation, metadata, optional = _flatten(field.annotation, list(field.metadata))
        type_text, dimensions = describe_type(annotation, metadata)
        if optional and field.default is not None and field.default is not PydanticUndefined:
            type_text += " (or absent)"
        limits = describe_bounds(metadata, dimensions)
        key = f"{prefix}.{name}"
        description = " ".join(filter(None, [field.description and field.description[0].upper()
                                             + field.description[1:] + ".", FIELD_NOTES.get(key)]))
        if not description:
            _warn(f"config key {key} has no description: add Field(description=...) in the schema "
                  "or an entry in FIELD_NOTES")
        default = (defaults_note or {}).get(name) or describe_default(field, dimensions)
        lines.append(f"| `{name}` | {type_text} | {default} | {limits} | {description} |")
    return lines


def _validators(model: type[BaseModel]) -> list[str]:
    return [f"{model.__name__}.{name}" for name in model.__pydantic_decorators__.model_validators]


def _section_models():
    """(key, heading, model, is_list, class docstring) for every part of the config, in order."""
    from channelsim.config.schema import Config

    for name, field in Config.model_fields.items():
        annotation = field.annotation
        if typing.get_origin(annotation) is list:
            (item,) = typing.get_args(annotation)
            item, _, _ = _flatten(item, [])
            if typing.get_origin(item) in (typing.Union, types.UnionType):
                for action in typing.get_args(item):
                    yield name, action
                continue
            yield name, item
        else:
            yield name, annotation


def _base_raw() -> dict:
    return {"experiment": {"name": "example"}, "run": {"duration": "10 ms"}}


def _resolved_channel(kind: str, **extra):
    """Return the resolved config entry of a kind: a `[[channels]]` entry, or a `[[synapses]]` entry for a receptor."""
    from channelsim.channels import KINDS
    from channelsim.config import parse_config

    if KINDS[kind].is_receptor:
        entry = {"name": "example", "receptor": kind, "receptors": 1, **extra}
        return parse_config({**_base_raw(), "synapses": [entry]}).synapses[0]
    entry = {"kind": kind, **extra}
    if KINDS[kind].density_per_m2 is None and "count" not in extra and "density" not in extra:
        entry["count"] = 1
    return parse_config({**_base_raw(), "channels": [entry]}).channels[0]


def channel_defaults_markdown() -> str:
    """Render the defaults each channel kind gives the optional keys of a `[[channels]]` entry."""
    from channelsim.channels import CHANNEL_KINDS, KINDS
    from channelsim.config.schema import ChannelEntry

    names = ["density", "permeation", "conductance", "permeability", "open_probability", "mean_open_time"]
    dims = {}
    for name in names:
        annotation, metadata, _ = _flatten(ChannelEntry.model_fields[name].annotation,
                                           list(ChannelEntry.model_fields[name].metadata))
        dims[name] = describe_type(annotation, metadata)[1]
    lines = ["| kind | " + " | ".join(f"`{n}`" for n in names) + " |", "|---" * (len(names) + 1) + "|"]
    for kind in CHANNEL_KINDS:
        defaults = KINDS[kind]
        entry = _resolved_channel(kind)
        cells = []
        for name in names:
            if name == "density":
                d = defaults.density_per_m2
                cells.append(pretty(d, "density") if d is not None else "none: give `count` or `density`")
            elif name == "permeation":
                cells.append(f'`"{entry.permeation}"`')
            elif name in defaults.parameters():
                value = getattr(entry, name)
                cells.append(pretty(value, dims[name][0]) if dims[name] else _number(value))
            else:
                cells.append("— (rejected)")
        lines.append(f"| [`{kind}`](channels.md#{kind}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def receptor_defaults_markdown() -> str:
    """Render the defaults each receptor kind gives the optional keys of a `[[synapses]]` entry."""
    from channelsim.channels import RECEPTORS

    names = ["transmitter", "transmitter_duration", "permeation", "conductance", "permeability"]
    dimensions = {"transmitter": "concentration", "transmitter_duration": "time", "conductance": "conductance",
                  "permeability": "permeability"}
    lines = ["| receptor | " + " | ".join(f"`{n}`" for n in names) + " |", "|---" * (len(names) + 1) + "|"]
    for kind in RECEPTORS:
        entry = _resolved_channel(kind)
        cells = [f'`"{entry.permeation}"`' if name == "permeation" else pretty(getattr(entry, name), dimensions[name])
                 for name in names]
        lines.append(f"| [`{kind}`](channels.md#{kind}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def pump_defaults_markdown() -> str:
    """Render the defaults each pump kind gives the optional keys of a `[[pumps]]` entry."""
    from channelsim.channels.pump import PUMP_KINDS
    from channelsim.config import parse_config
    from channelsim.config.schema import PumpEntry

    names = [n for n in PumpEntry.model_fields if n not in ("kind", "count", "tracking", "region")]
    lines = ["| kind | " + " | ".join(f"`{n}`" for n in names) + " |", "|---" * (len(names) + 1) + "|"]
    for kind, pump in PUMP_KINDS.items():
        entry = parse_config({**_base_raw(), "pumps": [{"kind": kind}]}).pumps[0]
        cells = []
        for name in names:
            annotation, metadata, _ = _flatten(PumpEntry.model_fields[name].annotation,
                                               list(PumpEntry.model_fields[name].metadata))
            dimensions = describe_type(annotation, metadata)[1]
            value = pump.density_per_m2 if name == "density" else getattr(entry, name)
            if value is None:
                cells.append("none (not in its rate law)")
            else:
                cells.append(pretty(value, dimensions[0]) if dimensions else _number(value))
        lines.append(f"| [`{kind}`](channels.md#{kind}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def config_markdown() -> str:
    """Render the config reference: every section and key of the schema, its rules and notes."""
    from channelsim.config.schema import Config

    out = []
    documented: list[str] = []
    seen_sections = set()
    for section, model in _section_models():
        field = Config.model_fields[section]
        is_list = typing.get_origin(field.annotation) is list
        action = model.model_fields.get("action")
        if action is not None:
            values = typing.get_args(action.annotation)
            title = " / ".join(f"`{v}`" for v in values)
            if section not in seen_sections:
                out += [f"## `[[{section}]]`", "",
                        "A list of timed actions, each a `[[protocol]]` table whose `action` picks one of "
                        "the forms below. Times are absolute (from the start of the run) and independent "
                        "of `dt`; a run may have any number of steps, in any order. "
                        f"`--set {section}.N.KEY=VALUE` sets a key of the N-th step (counting from 0 in "
                        "the order of the file), e.g. `--set protocol.0.at=\"5 ms\"`.", ""]
            out += [f"### {title}", ""]
            prefix = f"{section}.{values[0]}"
        else:
            heading = f"[[{section}]]" if is_list else f"[{section}]"
            required = field.is_required()
            out += [f"## `{heading}`", ""]
            if is_list and section == "synapses":
                out += ["A list: one `[[synapses]]` table per group of synapses (optional; none by default). "
                        "`--set synapses.NAME.KEY=VALUE` addresses the entry of that name "
                        "(and adds one if there is none).", ""]
            elif is_list:
                out += [f"A list: one `[[{section}]]` table per kind (optional; none by default). "
                        f"`--set {section}.KIND.KEY=VALUE` addresses the entry of that kind "
                        "(and adds one if there is none).", ""]
            else:
                out += [("Required." if required else "Optional; every key has a default.")
                        + f" `--set {section}.KEY=VALUE` sets a key.", ""]
            prefix = section
        seen_sections.add(section)
        doc = inspect.getdoc(model)
        if doc and model.__doc__ and "Strict" not in doc:
            out += [" ".join(doc.split()), ""]
        notes = {}
        if section == "synapses":
            notes = {name: "per receptor kind (below)" for name in
                     ("transmitter", "transmitter_duration", "permeation", "conductance", "permeability")}
        if section in ("channels", "pumps"):
            notes = {name: "per kind (below)" for name, f in model.model_fields.items()
                     if f.default is None and name not in ("count",)}
            notes["count"] = "from `density`"
        out += field_rows(model, prefix, notes) + [""]
        if section == "channels":
            out += ["**Defaults per kind.** What an entry gets for the keys it leaves out (the run file's "
                    "stored config shows them resolved). A key marked rejected does not exist for that kind.",
                    "", channel_defaults_markdown(), ""]
        if section == "pumps":
            out += ["**Defaults per kind.**", "", pump_defaults_markdown(), ""]
        if section == "synapses":
            out += ["**Defaults per receptor kind.**", "", receptor_defaults_markdown(), ""]
        documented += [name for name in _validators(model) if name not in documented]
    documented += _validators(Config)
    for validator in documented:
        if validator not in RULES:
            _warn(f"model validator {validator} has no entry in RULES (say what it rejects)")
    out += ["## Rules across keys", "",
            "Besides each key's own type and limits, these checks look at several keys together "
            "(one per model validator of the schema):", ""]
    out += [f"- {RULES[v]}" for v in documented if v in RULES]
    out += ["- At the start of a run (before anything is written): voltage clamps may not overlap, and the "
            "inside anions may not outweigh the cations so much that no amount of impermeant anions gives "
            "`cell.initial_voltage`.", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Rejected configs: the loader's real messages

BASE_TOML = """\
[experiment]
name = "example"

[run]
duration = "10 ms"

[[channels]]
kind = "k_leak"
count = 1000
"""

#: (what is wrong, --set overrides or extra TOML). Each must be rejected, or the build fails.
REJECTED = [
    ("a quantity without a unit", ['outside.K=5']),
    ("a unit of the wrong dimension", ['outside.K="5 mV"']),
    ("a misspelt key", ['cell.raduis="5 um"']),
    ("a missing required key", ['experiment.name=']),
    ("a negative time", ['run.duration="-1 s"']),
    ("a number that overflows", ['run.duration="1e309 s"']),
    ("a time step below 1 ns", ['run.dt="1e-12 s"']),
    ("a concentration above 10 M", ['inside.K="20 M"']),
    ("an outside volume of zero", ['outside.volume="0 pL"']),
    ("a cell too large for its ion counts", ['cell.radius="5 mm"']),
    ("more channels than the membrane holds", ['channels.k_leak.count=1000000000000']),
    ("a seed of 2^63", ['run.seed=9223372036854775808']),
    ("a voltage beyond 1 V", ['cell.initial_voltage="2 V"']),
    ("record_every not a multiple of dt", ['run.dt="3 us"']),
    ("a size key the shape does not take", ['cell.length="10 um"']),
    ("a shape without its sizes", ['cell.shape=patch', 'cell.radius=']),
    ("a fractional count", ['channels.k_leak.count=2.5']),
    ("count and density together", ['channels.k_leak.density="1 /um^2"']),
    ("a leak without count or density", ['channels.na_leak.tracking=population']),
    ("an unknown kind", ['channels.kv_1.count=10']),
    ("a parameter the kind lacks", ['channels.hh_na.open_probability=0.5']),
    ("GHK for an HH kind without a permeability", ['channels.hh_k.permeation=ghk']),
    ("an open probability of 0", ['channels.k_leak.open_probability=0']),
    ("an unknown tracking mode", ['channels.k_leak.tracking=agents']),
    ("a positive impermeant valence", ['inside.impermeant_valence=1']),
    ("a protocol entry the config does not have", ['protocol.0.at="1 ms"']),
    ("a protocol step after the end", '[[protocol]]\naction = "voltage_clamp"\nat = "20 ms"\npotential = "0 mV"\n'),
    ("a block of a kind not configured", '[[protocol]]\naction = "block"\nat = "1 ms"\ntarget = "hh_na"\n'),
    ("a pulse train without a period",
     '[[protocol]]\naction = "current_clamp"\nat = "1 ms"\namplitude = "10 pA"\nduration = "1 ms"\ncount = 3\n'),
    ("a train that runs past the end of the run",
     '[[protocol]]\naction = "current_clamp"\nat = "1 ms"\namplitude = "10 pA"\nduration = "0.1 ms"\n'
     'period = "1 ms"\ncount = 100\n'),
    ("a current that moves V by more than 1 V in one step",
     '[[protocol]]\naction = "current_clamp"\nat = "1 ms"\namplitude = "1 mA"\nduration = "1 ms"\n'),
    ("an amplitude that is not a current",
     '[[protocol]]\naction = "current_clamp"\nat = "1 ms"\namplitude = "10 mV"\nduration = "1 ms"\n'),
    ("a receptor kind in [[channels]]", ['channels.ampa.count=10']),
    ("a synapse entry without receptors", '[[synapses]]\nname = "excitatory"\nreceptor = "ampa"\n'),
    ("spikes at a synapse entry that does not exist",
     '[[protocol]]\naction = "presynaptic_spikes"\nat = "1 ms"\ntarget = "excitatory"\n'),
    ("closing more channels than there are",
     '[[protocol]]\naction = "close"\nat = "1 ms"\ntarget = "k_leak"\ncount = 2000\n'),
    ("overlapping voltage clamps (checked when the run starts)",
     '[[protocol]]\naction = "voltage_clamp"\nat = "0 ms"\npotential = "-65 mV"\nduration = "5 ms"\n\n'
     '[[protocol]]\naction = "voltage_clamp"\nat = "2 ms"\npotential = "0 mV"\n'),
]


def rejected_markdown() -> str:
    """Render examples of rejected configs, with the messages the loader really prints."""
    from channelsim.config import load_config_text
    from channelsim.errors import ChannelsimError
    from channelsim.protocol import Schedule

    out = ["Each line changes this config, which is valid as it stands:", "", "```toml", BASE_TOML.rstrip(),
           "```", "", "| change | the message (exit status 2, nothing written) |", "|---|---|"]
    for what, change in REJECTED:
        overrides, text = (change, BASE_TOML) if isinstance(change, list) else ([], BASE_TOML + "\n" + change)
        try:
            Schedule(load_config_text(text, overrides, origin="example.toml"))
        except ChannelsimError as error:
            message = f"error: {error}"
        else:
            _warn(f"REJECTED example {what!r} is accepted by the loader; fix or remove the example")
            continue
        shown = (" ".join(f"`--set {o}`" for o in overrides) if overrides
                 else "<br>".join(f"`{line}`" for line in change.strip().splitlines() if line))
        message = message.replace("|", "\\|")
        out.append(f"| {what}: {shown} | `{message}` |")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Channel and pump catalogue

def docstring_markdown(text: str) -> str:
    """Render a module docstring as markdown: paragraphs as text, indented lines (formulas) as code."""
    out, block, code = [], [], []

    def flush():
        if block:
            out.extend([" ".join(block), ""])
            block.clear()
        if code:
            out.extend(["```text", *code, "```", ""])
            code.clear()

    for line in inspect.cleandoc(text).splitlines():
        if line.startswith("    "):
            if block:
                flush()
            code.append(line[4:])
        elif not line.strip():
            flush()
        else:
            if code:
                flush()
            block.append(line.strip())
    flush()
    return "\n".join(out)


def _rate_label(rate, module) -> str:
    """Name the rate law in its module (e.g. `3 alpha_m`), or `constant`, or ''."""
    names = {id(v): n for n, v in vars(module).items() if callable(v) and not n.startswith("_")}
    if id(rate) in names:
        return f"`{names[id(rate)]}`"
    cells = [c.cell_contents for c in (rate.__closure__ or ())]
    laws = [names[id(c)] for c in cells if id(c) in names]
    factors = [c for c in cells if isinstance(c, (int, float)) and not isinstance(c, bool)]
    if len(laws) == 1 and len(factors) == 1:
        return f"`{laws[0]}`" if factors[0] == 1 else f"`{_number(factors[0])} {laws[0]}`"
    if len({rate(v, 310.15) for v in (-0.1, -0.065, 0.0, 0.05)}) == 1:
        return "constant"
    return ""


def _stationary(scheme, v: float, temperature: float, transmitter: float = 0.0):
    import numpy as np

    q = scheme.rate_matrix(np.array([v]), temperature, transmitter)[0]
    system = np.vstack([q.T, np.ones(len(q))])
    rhs = np.zeros(len(q) + 1)
    rhs[-1] = 1.0
    pi = np.clip(np.linalg.lstsq(system, rhs, rcond=None)[0], 0.0, None)
    return pi / pi.sum()


VOLTAGES_MV = (-65.0, 0.0)
TEMPERATURES_C = (6.3, 37.0)


def scheme_markdown(scheme, module, transmitter_mM: float | None = None) -> str:
    """Render a Markov scheme: its states and transitions, with rates and open probability.

    Rates and the steady-state open probability are given at a few voltages and temperatures. A
    receptor's binding transitions are shown at the transmitter concentration of a release,
    `transmitter_mM`, with their open probability with and without transmitter.
    """
    open_states = set(scheme.conducting)
    states = ", ".join(f"**{s}**" if s in open_states else s for s in scheme.states)
    out = [f"States ({len(scheme.states)}; conducting in bold): {states}", ""]
    if not scheme.transitions:
        return "\n".join(out + ["No transitions: the channel is always in this state.", ""])
    heads = [f"{v:g} mV, {t:g} degC" for t in TEMPERATURES_C for v in VOLTAGES_MV]
    out += ["| from | to | rate law | " + " | ".join(f"1/s at {h}" for h in heads) + " |",
            "|---|---|---|" + "---:|" * len(heads)]
    for t in scheme.transitions:
        factor = transmitter_mM if t.ligand else 1.0
        values = [factor * t.rate(v * 1e-3, tc + 273.15) for tc in TEMPERATURES_C for v in VOLTAGES_MV]
        label = _rate_label(t.rate, module)
        if t.ligand:
            per_molar = t.rate(0.0, 310.15) * 1e3  # 1/s per mol/m^3 -> 1/M/s
            label = f"{_number(per_molar)} /M/s x [T] ([T] = {_number(transmitter_mM)} mM)"
        out.append(f"| {t.source} | {t.target} | {label} | " + " | ".join(_number(x) for x in values) + " |")

    def p_open(transmitter: float) -> list[float]:
        found = []
        for tc in TEMPERATURES_C:
            for v in VOLTAGES_MV:
                pi = _stationary(scheme, v * 1e-3, tc + 273.15, transmitter)
                found.append(sum(p for s, p in zip(scheme.states, pi, strict=True) if s in open_states))
        return found

    if transmitter_mM is None:
        out += ["", "Steady-state open probability: " + ", ".join(
            f"{_number(p)} at {h}" for p, h in zip(p_open(0.0), heads, strict=True)) + ".", ""]
    else:
        held, pulse = p_open(transmitter_mM), f"[T] = {_number(transmitter_mM)} mM held"
        if max(held) - min(held) < 1e-9:
            during = f"{_number(held[0])} with {pulse} (at every voltage and temperature)"
        else:
            during = f"with {pulse} " + ", ".join(f"{_number(p)} at {h}" for p, h in zip(held, heads, strict=True))
        resting = max(p_open(0.0))
        out += ["", f"Steady-state open probability: {_number(resting if resting > 1e-9 else 0.0)} without "
                f"transmitter; {during}.", ""]
    return "\n".join(out)


def _ion_name(ion: str) -> str:
    """Write an ion with its charge and valence, e.g. "Ca2+ (valence +2)"."""
    from channelsim.constants import VALENCE

    valence = VALENCE[ion]
    charge = {1: "+", -1: "-"}.get(valence, f"{abs(valence)}{'+' if valence > 0 else '-'}")
    return f"{ion}{charge} (valence {valence:+d})"


def catalogue_markdown() -> str:
    """Render the channel and pump catalogue (channelsim.channels.KINDS, channelsim.channels.pump.PUMP_KINDS)."""
    from channelsim.channels import KINDS
    from channelsim.channels.pump import PUMP_KINDS

    def ions(d) -> str:
        if len(d.permeant_ions) == 1:
            return d.ion
        return " and ".join(d.permeant_ions) + " (" + " : ".join(_number(r) for r in d.permeant_ions.values()) + ")"

    out = ["## Channel kinds", "", "For `[[channels]]` entries.", "",
           "| kind | description | ion | permeation | default density |", "|---|---|---|---|---|"]
    for kind, d in KINDS.items():
        if d.is_receptor:
            continue
        density = pretty(d.density_per_m2, "density") if d.density_per_m2 is not None else "none (give a count)"
        out.append(f"| [`{kind}`](#{kind}) | {d.description} | {ions(d)} | {d.permeation} | "
                   f"{density} |")
    out += ["", "## Receptor kinds", "",
            "For `[[synapses]]` entries (`receptor = \"...\"`): channels opened by transmitter in their "
            "synapse's cleft.", "", "| kind | description | ions (permeability ratios) | permeation | "
            "transmitter pulse per release |", "|---|---|---|---|---|"]
    for kind, d in KINDS.items():
        if d.is_receptor:
            out.append(f"| [`{kind}`](#{kind}) | {d.description} | {ions(d)} | {d.permeation} | "
                       f"{pretty(d.transmitter_mM, 'concentration')} for "
                       f"{pretty(d.transmitter_duration_s, 'time')} |")
    out.append("")
    modules: dict[str, list[str]] = {}
    for kind, d in KINDS.items():
        modules.setdefault(d.scheme.__module__, []).append(kind)
    for module_name, kinds in modules.items():
        module = sys.modules[module_name]
        out += [f"### Notes from `{module_name}`", "", f"Kinds: {', '.join(f'`{k}`' for k in kinds)}.", "",
                docstring_markdown(module.__doc__ or ""), ""]
        for kind in kinds:
            d = KINDS[kind]
            entry = _resolved_channel(kind)
            if len(d.permeant_ions) == 1:
                ion_row = ("ion", _ion_name(d.ion))
            else:
                ion_row = (f"ions (permeability ratios to the unitary value, which is {d.ion}'s)",
                           ", ".join(f"{_ion_name(ion)}: {_number(r)}" for ion, r in d.permeant_ions.items()))
            rows = [("description", d.description), ion_row,
                    ("default permeation", f"`{d.permeation}`"),
                    ("unitary conductance", pretty(d.conductance_S, "conductance")),
                    ("single-channel permeability (GHK)",
                     pretty(d.permeability_m3_per_s, "permeability") if d.permeability_m3_per_s is not None
                     else "none (GHK permeation needs `permeability` in the entry)")]
            if d.is_receptor:
                rows.append(("used in", "`[[synapses]]` entries (`receptor`), with `receptors` per synapse"))
                rows.append(("transmitter pulse of one release", f"{pretty(d.transmitter_mM, 'concentration')} "
                             f"for {pretty(d.transmitter_duration_s, 'time')}"))
            elif d.density_per_m2 is not None:
                rows.append(("default density", pretty(d.density_per_m2, "density")))
                # S/m^2 -> mS/cm^2
                rows.append(("maximal conductance at the default density",
                             f"{_number(d.conductance_S * d.density_per_m2 * 0.1)} mS/cm^2"))
            else:
                rows.append(("default density", "none: the entry gives `count` or `density`"))
            if d.open_probability is not None:
                rows.append(("default open probability", _number(d.open_probability)))
            if d.mean_open_time_s is not None:
                rows.append(("default mean open time", pretty(d.mean_open_time_s, "time")))
            rows.append(("per-entry parameters", ", ".join(f"`{p}`" for p in d.parameters())))
            rows.append(("sources", d.source))
            out += [f"### `{kind}`", "", "| property | value |", "|---|---|"]
            out += [f"| {a} | {b} |" for a, b in rows]
            out += ["", "**Markov scheme** (with the kind's defaults):", "",
                    scheme_markdown(d.scheme(entry), module, d.transmitter_mM)]
            if "open_probability" in d.parameters() and len(d.scheme(entry).states) < 2:
                flicker = _resolved_channel(kind, open_probability=0.5)
                out += [f"With `open_probability = 0.5` (and the default mean open time of "
                        f"{pretty(flicker.mean_open_time, 'time')}):", "",
                        scheme_markdown(d.scheme(flicker), module)]
    out += ["## Pump kinds", ""]
    pump_module = sys.modules[next(iter(PUMP_KINDS.values())).__class__.__module__]
    out += [f"### Notes from `{pump_module.__name__}`", "", docstring_markdown(pump_module.__doc__ or ""), ""]
    from channelsim.physics import pump_cycle_rate

    for kind, p in PUMP_KINDS.items():
        stoichiometry = ", ".join(f"{n:+d} {ion}" for ion, n in p.stoichiometry.items())
        rows = [("description", p.description),
                ("ions into the cell per forward cycle", stoichiometry),
                ("rate law", f"`{p.law}` (see the notes above)"),
                ("rate constant k (maximal turnover for na_k)", pretty(p.max_turnover_per_s, "rate")),
                ("default density", pretty(p.density_per_m2, "density"))]
        if p.law == "na_k":
            resting = pump_cycle_rate(p.max_turnover_per_s, p.half_saturation_na_mM, p.half_saturation_k_mM,
                                      10.0, 145.0, 5.0, -0.070, 310.15)
            rows += [("K_Na (inside Na+)", pretty(p.half_saturation_na_mM, "concentration")),
                     ("K_K (outside K+)", pretty(p.half_saturation_k_mM, "concentration")),
                     ("maximal pump current density (1 charge out per cycle)",
                      f"{_number(1.602176634e-19 * p.max_turnover_per_s * p.density_per_m2 * 100)} uA/cm^2"),
                     ("cycle rate at -70 mV, [Na]i 10, [Na]o 145, [K]o 5 mM, 37 degC", f"{_number(resting)} /s"),
                     ("ouabain IC50 without K+", pretty(p.ouabain_ic50_mM, "concentration")),
                     ("[K]o that doubles the ouabain IC50 (K+ competes)",
                      pretty(p.ouabain_k_competition_mM, "concentration")),
                     ("ouabain Hill coefficient", _number(p.ouabain_hill))]
        else:
            rows += [("rate law constants", ", ".join(_number(c) for c in p.law_constants))]
        rows += [("sources", p.source)]
        out += [f"### `{kind}`", "", "| property | value |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows] + [""]
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Run file

def _variables_table(variables: dict) -> str:
    lines = ["| name | dimensions | dtype | units | description |", "|---|---|---|---|---|"]
    for name, var in variables.items():
        dims = f"[{', '.join(var.dims)}]" if var.dims else "scalar"
        lines.append(f"| `{name}` | {dims} | {var.dtype} | `{var.units}` | {var.description} |")
    return "\n".join(lines)


#: What each coordinate's values are (channelsim.recording.layout.COORDINATES); a coordinate
#: missing here fails the strict build.
COORDINATE_VALUES = {
    "time": "recording times: 0, `record_every`, 2 `record_every`, ... `duration`",
    "spike": "0, 1, ... (one per spike)",
    "ion": None,  # generated from channelsim.constants below
    "kind": "the run's channel kinds, then its synapse entries (by name), then its pump kinds",
    "synapse": "the run's `[[synapses]]` entries, by name",
}


def run_file_markdown() -> str:
    """Render the run file's dimensions and variables (channelsim.recording.layout)."""
    from channelsim.constants import IONS, VALENCE
    from channelsim.recording import layout

    out = ["## Dimensions", "", "Each dimension has a coordinate variable of the same name.", "",
           "| dimension | dtype | units | description | values |", "|---|---|---|---|---|"]
    for name, var in layout.COORDINATES.items():
        if name not in COORDINATE_VALUES:
            _warn(f"coordinate {name!r} has no entry in COORDINATE_VALUES (say what its values are)")
        values = COORDINATE_VALUES.get(name) or ""
        if name == "ion":
            values = ", ".join(f"`{i}` ({VALENCE[i]:+d})" for i in IONS)
        units = f"`{var.units}`" if var.units else ""
        out.append(f"| `{name}` | {var.dtype} | {units} | {var.description} | {values} |")
    out += ["",
            "## Time series", "", "One row per recording, t = 0 included.", "", _variables_table(layout.SERIES), "",
            "## Events", "", "One row per event.", "", _variables_table(layout.EVENTS), "",
            "## Constants", "", "Written once, when the file is created.", "", _variables_table(layout.CONSTANTS), "",
            "## Cables", "",
            "A cell of one compartment has the layout above (`membrane_potential[time]`, as files written before "
            "cables existed). A cable (`cell.shape = \"cable\"`) adds a dimension `compartment` (index along "
            "the cable), with `position` as its coordinate, and records `membrane_potential` of every "
            "compartment; the whole-cell series above stay sums over the compartments. Every compartment has "
            "a spike detector, so `spike_time` lists the spikes of all of them and `spike_compartment` says "
            "where each was (`channelsim.conduction` turns them into arrival times, the conduction velocity and "
            "where propagation failed).", "",
            _variables_table({**layout.CABLE_COORDINATES, **layout.CABLE_SERIES, **layout.CABLE_EVENTS,
                              **layout.CABLE_CONSTANTS}), "",
            "## Root attributes", "", "| attribute | meaning |", "|---|---|"]
    out += [f"| `{k}` | {v} |" for k, v in ROOT_ATTRIBUTES.items()]
    out += ["", "## Status", "", "The `status` attribute is one of:", "", "| status | meaning |", "|---|---|"]
    for status in layout.STATUSES:
        if status not in STATUS_MEANINGS:
            _warn(f"run status {status!r} has no entry in STATUS_MEANINGS")
        out.append(f"| `{status}` | {STATUS_MEANINGS.get(status, '')} |")
    out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Checkpoint: the arrays of MembranePatch.state()

#: Checkpoint arrays whose meaning the comments of channelsim/kernels/state.py do not give (or give
#: only as units), written as those comments are: "(shape) dtype meaning". The shape in the code's
#: comment wins over the shape here; the words here win over the comment's. A saved array with
#: neither shape nor meaning fails the strict build.
CHECKPOINT_NOTES = {
    "compartments.counts_in": "(ions,) int64 ions in the cell",
    "compartments.counts_out": "(ions,) int64 ions outside; for a bath, the net number it received",
    "compartments.efflux_total": "(ions,) int64 cumulative ions that left through channels",
    "compartments.bath": "(ions,) float64 outside concentrations the flux laws see (mol/m^3): the bath's, "
                         "as `set_outside` left them",
    "compartments.influx_total": "(ions,) int64 cumulative ions that entered through channels",
    "compartments.spike_armed": "(1,) int64 1 when the spike detector is armed, 0 until V falls below the "
                                "re-arm level",
    "kinds.mode": "(K,) int64 tracking mode: `kernels.loop` AGENT, POPULATION or MEAN_FIELD",
    "kinds.permeation": "(K,) int64 flux law: `kernels.permeation` GHK or OHMIC",
    "kinds.agent_states": "(sum of agent-tracked counts,) uint8 state of every agent-tracked channel, kind "
                          "after kind",
    "kinds.agent_blocked": "(sum of agent-tracked counts,) uint8 1 where that channel is blocked",
    "kinds.agent_order": "(sum of agent-tracked counts,) int64 agents grouped by state, per kind "
                         "(`kernels.agent_events`)",
    "kinds.agent_position": "(sum of agent-tracked counts,) int64 each agent's index in `agent_order`",
    "kinds.n_states": "(K,) int64 states of each kind's scheme",
    "kinds.count": "(K,) int64 channels of each kind",
    "kinds.conducting": "(K, S) int64 1 where a state conducts",
    "kinds.agent_offset": "(K + 1,) int64 where each kind's channels start in the agent arrays",
    "pumps.mode": "(P,) int64 tracking mode: `kernels.loop` AGENT, POPULATION or MEAN_FIELD",
    "pumps.compartment": "(P,) int64 the compartment whose membrane holds the kind",
    "pumps.max_rate": "(P,) float64 maximal cycle rate of one pump (1/s)",
    "pumps.law": "(P,) int64 rate law: `kernels.pump` NA_K, NCX or PMCA",
    "pumps.constants": "(P, 4) float64 the rate law's constants (NCX: K_mNa, K_mCa in mol/m^3, k_sat, eta; "
                       "PMCA: K_m)",
    "pumps.km_na": "(P,) float64 half saturation of the inner ion (mol/m^3)",
    "pumps.km_k": "(P,) float64 half saturation of the outer ion (mol/m^3)",
    "previous_row.electrode": "(1, ions) int64 cumulative ions delivered by the electrode: the next row's "
                              "`electrode_current` is the difference from it",
    "previous_row.pump_cycles": "(1, P) int64 cumulative completed cycles per pump kind",
    "previous_row.spike_steps": "(1,) int64 unused (zero): spikes are not part of a row",
    "previous_row.spike_count": "(1,) int64 unused (zero)",
    "channel_agents_absent": "(sum of agent-tracked counts,) uint8 1 where an agent slot holds no channel (not "
                             "yet inserted by `open`, or removed by `close`), aligned with `kinds.agent_states`",
    "pump_agents_blocked": "(agent-tracked pumps,) uint8 blocked flag of every pump of the agent-tracked "
                           "pump kinds, kind after kind (empty when there are none)",
    "ouabain_blocked": "(P,) float64 each pump kind's present ouabain binding probability, from which the "
                       "next `ouabain` step binds or frees pumps",
    "next_event": "(1,) int64 how many protocol events (in time order) have been applied",
    "step_index": "(1,) int64 time steps done; the run goes on from here",
}

#: The prefix of a saved array -> the kernel NamedTuple it comes from.
CHECKPOINT_GROUPS = {"compartments": "Compartments", "kinds": "Kinds", "pumps": "Pumps",
                     "previous_row": "Records"}

#: The model whose state() the table is generated from: every tracking mode and a pump.
CHECKPOINT_EXAMPLE = BASE_TOML + """
[[channels]]
kind = "hh_na"
tracking = "population"

[[channels]]
kind = "cl_leak"
count = 10
tracking = "mean_field"

[[pumps]]
kind = "na_k_atpase"
count = 100
tracking = "agent"
"""


def _field_comments(module) -> dict[str, dict[str, str]]:
    """Collect the trailing comment of every field of every class in a module's source, by class and field."""
    import ast
    import io
    import tokenize

    source = inspect.getsource(module)
    comments = {token.start[0]: token.string.lstrip("# ").strip()
                for token in tokenize.generate_tokens(io.StringIO(source).readline)
                if token.type == tokenize.COMMENT}
    found: dict[str, dict[str, str]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef):
            found[node.name] = {item.target.id: comments.get(item.lineno, "") for item in node.body
                                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)}
    return found


#: "(shape) dtype meaning", each part optional.
_CHECKPOINT_COMMENT = re.compile(r"^(\([^)]*\))?(?:same shape)?[,;:]?\s*(int64|float64|uint8)?[,;:]?\s*(.*)$")


def checkpoint_markdown() -> str:
    """Render the arrays of a run file's checkpoint, with shapes and meanings from kernels/state.py."""
    from channelsim.config import load_config_text
    from channelsim.constants import IONS
    from channelsim.kernels import state as kernel_state
    from channelsim.model import build
    from channelsim.recording.layout import SERIES

    saved = build(load_config_text(CHECKPOINT_EXAMPLE, origin="example.toml")).state()
    comments = _field_comments(kernel_state)
    sizes = {"time": "1", "ion": "ions", "kind": "K"}  # a raw row's dimensions (kind: channel kinds)

    def parts(name: str) -> tuple[str, str, str, str]:
        """(group, field, shape, meaning) from the field's comment in kernels/state.py."""
        group, _, field = name.rpartition(".")
        shape, _, meaning = _CHECKPOINT_COMMENT.match(
            comments.get(CHECKPOINT_GROUPS.get(group, ""), {}).get(field, "")).groups()
        return group, field, shape, meaning

    # a field whose comment gives no shape has the shape of a commented field of its group
    # with arrays of the same shape in the example (influx_total that of efflux_total)
    sibling: dict[tuple, str] = {}
    for name, array in saved.items():
        group, _, shape, _ = parts(name)
        if group and shape:
            sibling.setdefault((group, array.shape), shape)
    rows = []
    for name, array in saved.items():
        group, field, shape, meaning = parts(name)
        note_shape, _, note = _CHECKPOINT_COMMENT.match(CHECKPOINT_NOTES.get(name, "")).groups()
        shape = shape or (sibling.get((group, array.shape)) if group else None) or note_shape
        meaning = note or meaning  # the code's shape, the note's words
        if group == "previous_row":
            if shape:
                shape = shape.replace("(rows,", "(1,")  # one row
            elif field in SERIES:
                dims = [sizes[d] for d in SERIES[field].dims]
                shape = f"({', '.join(dims)}{',' if len(dims) == 1 else ''})"
            if not meaning and field in SERIES:
                meaning = SERIES[field].description
        if not meaning or not shape:
            _warn(f"checkpoint array {name!r}: no shape and meaning in a comment of kernels/state.py nor in "
                  "CHECKPOINT_NOTES")
        if group == "previous_row":
            meaning = f"last recorded raw row: {meaning}"
        rows.append(f"| `{name}` | {shape or ''} | {array.dtype} | {meaning} |")
    symbols = {"ions": f"the {len(IONS)} ions ({', '.join(IONS)})", "C": "the cell's compartments",
               "K": "the run's channel kinds", "S": "the largest number of states of their schemes",
               "A": "the channels tracked as agents", "P": "the pump kinds"}
    shapes = " ".join(row.split(" | ")[1] for row in rows)
    used = [f"`{symbol}` {text}" for symbol, text in symbols.items() if re.search(rf"\b{symbol}\b", shapes)]
    out = [f"Shapes: {', '.join(used)}; kinds are in the order of the `kind` dimension.", "",
           "| dataset in `checkpoint/N/` | shape | dtype | content |", "|---|---|---|---|", *rows]
    left_out = [f"`{group}.{field}`" for group, cls in CHECKPOINT_GROUPS.items()
                for field in getattr(kernel_state, cls)._fields if f"{group}.{field}" not in saved]
    out += ["", "Not saved, because they are rebuilt from the stored config when the run is resumed: "
            "`Membrane` (the run's constants), the protocol's `Schedule`"
            + (f", and {', '.join(left_out)}" if left_out else "") + ".", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Command line

def cli_markdown() -> str:
    """Render the command line reference (channelsim.cli, a click group)."""
    import click

    from channelsim.cli import main

    def options_table(command) -> list[str]:
        lines = ["| option | value | meaning |", "|---|---|---|"]
        for param in command.params:
            if isinstance(param, click.Argument):
                continue
            names = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
            type_name = "INTEGER" if isinstance(param.type, click.IntRange) else param.type.name.upper()
            value = "" if param.is_flag else f"`{param.metavar or type_name}`"
            if isinstance(param.type, click.IntRange) and param.type.min is not None:
                value += f" (>= {param.type.min})"
            text = (param.help or "").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
            if param.multiple:
                value += " (repeatable)" if "repeatable" not in text else ""
            lines.append(f"| {names} | {value} | {text} |")
        return lines

    root = click.Context(main, info_name="channelsim")
    out = ["```text", f"channelsim {' '.join(main.collect_usage_pieces(root))}", "```", "",
           inspect.cleandoc(main.help or ""), "", *options_table(main), ""]
    for name, command in main.commands.items():
        ctx = click.Context(command, info_name=name, parent=root)
        out += [f"### `channelsim {name}`", "", "```text",
                f"channelsim {name} {' '.join(command.collect_usage_pieces(ctx))}", "```", "",
                inspect.cleandoc(command.help or ""), ""]
        if any(not isinstance(p, click.Argument) for p in command.params):
            out += options_table(command) + [""]
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Experiments

def experiments_markdown() -> str:
    """Render experiments/README.md and every experiments/*.toml."""
    folder = ROOT / "experiments"
    readme = (folder / "README.md").read_text()
    readme = re.sub(r"^# .*\n", "", readme, count=1)  # the page has its own title
    out = [readme.strip(), "", "## The configs", "",
           "Each file as it is in `experiments/` (the comments at the top say what it shows).", ""]
    for path in sorted(folder.glob("*.toml")):
        out += [f"### `{path.name}`", "", "```toml", path.read_text().rstrip(), "```", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# The hook

GENERATORS = {
    "config": config_markdown,
    "units": units_markdown,
    "rejected": rejected_markdown,
    "catalogue": catalogue_markdown,
    "run-file": run_file_markdown,
    "checkpoint": checkpoint_markdown,
    "cli": cli_markdown,
    "experiments": experiments_markdown,
}


def expand(markdown: str, where: str = "") -> str:
    """Replace every `<!-- generate: NAME -->` marker in `markdown` with that part; `where` names the page."""
    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise KeyError(f"{where}: unknown marker <!-- generate: {name} -->; known: {', '.join(GENERATORS)}")
        return GENERATORS[name]().rstrip()

    return MARKER.sub(replace, markdown)


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Expand the generated parts of a page (the MkDocs hook) and warn where it points outside the repository."""
    from mkdocs.exceptions import PluginError

    try:
        markdown = expand(markdown, page.file.src_uri)
    except KeyError as error:
        raise PluginError(str(error)) from None
    for word in FORBIDDEN:
        if word in markdown:
            _warn(f"{page.file.src_uri} mentions {word!r}, which is not in the repository")
    return markdown


if __name__ == "__main__":
    for name in sys.argv[1:] or GENERATORS:
        print(GENERATORS[name]())
