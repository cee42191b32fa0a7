"""deep-linear-ce: refutation from random starts, never a false certificate, L = 1 certified.

Independent routes: scipy bounded minimization of the candidate psi(a) (float), a numpy
re-evaluation of the saved refuting point, Zhu et al.'s closed form for L = 1
(docs/known_results.md), and Garrod & Keating's regimes (low rank wins for K >= 4, L >= 3 or
K >= 6, L = 2; not for K = 3 or K = 4, L = 2 in their experiments).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp

from ncproofs.spec import SpecError
from ncproofs.theorems.base import get_theorem
from ncproofs.theorems.deep_linear_ce import candidate_scalar, etf_point

torch.set_num_threads(1)
TH = get_theorem("deep-linear-ce")


def psi_float_min(K, L, n, lam):
    """min over a >= 0 of log(1+(K-1)e^-a) + (K-1) c (sqrt(n) a)^(2/(L+1)), in floats."""
    c = (L + 1) / 2 * (lam ** (L + 1)) ** (1 / (L + 1))

    def psi(a):
        reg = (K - 1) * c * (math.sqrt(n) * a) ** (2 / (L + 1))
        return math.log1p((K - 1) * math.exp(-a)) + reg

    r = minimize_scalar(psi, bounds=(1e-9, 60), method="bounded", options={"xatol": 1e-12})
    return min(r.fun, math.log(K))


def numpy_objective(point, counts, lam):
    """f at a class-mean point, recomputed with numpy (CE via logsumexp)."""
    L = sum(1 for k in point if k.startswith("W"))
    X = point["H"]
    for l in range(1, L + 1):
        X = point[f"W{l}"] @ X
    N = sum(counts)
    data = sum(c * (logsumexp(X[:, k]) - X[k, k]) for k, c in enumerate(counts)) / N
    reg = sum(lam / 2 * (point[f"W{l}"] ** 2).sum() for l in range(1, L + 1))
    reg += lam / 2 * sum(c * (point["H"][:, k] ** 2).sum() for k, c in enumerate(counts))
    return data + reg


@pytest.mark.parametrize("seed", [0, 1])
def test_refuted_from_random_starts(seed, tmp_path, monkeypatch):
    monkeypatch.setenv("NCPROOFS_OUT", str(tmp_path))
    params = {"K": 4, "n": 5, "d": 4, "lam_W": "5e-3", "lam_H": "5e-3", "L": 3}
    spec = TH.spec(params)
    closed = TH.closed_form(spec)
    cand = psi_float_min(4, 3, 5, 5e-3)
    assert abs(float(closed.objective) - cand) < 1e-9
    cert = TH.certify(spec, closed, starts=16, seed=seed)
    assert cert.status == "refuted"
    data = np.load(cert.details["saved_point"])
    point = {k: data[k] for k in data.files if k.startswith("W") or k == "H"}
    value = numpy_objective(point, [5] * 4, 5e-3)
    assert value < cand * (1 - 1e-3)  # a real improvement, recomputed independently
    # low rank: the features entering W_L have rank < K - 1 = 3
    sv = np.linalg.svd(point["W2"] @ point["W1"] @ point["H"], compute_uv=False)
    assert (sv > 1e-6 * sv[0]).sum() < 3
    assert cert.details["improvement_percent"] > 0.1


def test_never_certified_where_low_rank_wins():
    # K = 6, L = 2 (Garrod & Keating): deep collapse is not optimal
    spec = TH.spec({"K": 6, "n": 5, "d": 6, "lam_W": "5e-3", "lam_H": "5e-3", "L": 2})
    cert = TH.certify(spec, TH.closed_form(spec), starts=12)
    assert cert.status == "refuted"


def test_k3_L2_certified_by_the_branch_and_bound_over_B():
    """K = 3, L = 2 (Garrod & Keating: collapse): the 1-D bound leaves 19 %; the branch and
    bound over the variational matrix B closes it with lemmas only (tests/test_schatten_dual
    checks the value against scipy and the planted wrong claims)."""
    spec = TH.spec({"K": 3, "n": 5, "d": 3, "lam_W": "5e-3", "lam_H": "5e-3", "L": 2})
    cert = TH.certify(spec, TH.closed_form(spec), starts=8)
    assert cert.status == "certified"
    assert cert.lower_bound_source == "interval branch and bound over B (L16-L17)"
    assert all(a.kind == "lemma" for a in cert.assumptions)


def test_k4_L2_stays_inconclusive():
    # K = 4 has no reduced search: not refuted is not certified
    spec = TH.spec({"K": 4, "n": 2, "d": 4, "lam_W": "5e-3", "lam_H": "5e-3", "L": 2})
    cert = TH.certify(spec, TH.closed_form(spec), starts=8)
    assert cert.status == "inconclusive"
    assert cert.lower_bound < cert.upper_bound


def test_L1_certified_matches_zhu_et_al():
    K, n, lam = 4, 3, 0.01
    t = math.sqrt(n * lam * lam)
    zhu = -math.log(1 - (K - 1) * t) + (K - 1) * t * math.log((1 - (K - 1) * t) / t)
    spec = TH.spec({"K": K, "n": n, "d": 4, "lam_W": "0.01", "lam_H": "0.01", "L": 1})
    closed = TH.closed_form(spec)
    assert abs(float(closed.objective) - zhu) < 1e-12
    cert = TH.certify(spec, closed, starts=4)
    assert cert.status == "certified"
    # mutation: the ETF point with a margin off by 1% must not certify
    closed.point = etf_point(spec, closed.minimizer["a"] * 1.01)
    assert TH.certify(spec, closed, starts=4).status != "certified"


def test_zero_regime_certified_at_depth():
    spec = TH.spec({"K": 3, "n": 5, "d": 3, "lam_W": "0.5", "lam_H": "0.5", "L": 3})
    closed = TH.closed_form(spec)
    assert closed.minimizer["a"] == 0.0
    assert TH.certify(spec, closed, starts=4).status == "certified"


@pytest.mark.parametrize("K,L,n,lam", [(4, 3, 100, 5e-4), (10, 2, 5, 5e-3), (3, 5, 7, 0.02)])
def test_candidate_enclosure_vs_scipy(K, L, n, lam):
    spec = TH.spec({"K": K, "n": n, "d": K, "lam_W": str(lam), "lam_H": str(lam), "L": L})
    enc, _ = candidate_scalar(spec).minimum()
    ref = psi_float_min(K, L, n, lam)
    assert float(enc.lower()) <= ref + 1e-13
    assert float(enc.upper()) - ref < 1e-11


def test_bad_input():
    with pytest.raises(SpecError, match="L must be >= 1"):
        TH.spec({"K": 3, "n": 4, "d": 3, "lam_W": "0.1", "lam_H": "0.1", "L": 0})
    with pytest.raises(SpecError, match="d must be >= K - 1"):
        TH.spec({"K": 4, "n": 4, "d": 2, "lam_W": "0.1", "lam_H": "0.1", "L": 2})
    spec = TH.spec({"K": 3, "n": "4,2,1", "d": 3, "lam_W": "0.1", "lam_H": "0.1", "L": 2})
    closed = TH.closed_form(spec)
    assert TH.certify(spec, closed).status == "not-applicable"


@pytest.mark.parametrize("theorem_id", ["deep-linear-mse", "deep-linear-ce"])
def test_default_cases_meet_expectations(theorem_id, tmp_path, monkeypatch):
    """The `verify --all` contract: each default case gets its expected status and the
    numeric solve is neither inconsistent nor suboptimal."""
    from ncproofs.pipeline import meets_expectation, verify

    monkeypatch.setenv("NCPROOFS_OUT", str(tmp_path))
    for case in get_theorem(theorem_id).default_cases:
        report = verify(theorem_id, case["params"], device="cpu", starts=4, landscape=False)
        report["expected"] = case["expect"]
        assert meets_expectation(report), (case, report["certificate"]["status"],
                                           report["verdict"])


@pytest.mark.parametrize("lam", ["1e-400", "1e-101"])
def test_tiny_weight_decay_rejected_with_range(lam):
    """Regression (audit B3): lam = 1e-400 raised ZeroDivisionError (float(B) underflow),
    1e-300 OverflowError.  Contract: SpecError naming lam_W / lam_H and the allowed range
    (lam_H lam_W^L >= 1e-200); the boundary by hand: 1e-101 * (1e-101)^2 = 1e-303 < 1e-200
    is rejected, 1e-60 * (1e-60)^2 = 1e-180 is accepted."""
    # 1e-400 is already outside every number's range [1e-300, 1e100] (spec-wide guard)
    pattern = (r"between 1e-300 and 1e100" if lam == "1e-400"
               else r"lam_H \* lam_W\^L must be >= 1e-200")
    with pytest.raises(SpecError, match=pattern):
        TH.spec({"K": 3, "n": 1, "d": 2, "lam_W": lam, "lam_H": lam, "L": 2})
    TH.spec({"K": 3, "n": 1, "d": 2, "lam_W": "1e-60", "lam_H": "1e-60", "L": 2})


def test_non_finite_upper_bound_keeps_decide_reason(monkeypatch):
    """Regression (audit B4): a non-finite upper bound (as at lam ~ 1e-30..1e-60, L = 2)
    got the generic 'lower bound below the candidate' reason.  Route: the interval
    objective is replaced by a nan ball, so decide() must report the non-finite bound."""
    import flint

    spec = TH.spec({"K": 3, "n": 5, "d": 3, "lam_W": "5e-3", "lam_H": "5e-3", "L": 2})
    monkeypatch.setattr(TH, "upper_bound", lambda spec, point: flint.arb("nan"))
    cert = TH.certify(spec, TH.closed_form(spec), starts=2)
    assert cert.status == "inconclusive"
    assert "not finite" in cert.reason and "below the candidate" not in cert.reason


def test_refutation_follows_decide_no_assert(monkeypatch, tmp_path):
    """Regression (audit B6): a pre-check with its own tolerance decided 'refuted' and then
    asserted decide() agreed.  Route: a found point 1e-6 (relative) below the candidate's
    lower end (from the scipy-checked enclosure); decide() with rel_tol 1e-3 does not call
    that a refutation, so certify must follow it (no AssertionError, not refuted); with the
    default decide() it is refuted."""
    import functools

    import flint

    import ncproofs.theorems.deep_linear_ce as mod

    monkeypatch.setenv("NCPROOFS_OUT", str(tmp_path))
    spec = TH.spec({"K": 3, "n": 5, "d": 3, "lam_W": "5e-3", "lam_H": "5e-3", "L": 2})
    closed = TH.closed_form(spec)
    enc, _ = candidate_scalar(spec).minimum()
    real = TH.upper_bound
    below = flint.arb(float(enc.lower()) * (1 - 1e-6))
    monkeypatch.setattr(TH, "upper_bound", lambda s, p: real(s, p) if p is closed.point
                        else below)
    monkeypatch.setattr(mod, "decide", functools.partial(mod.decide, rel_tol=1e-3))
    assert TH.certify(spec, closed, starts=2, bnb_seconds=0).status != "refuted"
    monkeypatch.undo()
    monkeypatch.setenv("NCPROOFS_OUT", str(tmp_path))
    monkeypatch.setattr(TH, "upper_bound", lambda s, p: real(s, p) if p is closed.point
                        else below)
    assert TH.certify(spec, closed, starts=2).status == "refuted"


@pytest.mark.parametrize("value", ["abc", "-1", "nan"])
def test_bad_time_budget_is_a_one_line_error(monkeypatch, capsys, value):
    from ncproofs.cli import main

    monkeypatch.setenv("NCPROOFS_BNB_SECONDS", value)
    rc = main(["verify", "deep-linear-ce", "-p", "K=3", "-p", "n=2", "-p", "d=3", "-p", "L=2",
               "-p", "lam_W=1e-3", "-p", "lam_H=1e-3", "--no-solve", "--no-landscape"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "NCPROOFS_BNB_SECONDS must be a number of seconds >= 0" in err
    assert "Traceback" not in err
