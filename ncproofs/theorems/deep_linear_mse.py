r"""Dang et al. (2023): global minimizers of deep linear unconstrained-features models, MSE.

Paper: H. Dang, T. Tran, S. Osher, H. Tran-The, N. Ho, T. Nguyen, "Neural Collapse in Deep
Linear Networks: From Balanced to Imbalanced Data", ICML 2023 (arXiv 2301.00437):
Theorem 3.1 (balanced, bias-free and with a free bias: orthogonal frame / simplex ETF at
every layer) and Theorem 4.1 (imbalanced, bias-free: orthogonal class means whose lengths
depend on n_k; a class collapses to zero below a threshold).

Symbol map (paper -> ours).  The paper's model W_M ... W_1 H has M weight matrices: M = L
(docs/conventions.md: L counts weight matrices, L = 1 is the plain UFM).  Its loss is
1/(2N) |W_M ... W_1 H - Y|_F^2 + sum_m lambda_{W_m}/2 |W_m|^2 + lambda_H/2 |H|^2 with
N = sum n_k: the same 1/N-on-the-loss-only convention as ours, so lambda_{W_m} = lam_W for
every layer (one lam_W for all layers here), lambda_H = lam_H, n_k = n_k, d = d, K = K.

Derivation (every step is an inequality that is tight at the explicit point):
1. For fixed weights the objective is convex in each h_i, so class means are optimal
   (Jensen): H = Hbar with n_k copies of column k.  Put G = Hbar D^(1/2), D = diag(n),
   M = W_L ... W_1 G (K x K) = Z D^(1/2), Z the class-mean logits.
2. Data term = (1/2N) |M - D^(1/2)|_F^2; regularizer >= c sum_i sigma_i(M)^(2/(L+1)) with
   c = ((L+1)/2)(lam_H lam_W^L)^(1/(L+1)) (the depth-L factorization inequality).
3. von Neumann's trace inequality: |M - D^(1/2)|^2 >= sum_i (sigma_i(M) - sqrt(n_(i)))^2
   (both sorted), so f >= sum_k min_{s >= 0} (1/2N)(s - sqrt n_k)^2 + c s^(2/(L+1)); with
   s = x sqrt(n_k) this is the per-class scalar problem
       phi_k(x) = (n_k/2N)(x - 1)^2 + c (x sqrt(n_k))^(2/(L+1)),
   attained by M = diag(x_k sqrt(n_k)): class-mean logits x_k I (orthogonal frame),
   class means orthogonal with lengths depending on n_k.
4. Free bias (balanced, lam_b = 0): b* = n/N = 1/K, the data term sees only the centred
   logits Z (I - 11^T/K), and centring never increases singular values, so
   f* = (K-1) min phi with phi as above (n_k = n): simplex ETF, b = 1/K.
5. phi_k is solved exactly by :mod:`ncproofs.derive.deep_scalar` (x = s^(L+1) turns its
   stationarity into a rational polynomial; for L >= 2 a class collapses, x_k = 0, iff
   R_k = (N/n_k)^(L+1) n_k lam_H lam_W^L >= R_tie = ((L-1)/L)^(L-1)/L^(L+1), which includes
   a window where a positive stationary point exists and still loses to 0).

Certificate.  Lower bound: sum over classes (or (K-1) ETF directions) of a certified
minimum of phi: every real root of the stationarity polynomial enclosed by python-flint,
phi evaluated in interval arithmetic at each positive root and at 0.  It rests on steps
1-4, i.e. on the depth-L factorization inequality (listed in ``assumptions``).  Upper
bound: the original objective at the explicit balanced W_1..W_L, H of the stated d, in
interval arithmetic.  The numeric check solves the full problem with variable projection
(H, b eliminated in closed form) from random starts.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Any

import flint
import numpy as np
import sympy as sp

from ..certify.certificate import NOT_APPLICABLE, Certificate, decide
from ..certify.deep import DEPTH_IDENTITY, balanced_factorization, interval_objective_deep
from ..certify.intervals import sympy_to_arb
from ..certify.provenance import CENTRED_BIAS, EXACT_ROOTS, VON_NEUMANN, jensen_fixed_weights
from ..certify.structure import ClaimedLogits, StructureBound, plain_model_bound
from ..derive.deep_scalar import DeepScalar, max_ratio, tie_ratio
from ..derive.reduction import DerivationStep
from ..losses import get_loss
from ..solve.deep import layer_metrics, layer_summary, solve_deep
from ..spec import SpecError, UFMSpec, param
from .base import ClosedForm, ExplicitPoint, NumericResult, Theorem, register


@dataclasses.dataclass(frozen=True, kw_only=True)
class DeepLinearSpec(UFMSpec):
    """UFMSpec plus the depth ``L`` (number of weight matrices, L = 1 is the plain UFM).

    Every layer has weight decay ``lam_W``.  ``bias`` defaults to false here.  ``d`` must be
    >= K without a bias (orthogonal frame) and >= K - 1 with one (simplex ETF)."""

    L: int = param("int", lower=1, doc="number of weight matrices (L = 1: plain UFM)")
    bias: bool = param("bool", False, doc="whether the model has a bias b")

    #: minimal d as a function of (K, bias); subclasses override
    def min_d(self) -> int:
        return self.K - 1 if self.bias else self.K

    def _check(self) -> None:
        super()._check()
        need = self.min_d()
        if self.d < need:
            what = "K - 1" if need == self.K - 1 else "K"
            raise SpecError(f"d must be >= {what} = {need} for this theorem, got d={self.d}")

    @property
    def lams(self) -> tuple[Fraction, ...]:
        return (self.lam_W,) * self.L


#: the exact route (SymPy real_roots of a degree 2 L (L + 1) polynomial in s, 40-digit
#: evalf of CRootOf values) takes minutes beyond these; found by CLI fuzzing (L = 30 or
#: lam ~ 1e-300 hung).  Outside them the spec refuses with a SpecError.
MAX_EXACT_L = 10
MIN_EXACT_KAPPA = Fraction(1, 10**40)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DeepLinearMSESpec(DeepLinearSpec):
    """DeepLinearSpec within reach of the exact per-class root isolation:
    L <= MAX_EXACT_L and lam_H lam_W^L >= MIN_EXACT_KAPPA."""

    L: int = param("int", lower=1, upper=MAX_EXACT_L,
                   doc="number of weight matrices (L = 1: plain UFM)")

    def _check(self) -> None:
        super()._check()
        if self.lam_H * self.lam_W ** self.L < MIN_EXACT_KAPPA:
            raise SpecError(
                f"lam_H * lam_W^L must be >= 1e-40 for the exact root isolation, got "
                f"{float(self.lam_H * self.lam_W ** self.L):.3g} (lam_W={float(self.lam_W):g}, "
                f"lam_H={float(self.lam_H):g}, L={self.L})")


def scalar_problems(spec: DeepLinearSpec, kappa_scale: Fraction = Fraction(1)
                    ) -> list[DeepScalar]:
    """One phi per class (bias-free) or the single ETF-direction phi (free bias):
    A = n_k/(2N), kappa = n_k lam_H lam_W^L (times ``kappa_scale``, for mutation tests)."""
    N = spec.N
    counts = spec.n if not spec.bias else spec.n[:1]
    return [DeepScalar(spec.L, Fraction(nk, 2 * N),
                       nk * spec.lam_H * spec.lam_W ** spec.L * kappa_scale)
            for nk in counts]


def _largest_root_clamped(ds: DeepScalar) -> tuple[sp.Expr, str]:
    """Dang et al.'s released rule: the largest stationary root, negatives clamped to 0,
    never compared with x = 0 (wrong in the window; kept for mutation tests)."""
    points = ds.positive_stationary_points()
    if not points:
        return sp.Integer(0), "zero (no stationary root)"
    return points[-1] ** (ds.L + 1), "largest root"


def mse_closed_form(spec: DeepLinearSpec, *, kappa_scale: Fraction = Fraction(1),
                    root_rule: str = "exact") -> ClosedForm:
    """The closed form for ``spec``.  ``kappa_scale`` and ``root_rule="largest-clamp"``
    exist so that tests can build wrong closed forms (a wrong c, a wrong root)."""
    if spec.bias and not spec.balanced:
        return ClosedForm(objective=None, regime="imbalanced with bias", applicable=False,
                          reason="the free-bias (ETF) case is derived for balanced classes only")
    if spec.bias and spec.lam_b != 0:
        return ClosedForm(objective=None, regime="regularized bias", applicable=False,
                          reason="only a free bias (lam_b = 0) is covered")
    K, L, d = spec.K, spec.L, spec.d
    problems = scalar_problems(spec, kappa_scale)
    choose = DeepScalar.exact_minimizer if root_rule == "exact" else _largest_root_clamped
    xs, regimes, values = [], [], []
    steps: list[DerivationStep] = []
    for k, ds in enumerate(problems):
        x, regime = choose(ds)
        xs.append(x)
        regimes.append(regime)
        values.append(ds.value(x))
        label = "ETF direction" if spec.bias else f"class {k} (n_k = {spec.n[k]})"
        steps += [
            DerivationStep(f"{label}: phi(x)", ds.phi(sp.Symbol("x", nonnegative=True))),
            DerivationStep(f"{label}: R = kappa/(2A)^(L+1) vs R_tie",
                           sp.Tuple(sp.Rational(ds.R.numerator, ds.R.denominator),
                                    sp.Rational(*_nd(tie_ratio(L))))),
            DerivationStep(f"{label}: x* ({regime})", sp.N(x, 20)),
        ]
    if spec.bias:
        objective = (K - 1) * values[0]
        x = float(xs[0])
        Z = x * (np.eye(K) - np.ones((K, K)) / K)
        n = spec.n[0]
        M = Z * np.sqrt(n)
        b = np.full(K, 1.0 / K)
        geometry = "simplex ETF at every layer, b = 1/K"
    else:
        objective = sp.Add(*values)
        x_float = [float(x) for x in xs]
        M = np.diag([xk * np.sqrt(nk) for xk, nk in zip(x_float, spec.n)])
        b = None
        geometry = "orthogonal class means, lengths by n_k (zero for collapsed classes)"
    Ws, G = balanced_factorization(M, [float(spec.lam_W)] * L, float(spec.lam_H), d)
    H = G / np.sqrt(np.array(spec.n, dtype=float))
    arrays = {f"W{l}": W for l, W in enumerate(Ws, start=1)} | {"H": H}
    if b is not None:
        arrays["b"] = b
    point = ExplicitPoint(arrays=arrays, labels=tuple(range(K)), counts=spec.n)
    steps.append(DerivationStep("f* = sum of the scalar minima (exact)", objective))
    steps.append(DerivationStep("f* (40 digits)", sp.N(objective, 40)))
    summary: dict[str, Any] = {
        "geometry": geometry,
        "x": [float(x) for x in xs],
        "regimes": regimes,
        "c": float(sp.Rational(L + 1, 2) * (sp.Rational(*_nd(spec.lam_H))
                                            * sp.Rational(*_nd(spec.lam_W)) ** L)
                   ** sp.Rational(1, L + 1)),
        "collapsed_classes": [k for k, x in enumerate(xs) if x == 0] if not spec.bias else [],
    }
    return ClosedForm(objective=objective, regime="; ".join(sorted(set(regimes))),
                      minimizer=summary, point=point, steps=steps)


def _nd(x: Fraction) -> tuple[int, int]:
    return x.numerator, x.denominator


def claimed_enclosure(expr: sp.Expr) -> flint.arb:
    """A ball around a closed-form value (CRootOf included): 40 digits of SymPy's evalf,
    radius 1e-30 -- a claim to test, not a bound."""
    return flint.arb(str(sp.N(expr, 40)), 1e-30)


@register
class DeepLinearMSE(Theorem):
    id = "deep-linear-mse"
    title = "Deep linear MSE: orthogonal frame / ETF at every layer, any depth (Dang et al. 2023)"
    citation = (
        "H. Dang et al., Neural Collapse in Deep Linear Networks: From Balanced to Imbalanced "
        "Data, ICML 2023 (arXiv 2301.00437), Theorems 3.1 and 4.1"
    )
    symbol_map = (
        "paper M (number of weight matrices) = ours L; lambda_{W_m} = lam_W (all layers); "
        "lambda_H = lam_H; n_k, N, K, d unchanged (loss 1/(2N)|.|^2, same convention)"
    )
    spec_type = DeepLinearMSESpec
    default_cases = (
        {"params": {"K": 4, "n": 100, "d": 64, "lam_W": "5e-4", "lam_H": "5e-4", "L": 3},
         "expect": "certified"},
        {"params": {"K": 4, "n": "200,100,50,50", "d": 8, "lam_W": "5e-4", "lam_H": "5e-4",
                    "L": 2}, "expect": "certified"},
        {"params": {"K": 3, "n": 10, "d": 3, "lam_W": "0.01", "lam_H": "0.01", "L": 2,
                    "bias": "true"}, "expect": "certified"},
        {"params": {"K": 3, "n": "8,4,2", "d": 4, "lam_W": "0.01", "lam_H": "0.01", "L": 1},
         "expect": "certified"},
    )

    def derive_general(self) -> list[DerivationStep]:
        x, s, A, kappa, r = sp.symbols("x s A kappa r", positive=True)
        L = sp.Symbol("L", integer=True, positive=True)
        nk, N, lH, lW = sp.symbols("n_k N lambda_H lambda_W", positive=True)
        c = (L + 1) / 2 * (lH * lW**L) ** (1 / (L + 1))
        phi = nk / (2 * N) * (x - 1) ** 2 + c * (x * sp.sqrt(nk)) ** (2 / (L + 1))
        g = s ** (L - 1) * (1 - s ** (L + 1))
        return [
            DerivationStep("Depth-L factorization identity (reduction lemma): c", sp.Eq(
                sp.Symbol("c"), c)),
            DerivationStep("Per-class scalar problem phi_k(x), x = class-mean logit", phi),
            DerivationStep("Substitute x = s^(L+1): phi/A",
                           (s ** (L + 1) - 1) ** 2 + (L + 1) * r * s**2),
            DerivationStep("with r = kappa^(1/(L+1))/(2A), A = n_k/(2N), kappa = n_k lam_H "
                           "lam_W^L; stationarity phi'(s) = 2(L+1)A s (r - g(s)), g(s)", g),
            DerivationStep("Rational stationarity polynomial P(s) (R = r^(L+1))",
                           sp.Eq(g ** (L + 1) - sp.Symbol("R"), 0)),
            DerivationStep("R in the paper's symbols", sp.Eq(sp.Symbol("R"), (N / nk) ** (L + 1)
                                                               * nk * lH * lW**L)),
            DerivationStep("Tie phi(x2) = phi(0) at x2 = (L-1)/L, i.e. R_tie",
                           sp.Eq(sp.Symbol("R_tie"), ((L - 1) / L) ** (L - 1) / L ** (L + 1))),
            DerivationStep("Positive stationary points exist iff R <= R_max (L >= 2)",
                           sp.Eq(sp.Symbol("R_max"), ((L - 1) / (2 * L)) ** (L - 1)
                                 * ((L + 1) / (2 * L)) ** (L + 1))),
            DerivationStep("L = 1: class k collapses iff (R_tie = 1)",
                           sp.Ge(N**2 * lW * lH, nk)),
            DerivationStep("L = 2 window R_tie < R < R_max (x = 0 optimal yet a positive "
                           "stationary point exists)",
                           sp.Interval.open(sp.Rational(*_nd(tie_ratio(2))), max_ratio(2))),
        ]

    def closed_form(self, spec: UFMSpec) -> ClosedForm:
        return mse_closed_form(spec)  # type: ignore[arg-type]

    def lower_bound(self, spec: DeepLinearSpec) -> tuple[flint.arb, dict[str, Any]]:
        """Sum of the certified scalar minima (independent of any closed form)."""
        total = flint.arb(0)
        per: list[dict[str, Any]] = []
        for ds in scalar_problems(spec):
            low, cands = ds.certified_minimum()
            total += low
            per.append({"candidates_x": [float(x.mid()) for x, _ in cands],
                        "candidate_values": [float(v.mid()) for _, v in cands]})
        if spec.bias:
            total *= spec.K - 1
        return total, {"scalar": per}

    def upper_bound(self, spec: DeepLinearSpec, point: ExplicitPoint) -> flint.arb:
        a = point.arrays
        Ws = [a[f"W{l}"] for l in range(1, spec.L + 1)]
        return interval_objective_deep(get_loss("mse"), Ws, a["H"], a.get("b"), point.labels,
                                       point.counts, spec.lams, spec.lam_H, spec.lam_b)

    def certify(self, spec: UFMSpec, closed: ClosedForm) -> Certificate:
        method = ("exact scalar reduction: certified root isolation (flint) of each class's "
                  "stationarity polynomial vs x = 0 (lower); interval objective at the explicit "
                  "balanced W_1..W_L, H (upper)")
        assumptions = [DEPTH_IDENTITY, jensen_fixed_weights("MSE"), VON_NEUMANN]
        if spec.bias:
            assumptions.append(CENTRED_BIAS)
        if not closed.applicable or closed.objective is None:
            return Certificate(method=method, status=NOT_APPLICABLE, rigorous=False,
                               reason=closed.reason, assumptions=assumptions)
        lower, details = self.lower_bound(spec)  # type: ignore[arg-type]
        upper = self.upper_bound(spec, closed.point) if closed.point is not None else None
        intervals = [ds.proof_intervals() for ds in scalar_problems(spec)]  # type: ignore
        return decide(method=method, lower=lower, upper=upper,
                      claimed=claimed_enclosure(closed.objective), assumptions=assumptions,
                      lower_source=EXACT_ROOTS,
                      details=details, proof={"lower": {"kind": "deep-scalar-roots",
                                                        "stationary_intervals": intervals}})

    def solve(self, spec: UFMSpec, *, device: str = "auto", starts: int = 8,
              seed: int = 0) -> NumericResult:
        assert isinstance(spec, DeepLinearSpec)
        res = solve_deep("mse", spec.n, spec.d, [float(x) for x in spec.lams],
                         float(spec.lam_H), lam_b=float(spec.lam_b), bias=spec.bias,
                         starts=starts, seed=seed, device=device)
        summary = res.summary()
        best = res.best_point()
        layers = layer_metrics(res.objective, best, target="etf" if spec.bias else "orthogonal")
        summary["metrics"] = layer_summary(layers)
        summary["layers"] = layers
        return NumericResult(summary=summary, point=best)

    # ------------------------------------------------------------------ certified geometry

    def structure_bound(self, spec: UFMSpec, closed: ClosedForm,
                        cert: Certificate) -> StructureBound | None:
        """L = 1 only: the plain MSE model, whose nuclear-norm relaxation is strictly convex
        in the class-mean logits (ncproofs.certify.structure).  For L >= 2 the reduced
        problem penalizes a Schatten quasi-norm (p = 2/(L+1) < 1) of the logits: not
        convex, so this argument does not apply and no structure is claimed."""
        if spec.L != 1 or closed.point is None or cert.lower_bound is None \
                or cert.upper_bound is None:
            return None
        K = spec.K
        # the class-mean logits x_k are roots (CRootOf); the claim is their 40-digit
        # rational value, every radius is measured from it
        xs = [sympy_to_arb(sp.Rational(str(sp.N(DeepScalar.exact_minimizer(ds)[0], 40))))
              for ds in scalar_problems(spec)]
        if spec.bias:  # Z = x J + 11^T/K, b = 1/K
            Z = [[xs[0] * ((1 if i == k else 0) - flint.arb(1) / K) + flint.arb(1) / K
                  for k in range(K)] for i in range(K)]
            claim = ClaimedLogits.from_matrix(Z, [flint.arb(1) / K] * K,
                                              "class-mean logits x J + 11^T/K, b = 1/K",
                                              psd=True)  # M = x J, x >= 0
        else:  # Z = diag(x_k)
            Z = [[xs[k] if i == k else flint.arb(0) for k in range(K)] for i in range(K)]
            claim = ClaimedLogits.from_matrix(Z, None, "class-mean logits diag(x_k)",
                                              psd=True)  # x_k >= 0
        arrays = closed.point.arrays
        return plain_model_bound(
            kind="quadratic", W=arrays["W1"], H=arrays["H"], b=arrays.get("b"),
            counts=closed.point.counts, lam_W=spec.lam_W, lam_H=spec.lam_H, lam_b=spec.lam_b,
            claim=claim, lower=cert.lower_bound, upper=cert.upper_bound)
