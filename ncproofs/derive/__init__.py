"""SymPy derivations: scalar reductions, stationarity, thresholds, closed forms.

Calling the package, ``ncproofs.derive("ufm-ce")``, is the API function
:func:`ncproofs.api.derive` (see :mod:`ncproofs._callable`).
"""

from .._callable import make_callable
from .reduction import DerivationStep, SymmetricReduction

__all__ = ["DerivationStep", "SymmetricReduction"]

make_callable(__name__, "derive")
