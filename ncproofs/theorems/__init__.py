"""One module per published result; each registers itself (see :mod:`.base`).

``ncproofs.theorems`` is both this package and, when called, the API function
``ncproofs.theorems()`` (the list of registered theorems): importing a submodule such as
``ncproofs.theorems.base`` binds the package to the name ``ncproofs.theorems``, so the
package itself is made callable (:mod:`ncproofs._callable`) rather than letting it shadow
the function.
"""

from .._callable import make_callable
from .base import REGISTRY, ClosedForm, ExplicitPoint, NumericResult, Theorem, get_theorem, load_all

__all__ = [
    "REGISTRY",
    "ClosedForm",
    "ExplicitPoint",
    "NumericResult",
    "Theorem",
    "get_theorem",
    "load_all",
]


make_callable(__name__, "theorems")
