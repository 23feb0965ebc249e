"""Channel, receptor and pump kinds as data: Markov schemes, permeant ions, unitary values, sources."""

from channelsim.channels.cardiac import CARDIAC_KINDS
from channelsim.channels.hh import HH_KINDS
from channelsim.channels.leak import LEAK_KINDS
from channelsim.channels.receptors import RECEPTOR_KINDS
from channelsim.channels.scheme import KindDefaults, MarkovScheme, Transition

#: Every kind a config may name, by name: channel kinds for `[[channels]]`, receptor kinds
#: (`KindDefaults.is_receptor`) for `[[synapses]]`.
KINDS: dict[str, KindDefaults] = {**LEAK_KINDS, **HH_KINDS, **CARDIAC_KINDS, **RECEPTOR_KINDS}
#: The kinds a `[[channels]]` entry may name.
CHANNEL_KINDS = [kind for kind, defaults in KINDS.items() if not defaults.is_receptor]
#: The receptor kinds a `[[synapses]]` entry may name.
RECEPTORS = [kind for kind, defaults in KINDS.items() if defaults.is_receptor]

__all__ = ["CHANNEL_KINDS", "KINDS", "RECEPTORS", "KindDefaults", "MarkovScheme", "Transition"]
