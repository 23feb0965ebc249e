"""Import Mesa, and prepare numba, without running optional parts that a simulation never uses.

Mesa's package `__init__` imports everything it offers, among it `mesa.experimental` (which
pulls in scipy.spatial) and, through `mesa.datacollection`, pandas: most of the second that
`import mesa` takes, and half the start-up of a short `channelsim run`, which uses neither.
While Mesa is imported, these two names stand in `sys.modules` as `_Deferred` modules, which
Mesa binds (as `mesa.experimental` and the DataCollector's `pd`) and nothing runs; right after,
they are taken out of `sys.modules` again, so the rest of the process imports the real modules
as usual. A deferred module imports its real module when one of its attributes is first used
(a DataCollector DataFrame, say), and hands that attribute on: nothing Mesa offers is lost.

numba, on its first compilation or cache load, checks that BLAS is there for `np.dot` and
`np.linalg` by importing `scipy.linalg.cython_blas`, and so all of `scipy.linalg` (0.1-0.3 s);
the kernels use neither. `prepare_numba` does that first step itself, with `scipy.linalg` standing
in as a bare package while it runs: the same `cython_blas` extension module is loaded (numba's
linear algebra keeps working), without the rest of `scipy.linalg`, which a later import loads
in full as usual.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

#: Modules Mesa imports on `import mesa` that channelsim never needs (see the module docstring).
DEFERRED = ("mesa.experimental", "pandas")


class _Deferred(types.ModuleType):
    """Stands in for module `__name__`; the first attribute used imports it and is taken from it."""

    def __getattr__(self, attr: str):
        if sys.modules.get(self.__name__) is self:  # still standing in, while Mesa is imported
            if attr.startswith("__"):  # looked up on every module by `inspect` (Mesa's logging): absent
                raise AttributeError(attr)
            del sys.modules[self.__name__]
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)
        return getattr(module, attr)


def _import_mesa() -> types.ModuleType:
    if "mesa" in sys.modules:
        return sys.modules["mesa"]
    stand_ins = {name: _Deferred(name) for name in DEFERRED if name not in sys.modules}
    sys.modules.update(stand_ins)
    try:
        import mesa
    finally:
        for name, stand_in in stand_ins.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
    return mesa


def prepare_numba() -> None:
    """Load numba's CPU target (its first compilation would), importing only `cython_blas` of scipy.linalg."""
    from numba.core.registry import cpu_target

    try:
        spec = None if "scipy.linalg" in sys.modules else importlib.util.find_spec("scipy.linalg")
    except ModuleNotFoundError:  # no scipy: numba does without BLAS
        spec = None
    if spec is None or not spec.submodule_search_locations:
        cpu_target.target_context.refresh()
        return
    bare = types.ModuleType("scipy.linalg")
    bare.__path__ = list(spec.submodule_search_locations)
    sys.modules["scipy.linalg"] = bare
    try:
        cpu_target.target_context.refresh()
    finally:
        if sys.modules.get("scipy.linalg") is bare:
            del sys.modules["scipy.linalg"]


mesa = _import_mesa()
prepare_numba()
