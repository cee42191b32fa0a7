"""relu2-convex (Pilanci & Ergen).  Independent routes: the closed forms of Ergen & Pilanci
derived by hand (whitened, rank-one), brute-force sampling of activation patterns (a
subset of the exact enumeration; the cell count n^2 - n + 2 of a central arrangement in
general position), and torch training (never below the rigorous lower bound)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from ncproofs.certify.certificate import CERTIFIED, NOT_APPLICABLE
from ncproofs.solve import relu2
from ncproofs.spec import SpecError
from ncproofs.theorems.base import get_theorem
from ncproofs.theorems.relu2_convex import dataset

TH = get_theorem("relu2-convex")


def test_pattern_enumeration_complete_random_3d():
    rng = np.random.default_rng(1)
    X = np.c_[rng.standard_normal((12, 2)), np.ones(12)]
    pats = set(relu2.enumerate_patterns(X))
    assert len(pats) == 12 * 12 - 12 + 2 - 1  # cells of a general arrangement, minus 0
    sampled = set(relu2.sample_patterns(X, 20000, 0))
    assert sampled <= pats and len(sampled) > 0.8 * len(pats)


def test_whitened_closed_form_by_hand_and_certified():
    spec = TH.spec({"data": "whitened", "n": 3, "lam_W": "1", "bias": "false"})
    closed = TH.closed_form(spec)
    # hand: |y_+| = |y_-| = sqrt 3 > beta = 1: 2 (sqrt 3 - 1/2)
    assert abs(float(closed.objective) - 2 * (3**0.5 - 0.5)) < 1e-14
    cert = TH.certify(spec, closed)
    assert cert.status == CERTIFIED


def test_rank_one_closed_form_and_wrong_value_refuses():
    spec = TH.spec({"data": "rank-one", "n": 4, "lam_W": "2", "bias": "false"})
    closed = TH.closed_form(spec)
    assert TH.certify(spec, closed).status == CERTIFIED
    closed.objective = closed.objective * sympy.Rational(10001, 10000)  # mutation
    assert TH.certify(spec, closed).status != CERTIFIED


def test_iris_complete_certified_and_training_not_below():
    spec = TH.spec({"n": 5, "lam_W": "0.1", "d": 12})
    cert = TH.certify(spec, TH.closed_form(spec))
    assert cert.status == CERTIFIED and cert.gap < 1e-9
    X, y = dataset(spec)
    tr = relu2.train_torch(X, y, 0.1, 12, 2, 0)
    assert min(tr.values) >= cert.lower_bound - 1e-12


def test_sampled_patterns_give_upper_bound_only():
    spec = TH.spec({"n": 5, "lam_W": "0.1", "patterns": "sampled", "samples": 8})
    cert = TH.certify(spec, TH.closed_form(spec))
    assert cert.status != CERTIFIED and cert.lower_bound is None
    full = TH.certify(TH.spec({"n": 5, "lam_W": "0.1"}), TH.closed_form(spec))
    assert cert.upper_bound >= full.lower_bound


@pytest.mark.parametrize("bad,name", [
    ({"data": "mnist"}, "data"), ({"lam_H": "1"}, "lam_H"), ({"data": "whitened"}, "bias"),
    ({"K": 3}, "K"), ({"patterns": "some"}, "patterns"), ({"lam_W": "0"}, "lam_W")])
def test_bad_input(bad, name):
    with pytest.raises(SpecError, match=name):
        TH.spec({"n": 4, "lam_W": "1", **bad})


@pytest.mark.parametrize("params", [
    {"data": "whitened", "n": 2, "lam_W": "0.5", "bias": "false", "d": 1},
    {"data": "rank-one", "n": 4, "lam_W": "2", "bias": "false", "d": 1}])
def test_too_narrow_width_is_not_certified(params):
    """Regression (audit A1): the convex optimum p(m*) was certified for width d < m*.
    Independent route for whitened n=2, beta=1/2, by hand: one neuron outputs a max(Xu, 0)
    with one sign, so it fits one class only: p(1) = phi(|y_+|) + |y_-|^2/2 =
    (sqrt 2/2 - 1/8) + 1 = 1.58211 > p* = 2 phi(sqrt 2) = 1.16421; torch at width 1 agrees.
    (Mutation-style: too-small d must NOT certify.)"""
    spec = TH.spec(params)
    closed = TH.closed_form(spec)
    cert = TH.certify(spec, closed)
    assert cert.status == NOT_APPLICABLE and "m*" in cert.reason
    assert cert.details["network_width"] > 1
    if params["data"] == "whitened":
        hand_p1 = 2**0.5 / 2 - 1 / 8 + 1
        assert hand_p1 > float(closed.objective) + 0.4
        X, y = dataset(spec)
        tr = relu2.train_torch(X, y, 0.5, 1, 4, 0)
        assert abs(tr.best - hand_p1) < 1e-6


def test_width_at_least_network_width_still_certifies():
    """The same rank-one problem certifies once d >= the width of the explicit network."""
    spec = TH.spec({"data": "rank-one", "n": 4, "lam_W": "2", "bias": "false", "d": 1})
    width = TH.certify(spec, TH.closed_form(spec)).details["network_width"]
    wide = TH.spec({"data": "rank-one", "n": 4, "lam_W": "2", "bias": "false", "d": width})
    assert TH.certify(wide, TH.closed_form(wide)).status == CERTIFIED


def test_pruning_keeps_prediction_and_does_not_raise_cost():
    """Independent route: the float objective of the unpruned network read off the convex
    solution (whitened n=3: the solver spreads the weight over many patterns)."""
    spec = TH.spec({"data": "whitened", "n": 3, "lam_W": "1", "bias": "false"})
    X, y = dataset(spec)
    sol = relu2.solve_convex(X, y, 1.0, relu2.enumerate_patterns(X))
    net = relu2.network_of(sol)
    pruned = relu2.prune_network(net, X)
    assert pruned.width <= min(net.width, X.shape[0]) and pruned.width < net.width
    pred = lambda m: m.hidden(X) @ m.a  # noqa: E731
    assert np.abs(pred(pruned) - pred(net)).max() < 1e-9
    assert pruned.objective(X, y, 1.0) <= net.objective(X, y, 1.0) + 1e-12


@pytest.mark.parametrize("seed", [0, 3])
def test_pattern_enumeration_3d_antiparallel_rows(seed):
    """Regression (audit C4): rows x and -x (same plane) got the same side, so the 3-d
    enumeration listed impossible patterns and missed real ones (with every row paired:
    none of the 14 real cells).  Independent route: patterns of 200000 Gaussian directions
    (each one realized) must all be enumerated, and x_k, -x_k always get opposite signs in
    an open cell."""
    rng = np.random.default_rng(seed)
    A = rng.integers(-5, 6, (4, 3)).astype(float)
    X = np.r_[A, -A, rng.integers(-5, 6, (2, 3))]
    pats = set(relu2.enumerate_patterns(X))
    sampled = set(relu2.sample_patterns(X, 200000, 0))
    assert sampled <= pats and len(pats) <= len(sampled) + 2
    assert all(pat[i] != pat[i + 4] for pat in pats for i in range(4))
