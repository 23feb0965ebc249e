"""numba kernels: the hot loop.

They import nothing from the rest of the package and read no module globals (a cached kernel
would freeze them): every parameter is an argument.

Cache guard. numba's on-disk cache (`cache=True`) is invalidated only when a function's own
file changes, not when a kernel it calls (and inlines) in another file does, so a stale
compiled loop could survive an upgrade. On import, the cached kernels are discarded whenever
the source of any kernel file differs from the source they were compiled from.
"""

import hashlib
from pathlib import Path


def _discard_stale_cache() -> None:
    here = Path(__file__).parent
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(here.glob("*.py")))).hexdigest()
    cache = here / "__pycache__"
    stamp = cache / "kernels.sha256"
    try:
        if stamp.is_file() and stamp.read_text() == digest:
            return
        for path in [*cache.glob("*.nbi"), *cache.glob("*.nbc")]:
            path.unlink()
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:  # a read-only install: numba then caches elsewhere or not at all
        pass


_discard_stale_cache()
