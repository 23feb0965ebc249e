"""Import Mesa without running its optional parts that a simulation never uses.

Mesa's package `__init__` imports everything it offers, among it `mesa.experimental` (which
pulls in scipy.spatial) and, through `mesa.datacollection`, pandas: most of the second that
`import mesa` takes, and half the start-up of a short `channelsim run`, which uses neither.
While Mesa is imported, these two names stand in `sys.modules` as `_Deferred` modules, which
Mesa binds (as `mesa.experimental` and the DataCollector's `pd`) and nothing runs; right after,
they are taken out of `sys.modules` again, so the rest of the process imports the real modules
as usual. A deferred module imports its real module when one of its attributes is first used
(a DataCollector DataFrame, say), and hands that attribute on: nothing Mesa offers is lost.
"""

from __future__ import annotations

import importlib
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


mesa = _import_mesa()
