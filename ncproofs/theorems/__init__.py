"""One module per published result; each registers itself (see :mod:`.base`)."""

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
