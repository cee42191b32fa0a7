"""Derivations for sphere-ce (Yaras et al.), sphere-gnc (Jiang et al.) and multilabel-ce
(Li et al.), printed as text, with a numeric check of each at one parameter point.

Run:  python derivations/sphere_multilabel.py [--latex]
"""

from __future__ import annotations

import sys

import sympy as sp

from ncproofs.theorems.multilabel_ce import MultiLabelCrossEntropy, MultiLabelSpec
from ncproofs.theorems.sphere_ce import SphereCrossEntropy, SphereSpec
from ncproofs.theorems.sphere_gnc import MarginSpec, SphereGeneralizedCollapse


def show(theorem, spec) -> None:
    latex = "--latex" in sys.argv
    print(f"\n==== {theorem.id}: {theorem.citation}\n")
    for step in theorem.derive_general():
        print(step.latex() if latex else step.text())
    closed = theorem.closed_form(spec)
    cert = theorem.certify(spec, closed)
    value = None if closed.objective is None else float(sp.N(closed.objective, 20))
    print(f"\n-- at {spec.as_dict()}: regime {closed.regime}; f* = {value}")
    print(f"   certificate {cert.status}: [{cert.lower_bound}, {cert.upper_bound}], "
          f"gap {cert.gap}")


if __name__ == "__main__":
    show(SphereCrossEntropy(), SphereSpec(K=4, n=1, d=3, tau=2))
    show(SphereGeneralizedCollapse(), MarginSpec(K=5, d=2))
    show(MultiLabelCrossEntropy(), MultiLabelSpec(K=4, m=2, n=2, d=3, lam_W="1e-3",
                                                  lam_H="1e-3"))
