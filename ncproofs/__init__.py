"""ncproofs: derive, certify and numerically check the global optima of
unconstrained-feature models of neural collapse.

Engines: :mod:`ncproofs.derive` (SymPy), :mod:`ncproofs.certify` (cvxpy + rigorous
checks), :mod:`ncproofs.solve` (PyTorch).  Theorems: :mod:`ncproofs.theorems`.
"""

import flint as _flint

from .spec import SpecError, UFMSpec

# Interval evaluations use 128-bit balls: with 53 bits, log-sum-exp minus the true logit
# (a cancellation) loses ~1e-15 absolutely, which no relative 1e-9 certificate of a tiny
# optimum (weight decay 1e-12, f* ~ 1e-11) survives.  It costs no measurable time.
_flint.ctx.prec = max(_flint.ctx.prec, 128)

__version__ = "0.1.0"
__all__ = ["SpecError", "UFMSpec", "__version__", "sweep", "verify"]


def verify(theorem_id: str, params: dict, **kwargs):
    """Run the pipeline for one theorem (see :func:`ncproofs.verify.verify`)."""
    from .verify import verify as _verify

    return _verify(theorem_id, params, **kwargs)


def sweep(theorem_id: str, grid: dict, params: dict | None = None, **kwargs):
    """Verify on every cell of a parameter grid with Dask; a pandas DataFrame, one row per
    cell (see :func:`ncproofs.sweeps.sweep`)."""
    from .sweeps import sweep as _sweep

    return _sweep(theorem_id, grid, params, **kwargs)
