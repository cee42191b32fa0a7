"""PyTorch float64 solvers of the full nonconvex problems (CPU or CUDA)."""

from .lbfgs import MultiStartResult, minimize_multistart, resolve_device

__all__ = ["MultiStartResult", "minimize_multistart", "resolve_device"]
