"""ncproofs: derive, certify and numerically check the global optima of
unconstrained-feature models of neural collapse.

Engines: :mod:`ncproofs.derive` (SymPy), :mod:`ncproofs.certify` (cvxpy + rigorous
checks), :mod:`ncproofs.solve` (PyTorch).  Theorems: :mod:`ncproofs.theorems`.
"""

from .spec import SpecError, UFMSpec

__version__ = "0.1.0"
__all__ = ["SpecError", "UFMSpec", "__version__", "verify"]


def verify(theorem_id: str, params: dict, **kwargs):
    """Run the pipeline for one theorem (see :func:`ncproofs.verify.verify`)."""
    from .verify import verify as _verify

    return _verify(theorem_id, params, **kwargs)
