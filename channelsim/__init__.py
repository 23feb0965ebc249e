"""channelsim: a cell membrane simulated one ion channel and one pump at a time.

The Python API, for notebooks and scripts::

    import channelsim
    config = channelsim.load_config("experiments/nernst_k.toml").updated({"outside.K": "20 mM"})
    ds = channelsim.simulate(config, seed=3)          # xarray.Dataset, as open_run gives it
    channelsim.run(config, "data/runs/k20.h5")        # the same run, written to a file
    model = channelsim.build(config)                  # the Mesa model: model.step(), model.run_model()

Imports are deferred to first use, so `import channelsim` stays fast.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

try:
    __version__ = version("channelsim")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

if TYPE_CHECKING:
    import xarray

    from channelsim.config import Config
    from channelsim.model import MembranePatch


def load_config(source: str | Path) -> Config:
    """Return a validated config with every default resolved, from a TOML file's path or TOML text."""
    from channelsim.config import load_config as _load

    return _load(source)


def simulate(config: Config | str | Path, seed: int | None = None, force_large: bool = False) -> xarray.Dataset:
    """Run an experiment in memory and return it as the Dataset `open_run` gives for its file.

    A run whose rows would not fit in memory is refused unless `force_large`.
    """
    from channelsim.engine import simulate as _simulate

    return _simulate(_config(config), seed, force_large=force_large)


def run(config: Config | str | Path, output: str | Path, seed: int | None = None, force: bool = False,
        progress: bool = False, force_large: bool = False) -> Path:
    """Run an experiment and write its run file `output` (HDF5); return the path.

    A run that would not fit in memory or on disk is refused unless `force_large`.
    """
    from channelsim.engine import run_experiment

    return run_experiment(_config(config), Path(output), seed=seed, force=force, progress=progress,
                          force_large=force_large)


def build(config: Config | str | Path, seed: int | None = None, force_large: bool = False) -> MembranePatch:
    """Build the experiment's Mesa model in its initial state (`step()` advances one recording interval)."""
    from channelsim.model import build as _build

    return _build(_config(config), seed, force_large=force_large)


def open_run(path: str | Path) -> xarray.Dataset:
    """Open a run file as an `xarray.Dataset` with named dimensions and units."""
    from channelsim.recording.reader import open_run as _open_run

    return _open_run(path)


def _config(config: Config | str | Path) -> Config:
    """Load the config if given as a path or text, and warn of its traps (`channelsim.checks`)."""
    import warnings

    from channelsim.checks import config_warnings
    from channelsim.errors import ConfigWarning

    config = config if not isinstance(config, (str, Path)) else load_config(config)
    for message in config_warnings(config):
        warnings.warn(message, ConfigWarning, stacklevel=3)
    return config


__all__ = ["__version__", "build", "load_config", "open_run", "run", "simulate"]
