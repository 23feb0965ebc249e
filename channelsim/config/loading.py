"""Read a TOML config, apply `--set` overrides, validate, and fill in every default.

All problems surface as one `ConfigError` naming the field as `--set` would address it
(`cell.radius`, `channels.k_leak.count`, `synapses.excitatory.receptors`) and saying how to fix it.
"""

from __future__ import annotations

import codecs
import copy
import stat
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from channelsim.channels import KINDS
from channelsim.channels.pump import PUMP_KINDS
from channelsim.config.schema import Config
from channelsim.errors import ConfigError

_LIST_SECTIONS = ("channels", "pumps", "synapses", "protocol")
#: The key that names an entry of a list section for `--set` (protocol steps go by position).
_SELECTOR = {"channels": "kind", "pumps": "kind", "synapses": "name"}


#: A config is a small text file; anything larger is not one (and is not read into memory).
MAX_CONFIG_BYTES = 1_000_000


def load_config(source: str | Path, overrides: list[str] = ()) -> Config:
    """Load, override, validate and resolve a config.

    The source is a path, or TOML text (a string holding a line break or an `=`).
    """
    if isinstance(source, str) and ("\n" in source or "=" in source):
        return load_config_text(source, overrides)
    path = Path(source)
    return load_config_text(read_config_text(path), overrides, origin=str(path))


def read_config_text(path: Path) -> str:
    """Read the text of a config file.

    The config must be a regular file (not a FIFO or a device, which could block or never end), at
    most 1 MB, UTF-8 without a byte-order mark.
    """
    try:
        status = path.stat()
    except FileNotFoundError:
        raise ConfigError(str(path), "no such config file", "check the path") from None
    except OSError as error:
        raise ConfigError(str(path), f"cannot be read ({error.strerror})", "give a readable TOML file") from None
    if not stat.S_ISREG(status.st_mode):
        what = "a folder" if stat.S_ISDIR(status.st_mode) else "not a regular file (a pipe, socket or device)"
        raise ConfigError(str(path), f"is {what}", "give the path of a TOML file") from None
    if status.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(str(path), f"is {status.st_size:,} bytes, too large for a config (at most "
                          f"{MAX_CONFIG_BYTES:,})", "give the path of a TOML config file") from None
    try:
        with path.open("rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise ConfigError(str(path), f"cannot be read ({error.strerror})", "give a readable TOML file") from None
    if data.startswith(codecs.BOM_UTF8):
        raise ConfigError(str(path), "starts with a byte-order mark (BOM), which TOML does not allow",
                          "save it as UTF-8 without a BOM") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ConfigError(str(path), "is UTF-16 text (it starts with a UTF-16 byte-order mark)",
                          "save it as UTF-8") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(str(path), f"is not UTF-8 text (byte {error.start} is 0x{data[error.start]:02x})",
                          "save it as UTF-8") from None


def load_config_text(text: str, overrides: list[str] = (), origin: str = "config") -> Config:
    """As `load_config`, from TOML text (e.g. the resolved config stored in a run file)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(origin, f"is not valid TOML ({error})", "fix the syntax there") from None
    return parse_config(apply_overrides(raw, overrides))


def _override_value(text: str) -> Any:
    """Read a `--set` value as a TOML value if it is one (500, 1.5, true), else as a string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def parse_overrides(overrides: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` command-line overrides as settings; an empty VALUE (`cell.radius=`) is None."""
    settings: dict[str, Any] = {}
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or "." not in key or not all(key.strip().split(".")):
            raise ConfigError(f"--set {item}", "is not KEY=VALUE with a dotted key",
                              'write e.g. --set outside.K="10 mM"')
        settings[key.strip()] = _override_value(text.strip()) if text.strip() else None
    return settings


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply `KEY=VALUE` command-line overrides (see `apply_settings`)."""
    settings = parse_overrides(overrides)  # its errors already name the --set item
    try:
        return apply_settings(raw, settings)
    except ConfigError as error:
        raise ConfigError(f"--set {error.field}", error.problem, error.fix) from None


def _list_entry(raw: dict, section: str, selector: str, key: str) -> dict:
    """Find the entry of a list section that `--set` addresses.

    [[channels]] and [[pumps]] by kind, [[synapses]] by name (one not yet listed gets a new
    entry), [[protocol]] by its position.
    """
    entries = raw.setdefault(section, [])
    if section == "protocol":
        if not selector.isdigit() or int(selector) >= len(entries):
            raise ConfigError(key, f"the config has {len(entries)} protocol entries",
                              f"address one as protocol.N.FIELD with N from 0 to {len(entries) - 1}"
                              if entries else "add a [[protocol]] entry to the config first")
        return entries[int(selector)]
    field = _SELECTOR[section]
    entry = next((e for e in entries if isinstance(e, dict) and e.get(field) == selector), None)
    if entry is None:
        entry = {field: selector}
        entries.append(entry)
    return entry


def apply_settings(raw: dict, settings: dict[str, Any]) -> dict:
    """Set values by dotted key (`outside.K`, `channels.k_leak.count`, `protocol.0.at`) in a raw config.

    A value of None removes the key (e.g. `cell.radius` when switching `cell.shape`).
    """
    for key, value in settings.items():
        parts = key.split(".")
        node = raw
        if parts[0] in _LIST_SECTIONS:
            if len(parts) != 3:
                form, example = {"protocol": ("protocol.N.FIELD", 'protocol.0.at="5 ms"'),
                                 "synapses": ("synapses.NAME.FIELD", "synapses.excitatory.count=4")}.get(
                    parts[0], (f"{parts[0]}.KIND.FIELD", f"{parts[0]}.k_leak.count=500"))
                raise ConfigError(key, f"{parts[0]} keys have the form {form}", f"write e.g. {example}")
            node = _list_entry(raw, parts[0], parts[1], key)
            parts = parts[2:]
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(key, f"{part} is not a section", "check the key against the config")
        if value is None:
            node.pop(parts[-1], None)
        else:
            node[parts[-1]] = value
    return raw


def _field_name(location: tuple, raw: dict) -> str:
    """Dotted name of a pydantic error location, with list entries named by their kind."""
    names: list[str] = []
    node: Any = raw
    for part in location:
        if isinstance(part, int) and isinstance(node, list):
            entry = node[part] if part < len(node) else {}
            names.append(str(entry.get("kind", entry.get("name", part))) if isinstance(entry, dict) else str(part))
            node = entry
        else:
            names.append(str(part))
            node = node.get(part, {}) if isinstance(node, dict) else {}
    return ".".join(names) or "config"


def _fix_for(error: dict) -> str:
    kind, limits = error["type"], error.get("ctx", {})
    if kind == "extra_forbidden":
        return "remove it or correct its spelling (docs/config.md lists every key)"
    if kind == "missing":
        return "add it"
    bounds = {"greater_than": "above", "greater_than_equal": "at least", "less_than": "below",
              "less_than_equal": "at most"}
    if kind in bounds:
        limit = next(iter(limits.values()), None)
        return f"give a value {bounds[kind]} {limit}" if limit is not None else "give a value in that range"
    if kind == "string_too_long":
        return f"shorten it to at most {limits.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        return "use only letters, digits, '_', '.' and '-'"
    if kind == "finite_number":
        return "give a finite number"
    if kind == "list_type" and error["loc"] and error["loc"][-1] in _LIST_SECTIONS:
        return f"write each entry as a [[{error['loc'][-1]}]] table"
    if kind == "string_type":
        return "write it as text in quotes"
    if kind.startswith("int") or kind.startswith("float"):
        return "give a number of the right type"
    return "correct the value"


def parse_config(raw: dict) -> Config:
    """Validate a raw config dict and return it with every default resolved."""
    given = copy.deepcopy(raw)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = _field_name(error["loc"], raw)
        problem = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            problem = "unknown key"
        if error["type"] == "finite_number":
            problem = f"{error['input']!r} is not a finite number"
        more = exc.error_count() - 1
        if more:
            problem += f" (and {more} more problem{'s' if more > 1 else ''})"
        if error["type"] == "value_error" and ";" in problem:
            # model-level checks write "field: problem; fix"
            head, _, rest = problem.partition(": ")
            if rest and all(part.isidentifier() or part.isdigit() for part in head.split(".")):
                field, problem = (head if field == "config" else f"{field}.{head}"), rest
            problem, fix = problem.split(";", 1)
            raise ConfigError(field, problem, fix.strip()) from None
        raise ConfigError(field, problem, _fix_for(error)) from None
    resolved = _resolve(config)
    resolved._given = given
    return resolved


def updated_config(config: Config, settings: dict[str, Any]) -> Config:
    """`config` with settings applied to the config as it was given, then validated and resolved."""
    return parse_config(apply_settings(copy.deepcopy(config._given), dict(settings)))


def _resolve(config: Config) -> Config:
    """Fill every per-kind default in, and turn densities into counts."""
    geometry = config.cell.geometry

    def area_of(entry) -> float:
        """Membrane area (m^2) of the entry's region."""
        return config.cell.area_m2 if geometry is None else float(geometry.area[geometry.in_region(entry.region)].sum())

    entries = []
    for entry in config.channels:
        defaults = KINDS[entry.kind]
        density = entry.density if entry.density is not None else defaults.density_per_m2
        count = entry.count if entry.count is not None else round(density * area_of(entry))
        entries.append(_with_defaults(entry, defaults.parameters(), count=count, density=None,
                                      permeation=entry.permeation or defaults.permeation))
    pumps = []
    for entry in config.pumps:
        kind = PUMP_KINDS[entry.kind]
        defaults = {"max_turnover": kind.max_turnover_per_s, "half_saturation_na": kind.half_saturation_na_mM,
                    "half_saturation_k": kind.half_saturation_k_mM, "ouabain_ic50": kind.ouabain_ic50_mM,
                    "ouabain_hill": kind.ouabain_hill, "ouabain_k_competition": kind.ouabain_k_competition_mM}
        defaults = {name: value for name, value in defaults.items() if value is not None}
        density = entry.density if entry.density is not None else kind.density_per_m2
        count = entry.count if entry.count is not None else round(density * area_of(entry))
        pumps.append(_with_defaults(entry, defaults, count=count, density=None))
    synapses = []
    for entry in config.synapses:
        kind = KINDS[entry.receptor]
        defaults = {"transmitter": kind.transmitter_mM, "transmitter_duration": kind.transmitter_duration_s,
                    "permeation": kind.permeation, "conductance": kind.conductance_S,
                    "permeability": kind.permeability_m3_per_s}
        synapses.append(_with_defaults(entry, defaults))
    synapses.sort(key=lambda e: e.name)  # canonical order: the run's synapse dimension and clefts
    return config.model_copy(update={"channels": entries, "pumps": pumps, "synapses": synapses})


def _with_defaults(entry, defaults: dict[str, Any], **update: Any):
    """Return the entry with `update` applied and its kind's `defaults` for every parameter it does not give."""
    given = {name: getattr(entry, name) for name in defaults if getattr(entry, name) is not None}
    return entry.model_copy(update={**update, **defaults, **given})


def resolved_toml(config: Config) -> str:
    """Write the config as TOML with every default written out; `load_config` reads it back."""
    def without_none(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: without_none(v) for k, v in node.items() if v is not None}
        if isinstance(node, list):
            return [without_none(v) for v in node]
        return node

    return tomli_w.dumps(without_none(config.model_dump(mode="json")))
