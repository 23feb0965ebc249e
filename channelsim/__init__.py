"""channelsim: a cell membrane simulated one ion channel and one pump at a time."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("channelsim")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"


def open_run(path):
    """Open a run file as an `xarray.Dataset` with named dimensions and units (see recording)."""
    from channelsim.recording.reader import open_run as _open_run

    return _open_run(path)


__all__ = ["__version__", "open_run"]
