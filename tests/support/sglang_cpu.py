"""Import the real sglang 0.5.23 on a CPU-only machine (in `.venv-sglang`), for the checks that run in it.

Two packages cannot be installed next to CPU torch: torchvision (the PyPI wheel is a CUDA build) and
`datasets` (only SGLang's benchmark loaders use it, pulled in by `sglang.test`). Both are replaced
by empty stand-in modules. transformers is imported first, so its "is torchvision installed" checks
are settled (no) before the stand-ins exist. Nothing from the stand-ins is called on these paths.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types

ABSENT = ("torchvision", "datasets")


class _Empty(types.ModuleType):
    """Any attribute is another empty module; it can be called and subclassed, and does nothing."""

    def __getattr__(self, name: str) -> _Empty:
        if name.startswith("__"):
            raise AttributeError(name)
        sub = _Empty(f"{self.__name__}.{name}")
        setattr(self, name, sub)
        return sub

    def __call__(self, *args: object, **kwargs: object) -> _Empty:
        return _Empty(f"{self.__name__}()")

    def __mro_entries__(self, bases: tuple) -> tuple:
        return (object,)


class _StandIns(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name: str, path: object, target: object = None) -> importlib.machinery.ModuleSpec | None:
        if name.split(".")[0] in ABSENT:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _Empty(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


def install() -> None:
    import transformers.utils.import_utils  # noqa: F401  (settles its availability checks first)

    if not any(isinstance(f, _StandIns) for f in sys.meta_path):
        sys.meta_path.insert(0, _StandIns())
