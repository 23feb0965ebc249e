"""Experiment configs: strict TOML schema, loading, `--set` overrides, resolved defaults."""

from channelsim.config.loading import apply_overrides, load_config, load_config_text, parse_config, resolved_toml
from channelsim.config.schema import ChannelEntry, Config

__all__ = ["ChannelEntry", "Config", "apply_overrides", "load_config", "load_config_text", "parse_config",
           "resolved_toml"]
