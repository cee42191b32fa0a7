"""ncproofs: derive, certify and numerically check the global optima of
unconstrained-feature models of neural collapse.

Python API (docs/api/index.md): :func:`verify`, :func:`verify_all`, :func:`derive`,
:func:`theorems`, :func:`certify_point`, :func:`nc_metrics`, :func:`sweep`.  Engines:
:mod:`ncproofs.derive` (SymPy), :mod:`ncproofs.certify` (cvxpy + rigorous checks),
:mod:`ncproofs.solve` (PyTorch).  Theorems: :mod:`ncproofs.theorems`.

Importing the package loads neither torch nor cvxpy; they are imported when a numeric
solve, a metric or a relaxation first needs them.
"""

from typing import Any

import flint as _flint

from .api import certify_point, derive, load_theorem_module, theorems, verify, verify_all
from .results import Derivation, ParameterInfo, PointReport, Report, TheoremInfo
from .spec import SpecError, UFMSpec

# Interval evaluations use 128-bit balls: with 53 bits, log-sum-exp minus the true logit
# (a cancellation) loses ~1e-15 absolutely, which no relative 1e-9 certificate of a tiny
# optimum (weight decay 1e-12, f* ~ 1e-11) survives.  It costs no measurable time.
_flint.ctx.prec = max(_flint.ctx.prec, 128)

# ``ncproofs.theorems`` is also the subpackage of theorem modules; the package is callable
# (ncproofs/theorems/__init__.py), so both ``ncproofs.theorems()`` and
# ``ncproofs.theorems.base`` work whichever was touched first.
list_theorems = theorems

__version__ = "0.1.0"
__all__ = [
    "Derivation",
    "ParameterInfo",
    "PointReport",
    "Report",
    "SpecError",
    "TheoremInfo",
    "UFMSpec",
    "__version__",
    "certify_point",
    "derive",
    "list_theorems",
    "load_theorem_module",
    "nc_metrics",
    "sweep",
    "theorems",
    "verify",
    "verify_all",
]


def nc_metrics(*args: Any, **kwargs: Any) -> dict[str, float]:
    """NC1-NC4 of features (see :func:`ncproofs.metrics.nc_metrics`, same arguments)."""
    from .metrics import nc_metrics as compute

    return compute(*args, **kwargs)


def sweep(theorem_id: str, grid: dict, params: dict | None = None, **kwargs: Any) -> Any:
    """Verify on every cell of a parameter grid with Dask; a pandas DataFrame, one row per
    cell (see :func:`ncproofs.sweeps.sweep`)."""
    from .sweeps import sweep as _sweep

    return _sweep(theorem_id, grid, params, **kwargs)
