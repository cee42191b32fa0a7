"""SymPy derivations: scalar reductions, stationarity, thresholds, closed forms."""

from .reduction import DerivationStep, SymmetricReduction

__all__ = ["DerivationStep", "SymmetricReduction"]
