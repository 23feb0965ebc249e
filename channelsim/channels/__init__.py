"""Channel and pump kinds as data: Markov schemes, permeant ion, unitary values, sources."""

from channelsim.channels.hh import HH_KINDS
from channelsim.channels.leak import LEAK_KINDS
from channelsim.channels.scheme import KindDefaults, MarkovScheme, Transition

#: Every kind a config may name, by name.
KINDS: dict[str, KindDefaults] = {**LEAK_KINDS, **HH_KINDS}

__all__ = ["KINDS", "KindDefaults", "MarkovScheme", "Transition"]
