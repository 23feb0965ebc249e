"""The live view: watch the channels of a run work in a browser (``channelsim view CONFIG``).

Needs the optional dependencies: ``pip install -e ".[view]"``.
"""

#: How ``channelsim view`` hands the page its run: config path, ``--set`` overrides (JSON list),
#: seed, and where "save session" writes.
CONFIG_ENV = "CHANNELSIM_VIEW_CONFIG"
OVERRIDES_ENV = "CHANNELSIM_VIEW_OVERRIDES"
SEED_ENV = "CHANNELSIM_VIEW_SEED"
SAVE_ENV = "CHANNELSIM_VIEW_SAVE"
