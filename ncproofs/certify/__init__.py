"""Lower bounds, upper bounds and certificates (docs/certificates.md)."""

from .certificate import Certificate, decide

__all__ = ["Certificate", "decide"]
