"""ufm-ce-imbalanced: certified relaxation optimum vs cvxpy and ufm-ce; mutations."""

from __future__ import annotations

import numpy as np
import pytest

from ncproofs.certify.certificate import decide
from ncproofs.certify.dual import CEDual, softmax_columns
from ncproofs.certify.relaxation import solve_relaxation
from ncproofs.losses import get_loss
from ncproofs.spec import SpecError
from ncproofs.theorems._plain import collapsed_point
from ncproofs.theorems.base import get_theorem
from ncproofs.theorems.ufm_ce_imbalanced import minority_spread, solve_class_means

TH = get_theorem("ufm-ce-imbalanced")
P1 = {"K": 3, "n": "6,3,1", "d": 3, "lam_W": "5e-3", "lam_H": "5e-3", "bias": "false"}


def _run(params):
    spec = TH.spec(params)
    closed = TH.closed_form(spec)
    return spec, closed, TH.certify(spec, closed)


def test_certified_and_brackets_cvxpy():
    # independent route: Clarabel's relaxation value (non-rigorous) sits in [lower, upper]
    # up to its own accuracy
    spec, closed, cert = _run(P1)
    assert cert.status == "certified", cert.reason
    relax = solve_relaxation(get_loss("ce"), spec.n, spec.lam_W, spec.lam_H)
    assert cert.lower_bound - 1e-6 <= relax.value <= cert.upper_bound + 1e-6


def test_balanced_counts_give_zhu_closed_form():
    # independent theorem (Zhu et al.'s closed form via ufm-ce)
    params = {"K": 3, "n": "4,4,4", "d": 3, "lam_W": "3e-3", "lam_H": "2e-3", "lam_b": "1e-2"}
    _, _, cert = _run(params)
    ce = get_theorem("ufm-ce")
    f_ce = float(ce.closed_form(ce.spec({**params, "n": 4})).objective)
    assert cert.status == "certified"
    assert cert.lower_bound - 1e-12 <= f_ce <= cert.upper_bound + 1e-12


def test_numeric_full_problem_agrees():
    spec, closed, cert = _run(P1)
    num = TH.solve(spec, device="cpu", starts=3, seed=5)
    assert cert.lower_bound - 1e-10 <= num.summary["objective"] <= cert.upper_bound + 1e-9


def test_mutation_perturbed_point_not_certified():
    spec, closed, cert = _run(P1)
    a = closed.point.arrays
    bad = collapsed_point(a["W"] * (1 + 1e-4), a["H"], None, spec.n)
    upper = TH.upper_bound(spec, bad)
    dual = CEDual(spec.n, spec.lam_W, spec.lam_H)
    lower = dual.dense_bound(softmax_columns(a["W"] @ a["H"]))
    assert decide(method="m", lower=lower.value, upper=upper, claimed=None).status != "certified"


def test_mutation_perturbed_dual_not_certified():
    spec, closed, cert = _run(P1)
    a = closed.point.arrays
    dual = CEDual(spec.n, spec.lam_W, spec.lam_H)
    lower = dual.dense_bound(softmax_columns(1.01 * (a["W"] @ a["H"])))
    upper = TH.upper_bound(spec, closed.point)
    assert decide(method="m", lower=lower.value, upper=upper, claimed=None).status != "certified"


def test_too_small_d_not_certified():
    _, _, cert = _run({**P1, "d": 1})
    assert cert.status != "certified" and "d = 1" in cert.reason


def test_minority_collapse_numeric():
    # Fang et al.'s minority collapse: identical minority classifiers at large imbalance
    spread = []
    for R in (3.0, 1000.0):
        sol = solve_class_means((10.0, 10.0, 10 / R, 10 / R), 4, 5e-3, 5e-3)
        spread.append(minority_spread(sol, [2, 3]))
    assert spread[0] > 0.5 and spread[1] < 1e-8
    assert np.isfinite(spread).all()


def test_bad_input():
    with pytest.raises(SpecError, match="n"):
        TH.spec({**P1, "n": "6,3"})
