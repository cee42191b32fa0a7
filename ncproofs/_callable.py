"""Packages that are also API functions.

``ncproofs.derive`` and ``ncproofs.theorems`` are subpackages and also the API functions
``ncproofs.derive(...)`` and ``ncproofs.theorems()``.  Importing a submodule (say
``ncproofs.derive.reduction``) binds the package to that attribute of ``ncproofs`` and
would shadow the function; instead the package is made callable and forwards the call.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


class CallablePackage(types.ModuleType):
    """A package whose call forwards to ``ncproofs.api.<__api_function__>``."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        api = importlib.import_module("ncproofs.api")
        return getattr(api, self.__dict__["__api_function__"])(*args, **kwargs)


def make_callable(package_name: str, api_function: str) -> None:
    """Make the package ``package_name`` call ``ncproofs.api.<api_function>``."""
    module = sys.modules[package_name]
    module.__dict__["__api_function__"] = api_function
    module.__class__ = CallablePackage
