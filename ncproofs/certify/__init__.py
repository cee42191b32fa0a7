"""Lower bounds, upper bounds and certificates (DESIGN.md section 3)."""

from .certificate import Certificate, decide

__all__ = ["Certificate", "decide"]
