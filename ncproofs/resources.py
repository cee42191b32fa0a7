"""Memory and time estimates of the pipeline's stages, and the guard that acts on them.

Every theorem can tell, before anything is allocated, what each stage of ``verify`` will
need (:meth:`ncproofs.theorems.base.Theorem.estimate`): a :class:`StageEstimate` of bytes
and seconds per stage name (``derive``, ``certify``, ``solve``, ``landscape``).  The
pipeline compares each estimate with :class:`Limits` (by default 80 % of the memory the
machine has available now, and no time limit) and

* refuses a stage the answer needs (``derive``, ``certify``) with a one-line
  :class:`~ncproofs.spec.SpecError` that states the estimate and the way out;
* skips an optional stage (``solve``, ``landscape``) and says so in the report
  (``report["skipped"]``).

Estimates are deliberately rough (a factor of 2-3) and err on the large side; they count
the dominant arrays of a stage, not Python's own overhead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

#: bytes of one arb ball at the 128-bit working precision: the ball struct (midpoint and
#: radius, 48 bytes) plus two limbs of mantissa held outside it
ARB_BYTES = 80
#: arb multiply-adds per second inside one arb_mat product at 128 bits (measured 2.5e8 for
#: 400 x 400 on our machines; taken lower so that the estimate errs on the long side)
ARB_OPS_PER_SECOND = 1e8
#: arb entries per second through Python-level loops (float -> arb conversion, the loss of
#: each logit column): measured 1.6e6 per second
ARB_ENTRIES_PER_SECOND = 5e5
#: float64 flops per second a CPU core sustains in torch's matrix products (conservative)
CPU_FLOPS = 1e10
#: a GPU's float64 rate, for --device cuda (conservative for an A100/H100-class card)
GPU_FLOPS = 5e12

#: what a small numeric solve needs beyond its arrays (torch's allocator and autograd
#: buffers): K = 100, d = 100, n = 1, 8 starts peaked 0.30 GB against 0.14 GB of arrays
SOLVE_OVERHEAD_BYTES = 0.2e9
#: Python and dispatch time of one objective + gradient evaluation of a small problem
EVAL_OVERHEAD_SECONDS = 0.02

OPTIONAL_STAGES = ("solve", "landscape", "numeric_upper")
REQUIRED_STAGES = ("derive", "certify")


@dataclass(frozen=True)
class StageEstimate:
    """What one stage needs: peak extra memory in bytes and wall time in seconds."""

    bytes: float
    seconds: float
    what: str = ""  # the dominant object, for the message ("K x K interval logits")

    def as_dict(self) -> dict[str, float | str]:
        return {"bytes": float(self.bytes), "seconds": float(self.seconds), "what": self.what}


def available_memory() -> int:
    """Bytes the machine can give now (MemAvailable of /proc/meminfo; else total RAM)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 16 * 2**30


@dataclass(frozen=True)
class Limits:
    """Refuse or skip a stage whose estimate exceeds these (None: no limit)."""

    memory_bytes: float | None
    seconds: float | None = None

    @classmethod
    def default(cls) -> Limits:
        """80 % of the memory available now; no time limit (progress shows the estimate)."""
        return cls(memory_bytes=0.8 * available_memory(), seconds=None)

    @classmethod
    def none(cls) -> Limits:
        return cls(memory_bytes=None, seconds=None)


def human_bytes(n: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} bytes"


def human_seconds(s: float) -> str:
    if s >= 3600:
        return f"{s / 3600:.2g} h"
    if s >= 60:
        return f"{s / 60:.2g} min"
    return f"{s:.2g} s"


STAGE_NAMES = {
    "derive": "the closed-form point",
    "certify": "the certificate (interval upper bound)",
    "solve": "the numeric solve",
    "landscape": "the Hessian report",
    "numeric_upper": "the interval value of the numeric point",
}

WAY_OUT = {
    "derive": "choose a smaller K or d",
    "certify": "choose a smaller K or d",
    "solve": "use --no-solve, fewer --starts, or --device cuda",
    "landscape": "use --no-landscape",
    "numeric_upper": "the numeric point is reported without its interval value",
}


def over_limit(stage: str, est: StageEstimate, limits: Limits) -> str | None:
    """The reason ``est`` exceeds ``limits`` (one sentence), or None when it fits."""
    if limits.memory_bytes is not None and est.bytes > limits.memory_bytes:
        return (f"{STAGE_NAMES.get(stage, stage)} needs about {human_bytes(est.bytes)}"
                f"{' (' + est.what + ')' if est.what else ''}, more than the "
                f"{human_bytes(limits.memory_bytes)} allowed")
    if limits.seconds is not None and est.seconds > limits.seconds:
        return (f"{STAGE_NAMES.get(stage, stage)} would take about "
                f"{human_seconds(est.seconds)}, more than the {human_seconds(limits.seconds)} "
                "allowed")
    return None


# ------------------------------------------------------------------ formulas shared by theorems


def dense_point_estimate(float_entries: float) -> StageEstimate:
    """A closed form whose explicit point holds ``float_entries`` float64 numbers."""
    return StageEstimate(bytes=8 * float_entries, seconds=float_entries / 1e8,
                         what=f"{float_entries:.3g} float64 entries")


def interval_product_estimate(K: int, d: int, m: int, layers: int = 1) -> StageEstimate:
    """Interval value of a point with W (K x d) and H (d x m): the arb matrices W, H and
    Z = W H (K x m), and K d m arb multiply-adds per layer."""
    entries = K * d + d * m + K * m + layers * d * d
    ops = K * d * m + layers * d * d * m
    seconds = ops / ARB_OPS_PER_SECOND + entries / ARB_ENTRIES_PER_SECOND
    return StageEstimate(bytes=ARB_BYTES * entries, seconds=seconds,
                         what=f"{K} x {m} interval logits" if m >= d else "interval matrices")


def lbfgs_estimate(parameters: int, activations: int, flops_per_eval: float, *,
                   history: int = 50, evaluations: int = 300,
                   device: str = "cpu") -> StageEstimate:
    """Batched L-BFGS: 2 x history vectors of all parameters, parameters + gradients,
    and about four copies of the activations (forward values and their gradients)."""
    memory = SOLVE_OVERHEAD_BYTES + 8 * (parameters * (2 * history + 4) + 4 * activations)
    rate = GPU_FLOPS if device == "cuda" else CPU_FLOPS
    seconds = evaluations * (flops_per_eval / rate + EVAL_OVERHEAD_SECONDS)
    return StageEstimate(bytes=memory, seconds=seconds,
                         what=f"{parameters:.3g} parameters, L-BFGS history {history}")


def hessian_estimate(parameters: int, activations: int, flops_per_eval: float, *,
                     dense_limit: int = 2500, lanczos_products: int = 300,
                     device: str = "cpu") -> StageEstimate:
    """lambda_min of the Hessian: dense (autograd Hessian, p x p) up to ``dense_limit``
    parameters, else Lanczos on Hessian-vector products (a retained double-backward
    graph, about 8 copies of the activations)."""
    rate = GPU_FLOPS if device == "cuda" else CPU_FLOPS
    if parameters <= dense_limit:
        return StageEstimate(bytes=8 * (parameters**2 * 3 + 8 * activations),
                             seconds=parameters * 3 * flops_per_eval / rate + parameters**3 / 1e9,
                             what="dense Hessian")
    return StageEstimate(bytes=8 * (20 * parameters + 8 * activations),
                         seconds=lanczos_products * 3 * flops_per_eval / rate,
                         what="Lanczos on Hessian-vector products")
