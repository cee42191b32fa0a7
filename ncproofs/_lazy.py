"""Heavy libraries imported on first use.

``ncproofs list``, ``--help`` and ``--version`` must not pay for importing torch (about 3 s
on a loaded 2-core machine).  Modules write ``from .._lazy import torch``; the real module
is imported the first time an attribute is looked up (``torch.tensor``), so code reads as
usual.  Module-level code must therefore not touch ``torch.*`` at import time (annotations
are fine: every module uses ``from __future__ import annotations``).
"""

from __future__ import annotations

import importlib
import types
from typing import TYPE_CHECKING, Any


class LazyModule(types.ModuleType):
    """A stand-in that imports the named module on the first attribute access."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__dict__["_module"] = None

    def _load(self) -> types.ModuleType:
        module = self.__dict__["_module"]
        if module is None:
            module = importlib.import_module(self.__name__)
            self.__dict__["_module"] = module
        return module

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._load(), attr)

    def __dir__(self) -> list[str]:
        return dir(self._load())


if TYPE_CHECKING:
    import torch
else:
    torch = LazyModule("torch")

__all__ = ["LazyModule", "torch"]
