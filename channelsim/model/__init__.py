"""The Mesa layer: a membrane patch that owns its state, with channel and pump populations."""

from channelsim.model.patch import MembranePatch, Segment, build
from channelsim.model.populations import ChannelPopulation, ChannelView, PumpPopulation

__all__ = ["ChannelPopulation", "ChannelView", "MembranePatch", "PumpPopulation", "Segment", "build"]
