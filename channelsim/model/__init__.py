"""The Mesa layer: a membrane patch that owns its state, with channel and pump populations."""

# Mesa first: its import inspects the call stack against every module loaded (a logging
# decorator of mesa.model), which costs least before numba's hundreds of modules are.
from channelsim.model.dependencies import mesa  # noqa: F401
from channelsim.model.patch import MembranePatch, Segment, build
from channelsim.model.populations import ChannelPopulation, ChannelView, PumpPopulation

__all__ = ["ChannelPopulation", "ChannelView", "MembranePatch", "PumpPopulation", "Segment", "build"]
