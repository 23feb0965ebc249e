"""The Mesa layer: a membrane patch holding compartments and channel populations."""

from channelsim.model.patch import ChannelPopulation, ChannelView, MembranePatch, build

__all__ = ["ChannelPopulation", "ChannelView", "MembranePatch", "build"]
