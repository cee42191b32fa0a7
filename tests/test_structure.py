"""Certified geometry (certificate.structure, docs/certificates.md "Certified geometry").

Every near-optimal point we can produce -- the solver's, or explicit perturbations of the
optimum -- must lie within the certified radius r(eps) of the claimed class-mean logits,
where eps is bounded from its *interval* value, and wrong geometry claims must not be
certified.  Distances are measured here in plain numpy from the point's own arrays (an
independent route: nothing of the structure engine is reused)."""

from __future__ import annotations

import math

import flint
import numpy as np
import pytest
import sympy as sp

from ncproofs.certify.certificate import upper_end
from ncproofs.certify.structure import (
    ClaimedLogits,
    QuadraticCurvature,
    SoftmaxCurvature,
    StructureBound,
    softmax_min_probability,
)
from ncproofs.theorems.base import get_theorem
from ncproofs.theorems.ufm_ce import etf_closed_form, etf_logits_claim

CE = {"K": 3, "n": 2, "d": 3, "lam_W": "3e-3", "lam_H": "7e-3", "lam_b": "1e-2"}
MSE_CASES = [
    ("ufm-mse", {"K": 3, "n": 2, "d": 3, "lam_W": "3e-3", "lam_H": "7e-3", "bias": "false"}),
    ("ufm-mse", {"K": 3, "n": 2, "d": 2, "lam_W": "3e-3", "lam_H": "7e-3", "lam_b": "0"}),
    ("ufm-mse", {"K": 3, "n": 2, "d": 3, "lam_W": "3e-3", "lam_H": "7e-3", "lam_b": "1"}),
    ("ufm-mse-imbalanced", {"K": 3, "n": "6,3,1", "d": 4, "lam_W": "2e-3", "lam_H": "5e-3"}),
]
LS = {"K": 4, "n": 2, "d": 4, "lam_W": "1e-3", "lam_H": "2e-3", "alpha": "0.3"}


_CERTIFIED: dict[tuple, tuple] = {}


def setup(theorem_id, params):
    """Theorem, spec, closed form, certificate (cached: certify runs cvxpy cross-checks)
    and the structure bound, computed afresh so that monkeypatched claims take effect."""
    key = (theorem_id, tuple(sorted(params.items())))
    if key not in _CERTIFIED:
        theorem = get_theorem(theorem_id)
        spec = theorem.spec(params)
        closed = theorem.closed_form(spec)
        cert = theorem.certify(spec, closed)
        assert cert.lower_bound is not None and cert.gap is not None and cert.gap < 1e-9
        _CERTIFIED[key] = (theorem, spec, closed, cert)
    theorem, spec, closed, cert = _CERTIFIED[key]
    return theorem, spec, closed, cert, theorem.structure_bound(spec, closed, cert)


def claim_matrix(bound_claim: ClaimedLogits) -> np.ndarray:
    return np.array([[float(x.mid()) for x in col] for col in bound_claim.columns]).T


def class_mean_logits(spec, point: dict[str, np.ndarray]) -> tuple[np.ndarray, float]:
    """Z = W Hbar + b 1^T and the within-class scatter sum |h_i - hbar_k|^2 (numpy)."""
    W, H = point["W"], point["H"]
    labels = np.repeat(np.arange(spec.K), spec.n)
    means = np.stack([H[:, labels == k].mean(axis=1) for k in range(spec.K)], axis=1)
    scatter = float(sum(((H[:, labels == k] - means[:, [k]]) ** 2).sum()
                        for k in range(spec.K)))
    Z = W @ means
    if "b" in point:
        Z = Z + np.asarray(point["b"]).reshape(-1, 1)
    return Z, scatter


def check_point(theorem, spec, closed, point, radius) -> float:
    """Assert every reported bound at one point; return the identified-logit distance."""
    claim_obj = theorem.claimed_logits(spec, closed)
    claim = claim_matrix(claim_obj)
    b_claim = (np.zeros(spec.K) if claim_obj.bias is None
               else np.array([float(x.mid()) for x in claim_obj.bias]))
    Z, scatter = class_mean_logits(spec, point)
    distance = identified_distance(theorem.structure_kind, Z, claim)
    assert distance <= radius["logits_frobenius"]
    assert scatter <= radius["within_class_scatter"]
    b = np.asarray(point.get("b", np.zeros(spec.K))).ravel()
    if "bias" in radius:
        assert np.linalg.norm(b - b_claim) <= radius["bias"]
    if "class_mean_logits_M" in radius:
        M = Z - b[:, None]
        M_claim = claim - b_claim[:, None]
        assert np.linalg.norm(M - M_claim) <= radius["class_mean_logits_M"]
    if "classifier_row_mean" in radius:
        assert np.linalg.norm(point["W"].mean(axis=0)) <= radius["classifier_row_mean"]
    if "self_duality" in radius:  # NC3: W^T against Hbar D = class means times sqrt(n_k)
        labels = np.repeat(np.arange(spec.K), spec.n)
        HD = np.stack([point["H"][:, labels == k].mean(axis=1) * math.sqrt(spec.n[k])
                       for k in range(spec.K)], axis=1)
        A_t = math.sqrt(float(spec.lam_W)) * point["W"].T
        B = math.sqrt(float(spec.lam_H)) * HD
        assert np.linalg.norm(A_t - B) <= radius["self_duality"]
        nc3 = np.linalg.norm(A_t / np.linalg.norm(A_t) - B / np.linalg.norm(B))
        if "nc3" in radius:  # reported only when the norm floor is proved positive
            assert nc3 <= radius["nc3"]
    return distance


def identified_distance(kind: str, Z: np.ndarray, Z_claim: np.ndarray) -> float:
    delta = Z - Z_claim
    if kind == "softmax":
        delta = delta - delta.mean(axis=0, keepdims=True)
    return float(np.linalg.norm(delta))


def eps_of(theorem, spec, cert, point) -> float:
    """f(P) - f* <= upper end of the interval value of P minus the rigorous lower bound."""
    value = upper_end(theorem.numeric_upper_bound(spec, point))
    return max(0.0, value - cert.lower_bound) * (1 + 1e-12)


def full_point(spec, closed, rng=None, scale=0.0) -> dict[str, np.ndarray]:
    """The explicit point with every sample's feature, optionally perturbed."""
    arrays = closed.point.arrays
    W = arrays["W"].copy()
    H = np.repeat(arrays["H"], spec.n, axis=1)
    point = {"W": W, "H": H}
    if "b" in arrays:
        point["b"] = arrays["b"].copy()
    if rng is not None:
        point["W"] = W + scale * rng.standard_normal(W.shape)
        point["H"] = H + scale * rng.standard_normal(H.shape)
        if "b" in point:
            point["b"] = point["b"] + scale * rng.standard_normal(point["b"].shape)
    return point


# ---------------------------------------------------------------- the curvature bound


def test_softmax_curvature_is_below_the_hessian_eigenvalue_on_one_perp():
    """p_min <= smallest eigenvalue of diag(p) - p p^T on 1-perp (numpy eigvalsh)."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        z = rng.normal(scale=3, size=5)
        p = np.exp(z - z.max())
        p /= p.sum()
        H = np.diag(p) - np.outer(p, p)
        Q = np.linalg.qr(np.vstack([np.ones(5), np.eye(5)[:4]]).T)[0][:, 1:]
        smallest = np.linalg.eigvalsh(Q.T @ H @ Q).min()
        bound = float(softmax_min_probability([flint.arb(float(x)) for x in z]).mid())
        assert bound <= smallest * (1 + 1e-12)
        assert bound == pytest.approx(p.min(), rel=1e-12)


def test_softmax_curvature_holds_on_the_ball():
    """The modulus on S_rho lower-bounds p_min at random points of the ball (numpy)."""
    rng = np.random.default_rng(1)
    z0 = np.array([2.0, -1.0, 0.5, 0.0])
    w = flint.arb(1) / 3
    curv = SoftmaxCurvature.at_columns([[flint.arb(float(x)) for x in z0]], [w])
    rho = 0.4
    mu = float(curv.modulus(flint.arb(rho)).mid())
    for _ in range(200):
        v = rng.standard_normal(4)
        v -= v.mean()
        v *= rho / math.sqrt(1 / 3) / np.linalg.norm(v) * rng.uniform()
        z = z0 + v
        p = np.exp(z - z.max())
        p /= p.sum()
        assert mu <= p.min()


# ---------------------------------------------------------------- solver points


@pytest.mark.parametrize("theorem_id, params", [("ufm-ce", CE), ("ufm-ls", LS)] + MSE_CASES[:2])
def test_solver_points_lie_within_the_certified_radius(theorem_id, params):
    theorem, spec, closed, cert, bound = setup(theorem_id, params)
    structure = bound.as_dict()
    assert structure["status"] == "certified" and structure["unique"] is True
    numeric = theorem.solve(spec, device="cpu", starts=2, seed=0)
    point = {k: np.asarray(v) for k, v in numeric.point.items()}
    eps = eps_of(theorem, spec, cert, point)
    radius = bound.radius(eps)
    assert radius is not None
    check_point(theorem, spec, closed, point, radius)


def claimed(theorem, spec, closed) -> np.ndarray:
    return claim_matrix(theorem.claimed_logits(spec, closed))


# ---------------------------------------------------------------- constructed perturbations


CE_IMBALANCED = {"K": 3, "n": "6,3,1", "d": 3, "lam_W": "5e-3", "lam_H": "5e-3"}


@pytest.mark.parametrize("theorem_id, params", [("ufm-ce", CE), ("ufm-ls", LS)] + MSE_CASES
                         + [("ufm-ce-imbalanced", CE_IMBALANCED)])
def test_perturbations_of_the_optimum_lie_within_the_radius(theorem_id, params):
    theorem, spec, closed, cert, bound = setup(theorem_id, params)
    rng = np.random.default_rng(7)
    ratios = []
    for scale in (1e-4, 1e-3, 1e-2, 5e-2):
        point = full_point(spec, closed, rng, scale)
        eps = eps_of(theorem, spec, cert, point)
        radius = bound.radius(eps)
        if radius is None:  # localization may fail far from the optimum: then no claim
            assert theorem.structure_kind == "softmax" and scale >= 1e-2
            continue
        distance = check_point(theorem, spec, closed, point, radius)
        ratios.append(distance / radius["logits_frobenius"])
    # not vacuous: for the exactly quadratic MSE the radius is within a factor 1000
    if theorem.structure_kind == "quadratic":
        assert max(ratios) > 1e-3


def test_perturbation_along_the_logits_is_tight_for_mse():
    """Moving only the logits of a relaxation optimum: for MSE the growth is exactly
    quadratic, so the radius is within a small factor of the actual distance."""
    theorem, spec, closed, cert, bound = setup(*MSE_CASES[0])
    claim = claimed(theorem, spec, closed)
    point = full_point(spec, closed)
    # scale W: Z = (1 + s) Z*, the value grows at second order in s
    s = 1e-3
    point["W"] = point["W"] * (1 + s)
    eps = eps_of(theorem, spec, cert, point)
    Z, _ = class_mean_logits(spec, point)
    distance = identified_distance("quadratic", Z, claim)
    radius = bound.radius(eps)["logits_frobenius"]
    assert distance <= radius < 50 * distance


# ---------------------------------------------------------------- mutations


def test_mutation_wrong_margin_claim_is_not_certified(monkeypatch):
    theorem, spec, closed, cert, bound = setup("ufm-ce", CE)
    a = sp.sympify(closed.minimizer["a_exact"])
    monkeypatch.setattr(type(theorem), "claimed_logits",
                        lambda self, s, c: etf_logits_claim(s.K, a * sp.Rational(101, 100)))
    structure = theorem.structure(spec, closed, cert)
    assert structure["status"] != "certified"
    assert structure["minimizer_radius"] > 0.01 * float(a)


def test_mutation_orthogonal_frame_claim_for_ce_is_not_certified(monkeypatch):
    """CE's minimizer is an ETF; claiming the orthogonal-frame logits a I must fail (their
    centred part is the ETF's, so this needs the uncentred bound on M = W Hbar)."""
    theorem, spec, closed, cert, _ = setup("ufm-ce", CE)
    a = sympy_float(closed.minimizer["a_exact"])
    K = spec.K

    def orthogonal(self, s, c):
        Z = [[flint.arb(a if i == k else 0.0) for k in range(K)] for i in range(K)]
        return ClaimedLogits.from_matrix(Z, [flint.arb(0)] * K, "orthogonal frame")

    monkeypatch.setattr(type(theorem), "claimed_logits", orthogonal)
    assert theorem.structure(spec, closed, cert)["status"] != "certified"


def sympy_float(text: str) -> float:
    return float(sp.N(sp.sympify(text), 20))


def test_mutation_etf_claim_for_bias_free_mse_is_not_certified(monkeypatch):
    """Bias-free MSE has an orthogonal frame; claiming the ETF x J must fail."""
    theorem, spec, closed, cert, _ = setup(*MSE_CASES[0])
    x = sympy_float(closed.minimizer["x_exact"])
    monkeypatch.setattr(type(theorem), "claimed_logits",
                        lambda self, s, c: etf_logits_claim(s.K, sp.Rational(x)))
    assert theorem.structure(spec, closed, cert)["status"] != "certified"


def test_mutation_wrong_point_is_not_certified_so_no_geometry():
    """A closed form whose explicit point has the wrong margin does not certify, and
    verify attaches geometry only to certified values."""
    theorem = get_theorem("ufm-ce")
    spec = theorem.spec(CE)
    good = theorem.closed_form(spec)
    wrong = etf_closed_form(spec, sp.sympify(good.minimizer["a_exact"]) * sp.Rational(11, 10))
    cert = theorem.certify(spec, wrong)
    assert cert.status != "certified"


def test_mutation_large_gap_or_no_curvature_gives_no_small_radius():
    """The engine itself: a gap that is not small gives a large radius, and zero curvature
    gives no certificate at all."""
    w = (flint.arb(1) / 2, flint.arb(1) / 2)
    common = dict(identified="Z", claim="claim", weights=w, offset_w=flint.arb(0),
                  offset_frobenius=flint.arb(0), claim_norm=flint.arb(1))
    small = StructureBound(lower=flint.arb(1), upper=flint.arb(1 + 1e-14),
                           curvature=QuadraticCurvature(flint.arb(1)), **common)
    large = StructureBound(lower=flint.arb(1), upper=flint.arb(1.1),
                           curvature=QuadraticCurvature(flint.arb(1)), **common)
    flat = StructureBound(lower=flint.arb(1), upper=flint.arb(1 + 1e-14),
                          curvature=QuadraticCurvature(flint.arb(0)), **common)
    assert small.as_dict()["status"] == "certified"
    assert large.as_dict()["status"] != "certified"
    assert large.minimizer_radius() >= 2 * math.sqrt(2 * 0.1)  # 2 sqrt(2 gap / mu) sqrt(2)
    assert flat.as_dict()["status"] != "certified" and flat.radius(1e-6) is None


def test_too_small_d_has_no_geometry():
    theorem = get_theorem("ufm-ce")
    spec = theorem.spec({"K": 6, "n": 2, "d": 3, "lam_W": "1e-3", "lam_H": "1e-3"})
    closed = theorem.closed_form(spec)
    cert = theorem.certify(spec, closed)
    assert cert.status == "not-applicable"
    assert theorem.structure(spec, closed, cert) is None


# ---------------------------------------------------------------- pipeline


def test_verify_attaches_structure_exactly_to_certified_results():
    from ncproofs.pipeline import verify
    from ncproofs.report import verify_text

    report = verify("ufm-mse", dict(MSE_CASES[0][1]), solve=False, landscape=False)
    cert = report["certificate"]
    if cert["status"] == "certified":
        assert cert["structure"]["status"] == "certified"
        assert [r["eps"] for r in cert["structure"]["radii"]][1:] == [1e-6]
        assert "geometry" in verify_text(report)
    else:  # a conditional / inconclusive value carries no geometry
        assert cert["structure"] is None


# ---------------------------------------------------------------- sphere CE


SPHERE = {"K": 4, "n": 2, "d": 3, "tau": "2"}


def test_sphere_solver_point_lies_within_the_radius():
    """Yaras et al.'s sphere model: the Riemannian solver's point, eps from its interval
    value (every sample column), centred logits tau W Hbar against tau K/(K-1) (I - 11^T/K)."""
    from ncproofs.theorems.base import ExplicitPoint

    theorem, spec, closed, cert, bound = setup("sphere-ce", SPHERE)
    assert bound.as_dict()["status"] == "certified"
    numeric = theorem.solve(spec, device="cpu", starts=2, seed=0)
    W, H = (np.asarray(numeric.point[k], dtype=np.float64) for k in ("W", "H"))
    labels = tuple(int(k) for k in np.repeat(np.arange(spec.K), spec.n))
    # the solver's float rows are unit only to rounding: renormalize exactly as the
    # certificate's objective requires points on the sphere
    W = W / np.linalg.norm(W, axis=1, keepdims=True)
    H = H / np.linalg.norm(H, axis=0, keepdims=True)
    value = theorem.upper_bound(spec, ExplicitPoint({"W": W, "H": H}, labels, (1,) * spec.N))
    eps = max(0.0, upper_end(value) - cert.lower_bound) * (1 + 1e-12)
    radius = bound.radius(eps)
    Z, _ = class_mean_logits(spec, {"W": W, "H": H})
    K = spec.K
    claim = 2 * K / (K - 1) * (np.eye(K) - np.ones((K, K)) / K)  # tau K/(K-1) J, tau = 2
    assert identified_distance("softmax", 2 * Z, claim) <= radius["logits_frobenius"]


def test_sphere_mutation_wrong_temperature_claim_is_not_certified(monkeypatch):
    """Claiming the ETF logits for temperature 2.02 instead of 2 must fail."""
    import ncproofs.theorems.sphere_ce as sphere

    theorem, spec, closed, cert, _ = setup("sphere-ce", SPHERE)
    monkeypatch.setattr(sphere, "etf_logits_claim",
                        lambda K, a: etf_logits_claim(K, a * sp.Rational(101, 100)))
    assert theorem.structure(spec, closed, cert)["status"] != "certified"


# ---------------------------------------------------------------- multi-label CE


MULTILABEL = {"K": 4, "m": 2, "n": "3,1", "d": 5, "lam_W": "5e-3", "lam_H": "2e-3",
              "lam_b": "0.01"}


def test_multilabel_perturbations_lie_within_the_radius():
    """Li et al.'s pick-all-label model: perturbed explicit points (W, per-label-set
    features, b), eps from their interval value; centred per-set logits and b checked."""
    from ncproofs.theorems.base import ExplicitPoint

    theorem, spec, closed, cert, bound = setup("multilabel-ce", MULTILABEL)
    assert bound.as_dict()["status"] == "certified"
    exact, _ = theorem._margins(spec)
    a = [float(sp.N(x, 20)) for x in exact]
    K = spec.K
    claim = np.stack([a[len(S) - 1] * (np.isin(np.arange(K), S) - len(S) / K)
                      for S in spec.sets], axis=1)
    rng = np.random.default_rng(3)
    base = closed.point.arrays
    for scale in (1e-5, 1e-4, 1e-3):
        arrays = {k: v + scale * rng.standard_normal(v.shape) for k, v in base.items()}
        point = ExplicitPoint(arrays, closed.point.labels, closed.point.counts)
        eps = max(0.0, upper_end(theorem.upper_bound(spec, point)) - cert.lower_bound)
        radius = bound.radius(eps * (1 + 1e-12))
        Z = arrays["W"] @ arrays["H"] + arrays["b"][:, None]
        assert identified_distance("softmax", Z, claim) <= radius["logits_frobenius"]
        assert np.linalg.norm(arrays["b"]) <= radius["bias"]
        M = arrays["W"] @ arrays["H"]
        assert np.linalg.norm(M - claim) <= radius["class_mean_logits_M"]


def test_multilabel_mutation_wrong_margins_not_certified(monkeypatch):
    theorem, spec, closed, cert, _ = setup("multilabel-ce", MULTILABEL)
    exact, a = type(theorem)._margins(theorem, spec)
    monkeypatch.setattr(type(theorem), "_margins",
                        lambda self, s: ([x * sp.Rational(101, 100) for x in exact], a))
    assert theorem.structure(spec, closed, cert)["status"] != "certified"


# ---------------------------------------------------------------- deep linear MSE


@pytest.mark.parametrize("params", [
    {"K": 3, "n": "8,4,2", "d": 4, "lam_W": "0.01", "lam_H": "0.01", "L": 1},
    {"K": 3, "n": 10, "d": 3, "lam_W": "0.01", "lam_H": "0.01", "L": 1, "bias": "true"},
])
def test_deep_linear_mse_one_layer_perturbations_lie_within_the_radius(params):
    """L = 1 is the plain MSE model: perturbed explicit points lie within r(eps); the claim
    is checked against the paper's L = 1 formula, x_k = (1 - N sqrt(lam_W lam_H)/sqrt(n_k))_+
    (bias-free; Dang et al. Thm 4.1 with M = 1) or x = 1 - K sqrt(n lam_W lam_H), b = 1/K."""
    from ncproofs.theorems.base import ExplicitPoint

    theorem, spec, closed, cert, bound = setup("deep-linear-mse", params)
    assert bound.as_dict()["status"] == "certified"
    K, N, s = spec.K, spec.N, math.sqrt(float(spec.lam_W * spec.lam_H))
    if spec.bias:
        x = 1 - K * math.sqrt(spec.n[0]) * s
        claim = x * (np.eye(K) - 1 / K) + 1 / K
    else:
        claim = np.diag([max(0.0, 1 - N * s / math.sqrt(nk)) for nk in spec.n])
    rng = np.random.default_rng(5)
    base = closed.point.arrays
    for scale in (0.0, 1e-4, 1e-3, 1e-2):
        arrays = {k: v + scale * rng.standard_normal(v.shape) for k, v in base.items()}
        point = ExplicitPoint(arrays, closed.point.labels, closed.point.counts)
        eps = max(0.0, upper_end(theorem.upper_bound(spec, point)) - cert.lower_bound)
        radius = bound.radius(eps * (1 + 1e-12))
        Z = arrays["W1"] @ arrays["H"] + arrays.get("b", np.zeros(K))[:, None]
        assert np.linalg.norm(Z - claim) <= radius["logits_frobenius"] + 1e-12


def test_deep_linear_mse_deeper_models_claim_no_geometry():
    theorem = get_theorem("deep-linear-mse")
    spec = theorem.spec({"K": 3, "n": 10, "d": 3, "lam_W": "0.01", "lam_H": "0.01", "L": 2,
                         "bias": "true"})
    closed = theorem.closed_form(spec)
    assert theorem.structure(spec, closed, theorem.certify(spec, closed)) is None


# ---------------------------------------------------------------- path-integrated radius


def test_path_bound_covers_points_where_the_ball_argument_fails():
    """A tiny softmax floor (t = 1e-4): at eps ~ 1.6e-5 the ball argument does not
    localize; the radius then comes from the curvature integrated along the segment, and
    perturbed optima must still lie inside it."""
    params = {"K": 6, "n": 1, "d": 6, "lam_W": "1e-4", "lam_H": "1e-4", "bias": "false"}
    theorem, spec, closed, cert, bound = setup("ufm-ce", params)
    rng = np.random.default_rng(0)
    fallback_used = False
    for scale in (1e-3, 1e-2, 3e-2):
        point = full_point(spec, closed, rng, scale)
        eps = eps_of(theorem, spec, cert, point)
        fallback_used |= bound.localize(eps) is None
        check_point(theorem, spec, closed, point, bound.radius(eps))
    assert fallback_used


def test_path_bound_excludes_exactly_what_the_green_function_allows():
    """Engine check against a hand computation: with pi = 1/4 (uniform softmax over 4
    classes at the origin), weights 1/2 and gap 0, the path bound for eps is a grid point
    (ratio 1.25) at or above D* = inf{D : max_s (1-s) pi (1 - (1 + b s D) e^{-b s D}) / b^2
    > s eps}, b = sqrt(2)/sqrt(1/2) = 2, found here by numpy bisection.  To leading order
    (1 - (1+x) e^{-x} ~ x^2/2, best s = 1/2) D* ~ sqrt(8 eps / pi) = 0.179."""
    w = (flint.arb(1) / 2, flint.arb(1) / 2)
    curvature = SoftmaxCurvature((flint.arb(0.25), flint.arb(0.25)), w)
    bound = StructureBound(identified="Z", claim="0", lower=flint.arb(1), upper=flint.arb(1),
                           weights=w, curvature=curvature, offset_w=flint.arb(0),
                           offset_frobenius=flint.arb(0), claim_norm=flint.arb(0))
    D_hat = float(bound.path_bound(1e-3).mid())
    s = np.arange(1, 64) / 64
    b, eps, pi = 2.0, 1e-3, 0.25

    def excluded(D):
        x = b * s * D
        return np.any((1 - s) * pi * (1 - (1 + x) * np.exp(-x)) / b**2 > s * eps)

    lo, hi = 0.0, 10.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if excluded(mid) else (mid, hi)
    assert hi <= D_hat * (1 + 1e-9) and D_hat <= 1.25 * hi * (1 + 1e-9)
    assert 0.179 < hi < 0.3
