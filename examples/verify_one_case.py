"""Verify one case: is the simplex ETF the global optimum of the CE model at my numbers?

    python examples/verify_one_case.py [--quick]

Runs the `ufm-ce` theorem (Zhu et al. 2021) at K = 4 classes, n = 3 samples per class,
d = 5 features and weight decays lam_W = 3e-3, lam_H = 7e-3, lam_b = 1e-2 (exact decimals),
and prints the closed-form optimum, the certificate (rigorous lower and upper bounds and
their status) and what the numeric torch solve found.  The same as

    ncproofs verify ufm-ce -p K=4 -p n=3 -p d=5 -p lam_W=3e-3 -p lam_H=7e-3 -p lam_b=1e-2

``--quick`` skips the torch solve and the Hessian report (certificate only).
"""

from __future__ import annotations

import sys
from typing import Any

from ncproofs.pipeline import verify

PARAMS = {"K": 4, "n": 3, "d": 5, "lam_W": "3e-3", "lam_H": "7e-3", "lam_b": "1e-2"}


def as_dict(result: Any) -> dict[str, Any]:
    """The JSON object of `ncproofs verify --json` (typed results convert with to_dict)."""
    return result.to_dict() if hasattr(result, "to_dict") else result


def main(quick: bool = False) -> int:
    report = as_dict(verify("ufm-ce", PARAMS, device="cpu", solve=not quick,
                            landscape=not quick))
    closed, cert = report["closed_form"], report["certificate"]
    print(f"closed form f* = {closed['objective']:.15g}  ({closed['regime']})")
    print(f"certificate: {cert['status']}  lower {cert['lower_bound']:.15g}  "
          f"upper {cert['upper_bound']:.15g}  gap {cert['gap']:.3g}")
    for assumption in cert.get("assumptions") or []:
        text = assumption["text"] if isinstance(assumption, dict) else str(assumption)
        print(f"  rests on: {text}")
    if report.get("numeric"):
        numeric = report["numeric"]
        print(f"torch: f = {numeric['objective']:.15g}, |grad| = {numeric['grad_norm']:.1e}")
    print(f"verdict: {report['verdict']['status']}")
    # the certificate's bounds must enclose the claimed optimum whatever the status
    assert cert["lower_bound"] <= closed["objective"] * (1 + 1e-9) + 1e-15
    assert closed["objective"] <= cert["upper_bound"] * (1 + 1e-9) + 1e-15
    return 0


if __name__ == "__main__":
    sys.exit(main(quick="--quick" in sys.argv))
