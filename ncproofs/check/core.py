r"""Re-verify a proof file from its parameters, its exact dual data and its explicit point.

Nothing stored as a bound is trusted.  For a file of theorem T with parameters p:

1. the parameters are parsed exactly as typed (``3e-3`` is 3/1000) with T's defaults;
2. the lower bound L is recomputed from the exact dual data: its feasibility conditions
   are checked in exact rationals (positive semidefiniteness by the signs of the
   characteristic polynomial) and its value enclosed in arb balls;
3. the upper bound U is the objective of the explicit point (exact binary floats, or a
   named frame with exact scales), evaluated from p in arb balls;
4. the claimed value is the arb enclosure of the file's exact expression, which must lie
   inside the file's decimal enclosure;
5. certified means  U - L <= 1e-9 max(|L|, |U|, |claimed|)  and  L - tol <= claimed <=
   U + tol  (ends of the balls, compared as exact rationals), with every assumption a
   ``lemma``; ``conditional`` files must name at least one ``reduction``.

The optimum then lies in [L, U]: L <= f* because the dual point is feasible (weak
duality, under the file's assumptions) and f* <= U because the point is feasible.
"""

from __future__ import annotations

import ast
import json
from fractions import Fraction
from itertools import combinations
from math import comb
from typing import Any

import flint

from ..exact import ExactParseError, parse_bool, parse_fraction, parse_int

FORMAT = "ncproofs-proof"
FORMAT_VERSION = 1
REL_TOL = Fraction(1, 10**9)
PRECISION_BITS = 128


class InputError(Exception):
    """The file cannot be read as a proof file (exit status 2)."""


class CheckFailure(Exception):
    """An inequality or a consistency condition fails (exit status 1)."""


# --------------------------------------------------------------------------- the models

_PLAIN = ("K", "n", "d", "lam_W", "lam_H", "lam_b", "bias")
_BIAS, _NO_BIAS = {"lam_b": "0", "bias": "true"}, {"lam_b": "0", "bias": "false"}


def _model(model: str, loss: str | None, lower: tuple[str, ...], names: tuple = _PLAIN,
           defaults: dict | None = None, **more: Any) -> dict[str, Any]:
    return {"model": model, "loss": loss, "lower": lower, "names": names,
            "defaults": _BIAS if defaults is None else defaults, **more}


_CE, _DEEP = ("ce-symmetric-dual", "ce-dense-dual"), _PLAIN + ("L",)
#: theorem id -> model, loss, accepted lower-bound kinds, parameter names, defaults,
#: aliases and fixed values (as the package's specs define them)
THEOREMS: dict[str, dict[str, Any]] = {
    "ufm-ce": _model("plain", "ce", _CE),
    "ufm-ls": _model("plain", "ls", _CE, _PLAIN + ("alpha",), {**_BIAS, "alpha": "1/10"}),
    "ufm-ce-imbalanced": _model("plain", "ce", ("ce-dense-dual",)),
    "ufm-mse": _model("plain", "mse", ("mse-dual",)),
    "ufm-mse-imbalanced": _model("plain", "mse", ("mse-dual",), defaults=_NO_BIAS),
    "deep-linear-mse": _model("deep-linear", "mse", ("deep-scalar-roots",), _DEEP, _NO_BIAS),
    "deep-linear-ce": _model("deep-linear", "ce", ("schatten-cover", "schatten-dual"), _DEEP,
                             _NO_BIAS),
    "dufm-binary": _model("deep-relu", "mse", ("deep-scalar-roots",), _DEEP, _NO_BIAS),
    "dufm-lowrank": _model("deep-relu", "mse", ("deep-scalar-roots",), _DEEP, _NO_BIAS),
    "eufm-relu": _model("eufm", "mse", ("deep-scalar-roots",), _PLAIN + ("lam_W1", "relu"),
                        {**_NO_BIAS, "relu": "true"}, aliases={"lam_W2": "lam_W"}),
    "ufm-focal": _model("plain", "focal", ("focal-minorant",), _PLAIN + ("gamma",),
                        {**_BIAS, "gamma": "2"}),
    "multilabel-ce": _model("multilabel", "pal", ("pal-symmetric-dual",), _PLAIN + ("m",),
                            {**_BIAS, "m": "2"}),
    "sphere-ce": _model("sphere", "ce", ("gram-symmetric-dual",), _PLAIN + ("tau",),
                        {"lam_W": "0", "lam_H": "0", **_NO_BIAS}),
    "sphere-gnc": _model("margin", None, ("margin-lemma",), ("K", "d"), {"n": "1"}),
    "relu2-convex": _model(
        "relu2", "mse", ("relu2-dual",), ("n", "width", "beta", "bias", "data", "patterns",
                                          "samples", "seed"),
        {"n": "8", "width": "8", "bias": "true", "data": "iris", "patterns": "complete",
         "samples": "200", "seed": "0"},
        aliases={"lam_W": "beta", "m": "width", "d": "width"},
        fixed={"K": "2", "lam_H": "0"}),
}
_INTS = ("K", "d", "L", "m", "width", "samples", "seed")
_RATIONALS = ("lam_W", "lam_H", "lam_b", "lam_W1", "alpha", "tau", "beta", "gamma")


def parse_params(theorem: str, typed: dict[str, Any]) -> dict[str, Any]:
    """The parameters, exactly, from the typed strings with the theorem's defaults."""
    info = THEOREMS[theorem]
    fixed, aliases = info.get("fixed", {}), info.get("aliases", {})
    raw = dict(info["defaults"])
    for key, value in typed.items():
        name = aliases.get(key, key)
        _require(name in info["names"] or name in fixed,
                 f"params: unknown parameter {key!r} for {theorem}")
        raw[name] = value
    missing = [k for k in info["names"] if k not in raw]
    if missing:
        raise CheckFailure(f"params: missing parameter {missing[0]}")
    try:
        for name, value in fixed.items():
            _require(parse_fraction(name, raw.pop(name, value)) == parse_fraction(name, value),
                     f"params: {name} is fixed to {value} for {theorem}")
        p: dict[str, Any] = {"K": 2, "d": 1, "L": 1, "m": 1, "lam_b": Fraction(0),
                             "bias": False, "relu": info["model"] == "deep-relu"}
        for name, value in raw.items():
            if name in _INTS:
                p[name] = parse_int(name, value)
            elif name in _RATIONALS:
                p[name] = parse_fraction(name, value)
            elif name in ("bias", "relu"):
                p[name] = parse_bool(name, value)
        items = str(raw["n"]).replace(" ", "").split(",")
        counts = tuple(parse_int("n", x) for x in items)
    except ExactParseError as exc:
        raise CheckFailure(f"params: {exc}") from None
    model = info["model"]
    if model == "relu2":
        return _relu2_params(p, raw, counts)
    if model == "eufm":
        p["L"], p["lams"] = 2, [p["lam_W1"], p["lam_W"]]
    _require(p["K"] >= 2 and p["d"] >= 1, "params: need K >= 2 and d >= 1")
    _require(1 <= p["m"] <= p["K"] - 1, "params: m must be in [1, K - 1]")
    groups = p["m"] if model == "multilabel" else p["K"]  # label-set sizes or classes
    p["counts"] = counts * groups if len(counts) == 1 else counts
    _require(len(p["counts"]) == groups and min(p["counts"]) >= 1,
             f"params: n must be one int >= 1 or {groups} of them")
    _require(p["lam_b"] >= 0 and (p["bias"] or p["lam_b"] == 0),
             "params: lam_b must be >= 0, and 0 without a bias")
    _require(p["L"] >= 1, "params: L must be >= 1")
    if model == "sphere":
        _require(p["lam_W"] == p["lam_H"] == p["lam_b"] == 0 and not p["bias"],
                 "params: the sphere model has no weight decay and no bias")
        _require(p["tau"] > 0, "params: tau must be > 0")
    elif model != "margin":
        _require(p["lam_W"] > 0 and p["lam_H"] > 0 and p.get("lam_W1", 1) > 0,
                 "params: lam_W, lam_W1 and lam_H must be > 0")
        p.setdefault("lams", [p["lam_W"]] * p["L"])
    _require(not (p["relu"] or model == "eufm") or not p["bias"],
             "params: the ReLU / extended models are bias-free")
    _require(0 <= p.get("alpha", 0) < 1, "params: alpha must be in [0, 1)")
    p["smoothing"] = p.get("alpha", Fraction(0)) if info["loss"] == "ls" else Fraction(0)
    return p


def _relu2_params(p: dict[str, Any], raw: dict[str, Any], counts: tuple) -> dict[str, Any]:
    """Two-layer ReLU net on generated data: X (2n x q) and labels y = (+1)^n, (-1)^n.
    rank-one: X = a b^T, a_i = ((7 i) mod 11) - 4 (0 -> 1), b = (3, 4); whitened:
    X = I - v v^T/2, v = (1, 1, 1, 1, 0, ...) (X^T X = I).  Iris is not covered."""
    _require(len(counts) == 1 and counts[0] >= 1, "params: n must be one int >= 1")
    n, data = counts[0], str(raw["data"])
    _require(data in ("rank-one", "whitened") and not p["bias"] and raw["patterns"] ==
             "complete", "params: only data=rank-one or whitened, bias=false, "
             "patterns=complete proof files can be checked")
    _require(p["beta"] > 0 and p["width"] >= 1 and (data != "whitened" or n >= 2),
             "params: need beta > 0, width >= 1 (and n >= 2 for whitened)")
    y = [Fraction(1)] * n + [Fraction(-1)] * n
    if data == "rank-one":
        a = [Fraction(((7 * i) % 11) - 4 or 1) for i in range(2 * n)]
        X = [[3 * x, 4 * x] for x in a]
    else:
        X = [[(i == j) - Fraction(int(i < 4 and j < 4), 2) for j in range(2 * n)]
             for i in range(2 * n)]
    return {**p, "data": data, "X": X, "y": y, "counts": (1,) * (2 * n)}


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailure(message)


# --------------------------------------------------------------------------- arithmetic


def ball(x: Fraction | int) -> flint.arb:
    x = Fraction(x)
    return flint.arb(flint.fmpq(x.numerator, x.denominator))


def exact_of_arb_end(x: flint.arb) -> Fraction:
    """An endpoint ball (radius 0) as an exact rational."""
    man, exp = (int(v) for v in x.man_exp())
    return Fraction(man) * Fraction(2) ** exp


def ends(x: flint.arb, what: str) -> tuple[Fraction, Fraction]:
    """Exact rationals lo <= x <= hi (the ends of the ball)."""
    _require(x.is_finite(), f"{what}: the interval evaluation is not finite")
    return exact_of_arb_end(x.lower()), exact_of_arb_end(x.upper())


def rational(text: Any, what: str) -> Fraction:
    try:
        return parse_fraction(what, text)
    except ExactParseError as exc:
        raise InputError(f"malformed proof file: {exc}") from None


def binary_float(text: Any, what: str) -> flint.arb:
    """An exact ball for a float written with ``float.hex``."""
    try:
        return flint.arb(float.fromhex(text))
    except (TypeError, ValueError):
        raise InputError(f"malformed proof file: {what} must be a hex float, got {text!r}"
                         ) from None


def entropy(p: list[Fraction]) -> flint.arb:
    """-sum p_j log p_j (0 log 0 = 0) for exact p_j >= 0."""
    total = flint.arb(0)
    for pj in p:
        if pj != 0:
            total -= ball(pj) * ball(pj).log()
    return total


def is_psd(C: list[list[Fraction]]) -> bool:
    """Exact test of a symmetric rational matrix: det(xI - C) = sum c_i x^i has only
    nonnegative roots iff (-1)^(K-i) c_i >= 0 for all i (it is real-rooted; Descartes)."""
    K = len(C)
    if any(C[i][j] != C[j][i] for i in range(K) for j in range(K)):
        return False
    M = flint.fmpq_mat(K, K, [flint.fmpq(x.numerator, x.denominator) for r in C for x in r])
    coeffs = M.charpoly().coeffs()
    return all((-1) ** (K - i) * c >= 0 for i, c in enumerate(coeffs))


def dual_slack(Y: list[list[Fraction]], p: dict[str, Any]) -> list[list[Fraction]]:
    """lam_W lam_H diag(n) - Y^T Y (PSD iff |Y D^-1|_2 <= sqrt(lam_W lam_H))."""
    K, s2 = p["K"], p["lam_W"] * p["lam_H"]
    return [[(s2 * p["counts"][i] if i == j else 0) - sum(Y[r][i] * Y[r][j] for r in range(K))
             for j in range(K)] for i in range(K)]


def matrix(data: Any, rows: int, cols: int, what: str, convert) -> list[list[Any]]:
    ok = isinstance(data, list) and len(data) == rows and all(
        isinstance(r, list) and len(r) == cols for r in data)
    _require(ok, f"{what}: expected a {rows} x {cols} matrix for these params")
    return [[convert(x, what) for x in r] for r in data]


# --------------------------------------------------------------------------- lower bounds


def target(p: dict[str, Any], j: int, k: int) -> Fraction:
    """Entry j of the (smoothed) one-hot target of class k."""
    a = p["smoothing"]
    return (1 - a) * (j == k) + a / p["K"]


def symmetric_q(data: dict, p: dict) -> tuple[Fraction, flint.arb]:
    """q in [0, 1/(K-1)] (balanced n) and Ent(1 - (K-1) q, q, ..., q)."""
    K, q = p["K"], rational(data.get("q"), "lower.q")
    _require(len(set(p["counts"])) == 1, "lower bound: the symmetric dual needs balanced n")
    _require(0 <= q <= Fraction(1, K - 1), "lower bound: q must lie in [0, 1/(K-1)]")
    return q, entropy([1 - (K - 1) * q]) + (K - 1) * entropy([q])


def lower_ce_symmetric(data: dict, p: dict) -> flint.arb:
    """P = (1 - (K-1) q) I + q (11^T - I): Y = -(q - alpha/K)(I - 11^T/K) D^0, so Y 1 = 0
    (every bias mode) and (*) reads (q - alpha/K)^2 <= n lam_W lam_H.  Value: the column
    entropy Ent(1 - (K-1) q, q, ..., q)."""
    q, value = symmetric_q(data, p)
    r = q - p["smoothing"] / p["K"]
    _require(r * r <= p["counts"][0] * p["lam_W"] * p["lam_H"],
             "lower bound: dual point infeasible, (q - alpha/K)^2 > n lam_W lam_H")
    return value


def lower_ce_dense(data: dict, p: dict) -> flint.arb:
    """Columns p_k of P in the simplex, Y = (P - T) diag(w), (*) exactly, Y 1 = 0 for an
    unregularized bias.  Value: sum_k w_k Ent(p_k) - |Y 1|^2/(2 lam_b) (regularized bias)."""
    K, N = p["K"], sum(p["counts"])
    cols = matrix(data.get("P_columns"), K, K, "lower.P_columns", rational)
    w = [Fraction(c, N) for c in p["counts"]]
    _require(all(x >= 0 for c in cols for x in c) and all(sum(c) == 1 for c in cols),
             "lower bound: a column of P is not a probability vector")
    Y = [[w[k] * (cols[k][j] - target(p, j, k)) for k in range(K)] for j in range(K)]
    _require(is_psd(dual_slack(Y, p)), "lower bound: lam_W lam_H diag(n) - Y^T Y is not PSD")
    value = sum((ball(w[k]) * entropy(cols[k]) for k in range(K)), flint.arb(0))
    return value - ball(bias_penalty(Y, p))


def bias_penalty(Y: list[list[Fraction]], p: dict) -> Fraction:
    """|Y 1|^2/(2 lam_b) for a regularized bias; Y 1 = 0 is required for a free one."""
    rows = [sum(r) for r in Y]
    if p["bias"] and p["lam_b"] == 0:
        _require(all(r == 0 for r in rows), "lower bound: Y 1 != 0 with a free bias")
    return sum(r * r for r in rows) / (2 * p["lam_b"]) if p["bias"] and p["lam_b"] else 0


def lower_mse(data: dict, p: dict) -> flint.arb:
    """g(Y) = -tr Y - sum_k |Y e_k|^2/(2 w_k) - |Y 1|^2/(2 lam_b), exact, with (*) and
    Y 1 = 0 for an unregularized bias."""
    K, N = p["K"], sum(p["counts"])
    Y = matrix(data.get("Y"), K, K, "lower.Y", rational)
    w = [Fraction(c, N) for c in p["counts"]]
    _require(is_psd(dual_slack(Y, p)), "lower bound: lam_W lam_H diag(n) - Y^T Y is not PSD")
    value = -sum(Y[k][k] for k in range(K)) - bias_penalty(Y, p)
    return ball(value - sum(sum(Y[j][k] ** 2 for j in range(K)) / (2 * w[k]) for k in range(K)))


def lower_gram_symmetric(data: dict, p: dict) -> flint.arb:
    """Sphere CE: Ent(1 - (K-1) q, q, ..., q) - K tau q for 0 <= q <= 1/(K-1), balanced n
    (the dual slack C - Diag(-(tau q/2) 1) has eigenvalues tau q, tau q/2, 0)."""
    q, value = symmetric_q(data, p)
    return value - ball(p["K"] * p["tau"] * q)


def lower_deep_scalar(data: dict, p: dict) -> flint.arb:
    """Deep MSE models, bias-free: a sum of min_{x >= 0} phi(x) = A (x - 1)^2 +
    ((L+1)/2) kappa^(1/(L+1)) x^(2/(L+1)) with, for ``bound = "per-class"`` (default), one
    term per class: A = n_k/(2N), kappa = n_k lam_H prod_l lam_l (Jensen, the factorization
    identity and von Neumann: a lemma chain for linear layers only, so a ReLU model needs
    a reduction, i.e. a conditional file), or K - 1 times the ETF direction (free bias,
    balanced); for ``bound = "frobenius"`` one term A = 1/2, kappa = N lam_H prod_l lam_l
    (|max(A, 0)|_F <= |A|_F, submultiplicativity, AM-GM: any point, ReLU or not).
    With x = s^(L+1) the minimum is at 0 or at a positive real root of P(s) =
    s^((L-1)(L+1)) (1 - s^(L+1))^(L+1) - R, R = kappa/(2A)^(L+1).  The file lists these
    roots as disjoint rational intervals; each must show a sign change of P (exact), and
    FLINT's isolation of all complex roots of P must find exactly as many positive real
    roots.  The bound is the sum of the minima of phi over 0 and the intervals."""
    K, L, N = p["K"], p["L"], sum(p["counts"])
    prod = p["lam_H"]
    for lam in p["lams"]:
        prod *= lam
    if data.get("bound") == "frobenius":
        _require(not p["bias"], "lower bound: the Frobenius bound is for bias-free models")
        terms, factor = [(Fraction(1, 2), N * prod)], 1
    else:
        _require(data.get("bound", "per-class") == "per-class" and (
            not p["relu"] or p["status"] == "conditional"),
            "lower bound: the per-class bound holds for linear layers only (a ReLU model "
            "needs a reduction, status conditional)")
        if p["bias"]:
            _require(len(set(p["counts"])) == 1 and p["lam_b"] == 0,
                     "lower bound: the free-bias case needs balanced n and lam_b = 0")
        classes = p["counts"][:1] if p["bias"] else p["counts"]
        terms = [(Fraction(n_k, 2 * N), n_k * prod) for n_k in classes]
        factor = K - 1 if p["bias"] else 1
    per_term = data.get("stationary_intervals")
    _require(isinstance(per_term, list) and len(per_term) == len(terms),
             "lower bound: one list of stationary intervals per scalar term expected")
    s = flint.fmpq_poly([0, 1])
    total = flint.arb(0)
    for (A, kappa), intervals in zip(terms, per_term):
        R = kappa / (2 * A) ** (L + 1)
        P = s ** ((L - 1) * (L + 1)) * (1 - s ** (L + 1)) ** (L + 1) - flint.fmpq(
            R.numerator, R.denominator)
        found = [z for z, _ in P.numer().complex_roots()
                 if z.imag.contains(0) and z.real.upper() > 0]
        bounds = matrix(intervals, len(intervals), 2, "lower.stationary_intervals", rational)
        _require(len(bounds) == len(found), "lower bound: the stationary intervals do not "
                 "match the positive real roots of P")
        _require(all(a < b for a, b in bounds)
                 and all(bounds[i][1] < bounds[i + 1][0] for i in range(len(bounds) - 1)),
                 "lower bound: stationary intervals must be disjoint and increasing")
        c = ball(Fraction(L + 1, 2)) * ball(kappa).root(L + 1)
        values = [ball(A)]  # phi(0)
        for a, b in bounds:
            pa, pb = (P(flint.fmpq(x.numerator, x.denominator)) for x in (a, b))
            _require(pa * pb < 0, "lower bound: no sign change of P on a stationary interval")
            root = ball(a).union(ball(b))
            x = power(root, L + 1)
            values.append(ball(A) * (x - 1) * (x - 1) + c * root * root)
        total += lowest(values)
    return total * factor


def lowest(values: list[flint.arb]) -> flint.arb:
    """The ball with the least lower end: its lower end bounds min(values) from below."""
    return min(values, key=lambda v: ends(v, "bound")[0])


def power(x: flint.arb, k: int) -> flint.arb:
    """x^k by products (arb's power of a ball containing 0 is nan)."""
    out = flint.arb(1)
    for _ in range(k):
        out *= x
    return out


def lower_schatten_cover(data: dict, p: dict) -> flint.arb:
    """Deep linear CE, balanced n: by permutation averaging (CE convex), the factorization
    identity and sum sigma_i^q >= (sum sigma_i)^q (q = 2/(L+1) <= 1),
    f >= min_{a >= 0} psi(a) = log(1 + (K-1) e^(-a)) + B a^q,
    B = ((L+1)/2) (K-1)^q (lam_H lam_W^L)^(1/(L+1)) n^(q/2).  The file gives breakpoints
    0 = a_0 < ... < a_M; on [u, v] psi >= dec(v) + inc(u) (monotone parts) and, for u > 0,
    psi >= psi(m) - |psi'([u, v])| (v - u)/2; beyond a_M psi > B a_M^q."""
    K, L = p["K"], p["L"]
    _require(len(set(p["counts"])) == 1, "lower bound: the Schatten bound needs balanced n")
    breaks = [rational(x, "lower.breaks") for x in data.get("breaks") or []]
    _require(len(breaks) >= 2 and breaks[0] == 0 and all(
        u < v for u, v in zip(breaks, breaks[1:])), "lower bound: breaks must increase from 0")
    q = ball(Fraction(2, L + 1))
    B = ball(Fraction(L + 1, 2)) * ball(K - 1) ** q * ball(
        p["lam_H"] * p["lam_W"] ** L * p["counts"][0]).root(L + 1)

    def inc(a: flint.arb) -> flint.arb:
        return B * a ** q if a > 0 else flint.arb(0)

    def dec(a: flint.arb) -> flint.arb:
        return (1 + (K - 1) * (-a).exp()).log()

    bounds = [inc(ball(breaks[-1]))]
    for u, v in zip(breaks, breaks[1:]):
        low = dec(ball(v)) + inc(ball(u))
        if u > 0:
            mid, e = ball((u + v) / 2), (-ball(u).union(ball(v))).exp()
            slope = -(K - 1) * e / (1 + (K - 1) * e) + B * q * ball(u).union(ball(v)) ** (q - 1)
            low = low.max(dec(mid) + inc(mid) - abs(slope) * ball((v - u) / 2))
        bounds.append(low)
    return lowest(bounds)


def _softmax_2d(D: list[list[float]], M: list[list[float]]) -> list[float]:
    """Softmax (label first) at the minimizer of lse(0, D x)/3 + x^T M x: damped Newton in
    floats (any softmax vector gives a valid bound; this one makes it tight)."""
    from math import exp, log

    def parts(x: list[float]) -> tuple[float, list[float]]:
        z = [0.0] + [d[0] * x[0] + d[1] * x[1] for d in D]
        m = max(z)
        e = [exp(v - m) for v in z]
        s = sum(e)
        quad = sum(x[a] * M[a][b] * x[b] for a in range(2) for b in range(2))
        return (m + log(s)) / 3 + quad, [v / s for v in e]

    x = [0.0, 0.0]
    f, pi = parts(x)
    for _ in range(100):
        u = [sum(pi[j + 1] * D[j][a] for j in range(2)) for a in range(2)]
        g = [u[a] / 3 + 2 * (M[a][0] * x[0] + M[a][1] * x[1]) for a in range(2)]
        h = [[(sum(pi[j + 1] * D[j][a] * D[j][b] for j in range(2)) - u[a] * u[b]) / 3
              + 2 * M[a][b] for b in range(2)] for a in range(2)]
        det = h[0][0] * h[1][1] - h[0][1] * h[1][0]
        if not det > 0:  # (cannot happen for B > 0) keep the current softmax: still valid
            break
        step = [(h[1][1] * g[0] - h[0][1] * g[1]) / det, (h[0][0] * g[1] - h[1][0] * g[0]) / det]
        t = 1.0
        while True:
            trial = [x[a] - t * step[a] for a in range(2)]
            f_new, pi_new = parts(trial)
            if f_new <= f or t < 1e-12:
                break
            t /= 2
        x, done = trial, f - f_new <= 1e-16 * max(1.0, abs(f))
        f, pi = f_new, pi_new
        if done:
            break
    return pi


def lower_schatten_dual(data: dict, p: dict) -> flint.arb:
    """Deep linear CE, K = 3, balanced n (docs/certificates.md, L16-L17).  The reduced
    problem g(X) = (1/3) sum_k CE(Q x_k, k) + C tr (X X^T)^q (q = 1/(L+1), C = ((L+1)/2)
    (lam_H lam_W^L n)^q) has g >= min(U, min_B Phi) over 0 <= B <= b_max I, b_max =
    (U/C)^L/(Cq), Phi(B) >= sum_k Ent(pi_k)/3 - y_k^T B y_k + kappa tr B^(1/L) for any
    softmax vectors pi_k (y_k = D_k^T pi_k,-k / 6, kappa = C(1-q)(Cq)^(1/L)), and B is
    non-increasing for the first part, concave non-decreasing for the second.  The file
    gives U and boxes in B = b0 (I + [[r1, r2], [r2, -r1]]) (hex floats) that tile
    [0, b] x [0, 1]^2 by bisection (b0 geometrically); each lies outside the wedge
    0 <= r2 <= sqrt(3) r1 (a fundamental domain of the class permutations), the PSD cone or
    B <= b_max I, or is
    bounded by the minimum over its 8 corners (pi at its centre) or by Loewner monotonicity
    (pi at its upper corner)."""
    from math import hypot

    K, L = p["K"], p["L"]
    _require(K == 3 and len(set(p["counts"])) == 1,
             "lower bound: schatten-dual needs K = 3 and balanced n")
    U = rational(data.get("domain_upper"), "lower.domain_upper")
    _require(U > 0, "lower bound: domain_upper must be > 0")
    q, s = ball(Fraction(1, L + 1)), ball(Fraction(1, L))
    C = ball(Fraction(L + 1, 2)) * ball(p["lam_H"] * p["lam_W"] ** L * p["counts"][0]) ** q
    kappa = C * (1 - q) * (C * q) ** s
    b_max = (ball(U) / C) ** L / (C * q)
    leaves = [[binary_float(v, "lower.leaves") for v in leaf] for leaf in data.get("leaves") or []]
    _require(leaves and all(len(leaf) == 6 for leaf in leaves), "lower bound: leaves malformed")
    top = float(binary_float(data.get("b"), "lower.b").mid())
    _require(flint.arb(top) >= b_max, "lower bound: the tiled range [0, b] misses b_max")
    boxes = [tuple((float(leaf[2 * i].mid()), float(leaf[2 * i + 1].mid())) for i in range(3))
             for leaf in leaves]
    _require(_tiles(((0.0, top), (0.0, 1.0), (0.0, 1.0)), boxes),
             "lower bound: the boxes do not tile the domain by bisection")
    r3 = ball(3).sqrt()
    Q = [[1 / ball(2).sqrt(), 1 / ball(6).sqrt()], [-1 / ball(2).sqrt(), 1 / ball(6).sqrt()],
         [ball(0), -2 / ball(6).sqrt()]]
    D = [[[Q[j][m] - Q[k][m] for m in range(2)] for j in range(3) if j != k] for k in range(3)]
    Df = [[[float(v.mid()) for v in row] for row in Dk] for Dk in D]

    def dual(b: tuple[float, float, float]) -> tuple[flint.arb, list[flint.arb]]:
        """sum_k Ent(pi_k)/3 and (Y_11 + Y_22, Y_11 - Y_22, 2 Y_12), Y = sum_k y_k y_k^T."""
        b0, r1, r2 = b
        det = b0 * b0 * (1 - r1 * r1 - r2 * r2)
        M = [[b0 * (1 - r1) / det, -b0 * r2 / det], [-b0 * r2 / det, b0 * (1 + r1) / det]]
        const, Y = flint.arb(0), [[flint.arb(0)] * 2 for _ in range(2)]
        for k in range(3):
            pi = [Fraction(v) for v in _softmax_2d(Df[k], M)]
            pi[0] = 1 - pi[1] - pi[2]
            _require(pi[0] >= 0, "lower bound: softmax rounding left the simplex")
            const += entropy(pi) / 3
            y = [(D[k][0][m] * ball(pi[1]) + D[k][1][m] * ball(pi[2])) / 6 for m in range(2)]
            Y = [[Y[a][c] + y[a] * y[c] for c in range(2)] for a in range(2)]
        return const, [Y[0][0] + Y[1][1], Y[0][0] - Y[1][1], 2 * Y[0][1]]

    def power_sum(big: flint.arb, small: flint.arb) -> flint.arb:
        """kappa (big^(1/L) + small^(1/L)) of eigenvalues; small below 0 counts as 0."""
        return kappa * (big ** s + (small ** s if small > 0 else flint.arb(0)))

    bounds = [ball(U)]
    for leaf, box in zip(leaves, boxes):
        (l0, h0), (l1, h1), (l2, h2) = box
        r_min, r_max = (leaf[2] ** 2 + leaf[4] ** 2).sqrt(), (leaf[3] ** 2 + leaf[5] ** 2).sqrt()
        if leaf[4] > r3 * leaf[3] or r_min > 1 or leaf[0] * (1 + r_min) > b_max:
            continue  # no point of the fundamental domain
        corners = [(leaf[i], leaf[2 + j], leaf[4 + m]) for i in (0, 1) for j in (0, 1)
                   for m in (0, 1)]
        inside = r_max <= 1
        if inside:  # kappa tr B^(1/L) at each corner, eigenvalues b0 (1 +- |r|)
            traces = [power_sum(b0 * (1 + r), b0 * (1 - r)) for b0, r in
                      ((b0, (r1 * r1 + r2 * r2).sqrt()) for b0, r1, r2 in corners)]
            t_low = lowest(traces)
        else:  # eigenvalue lower ends over the leaf's PSD part
            t_low = power_sum(leaf[0] * (1 + r_min), leaf[0] * (1 - r_max))
        c = [(l0 + h0) / 2, (l1 + h1) / 2, (l2 + h2) / 2]
        rc = [c[1], c[2]]
        norm = hypot(*rc)
        if norm > 0.999:
            rc = [v * 0.999 / norm for v in rc]
        const, Y = dual((c[0], rc[0], rc[1]))
        values = [const - b0 * (Y[0] + r1 * Y[1] + r2 * Y[2]) for b0, r1, r2 in corners]
        if inside:
            best = lowest([v + t for v, t in zip(values, traces)])
        else:
            best = lowest(values) + t_low
        rho = max(float(((leaf[2 + j] - ball(Fraction(c[1]))) ** 2 + (leaf[4 + m] - ball(
            Fraction(c[2]))) ** 2).sqrt().upper()) for j in (0, 1) for m in (0, 1)) * (1 + 2**-50)
        if h0 > 0 and hypot(c[1], c[2]) < (1 + rho) * (1 - 1e-9):  # B_hi > 0
            const_m, Ym = dual((h0 * (1 + rho), c[1] / (1 + rho), c[2] / (1 + rho)))
            mono = const_m - leaf[1] * ((1 + ball(Fraction(rho))) * Ym[0] + ball(Fraction(c[1]))
                                        * Ym[1] + ball(Fraction(c[2])) * Ym[2]) + t_low
            best = best if ends(best, "bound")[0] >= ends(mono, "bound")[0] else mono
        bounds.append(best)
    return lowest(bounds)


def _tiles(box: tuple, leaves: list[tuple]) -> bool:
    """True if the leaves are exactly the pieces of ``box`` under repeated bisection (so they
    cover it): axis 0 (the scale b0) at sqrt(lo hi), or hi/8 when lo = 0; the others at
    the float midpoint 0.5 (lo + hi)."""
    from math import sqrt

    stack = [(box, leaves)]
    while stack:
        box, group = stack.pop()
        if len(group) == 1 and group[0] == box:
            continue
        for i, (lo, hi) in enumerate(box):
            mid = 0.5 * (lo + hi) if i else (sqrt(lo * hi) if lo > 0 else hi / 8)
            left = [g for g in group if g[i][1] <= mid]
            right = [g for g in group if g[i][0] >= mid]
            if left and right and len(left) + len(right) == len(group):
                stack.append((box[:i] + ((lo, mid),) + box[i + 1:], left))
                stack.append((box[:i] + ((mid, hi),) + box[i + 1:], right))
                break
        else:
            return False
    return True


def lower_margin_lemma(data: dict, p: dict) -> flint.arb:
    """Max-min one-vs-rest margin rho of K unit codewords in R^d; f = -rho >= -bound with
    ``gram``: rho <= K/(K-1) (y I - C PSD for y = 1/(2(K-1)), C = [[0, B/2], [B/2, 0]],
    B = (K I - 11^T)/(K(K-1)), checked exactly); ``radon-convexity``: rho <= 1 for
    K >= d + 2; ``polygon``: rho <= 2 sin^2(pi/K) for d = 2, K >= 4 (docs/certificates.md)."""
    K, d, lemma = p["K"], p["d"], data.get("lemma")
    if lemma == "gram":
        y = Fraction(1, 2 * (K - 1))
        C = [[Fraction(0) if (i < K) == (j < K) else
              Fraction((K if i % K == j % K else 0) - 1, 2 * K * (K - 1))
              for j in range(2 * K)] for i in range(2 * K)]
        _require(is_psd([[(y if i == j else 0) - C[i][j] for j in range(2 * K)]
                         for i in range(2 * K)]), "lower bound: the Gram dual is not PSD")
        return -ball(Fraction(K, K - 1))
    if lemma == "radon-convexity":
        _require(K >= d + 2, "lower bound: the Radon-convexity lemma needs K >= d + 2")
        return flint.arb(-1)
    _require(lemma == "polygon", f"lower bound: unknown margin lemma {lemma!r}")
    _require(d == 2 and K >= 4, "lower bound: the polygon lemma needs d = 2 and K >= 4")
    s = (flint.arb.pi() / K).sin()
    return -2 * s * s


def lower_relu2_dual(data: dict, p: dict) -> flint.arb:
    """Weak duality for 1/2 |sum_j max(X u_j, 0) a_j - y|^2 + beta/2 sum_j (|u_j|^2 +
    a_j^2) (any width): p >= lam^T y - |lam|^2/2 when |lam^T max(X u, 0)| <= beta for all
    |u| <= 1.  rank-one (X u = (b^T u) a, |b| = 5): 5 max(|lam^T a_+|, |lam^T a_-|) <=
    beta; whitened (X orthogonal): max(|lam_+|, |lam_-|) <= beta; exact rationals."""
    X, y, beta = p["X"], p["y"], p["beta"]
    lam = [rational(x, "lower.lam") for x in data.get("lam") or []]
    _require(len(lam) == len(y), "lower bound: lam must have one entry per data point")
    if p["data"] == "rank-one":
        a = [row[0] / 3 for row in X]
        worst = max(25 * sum(li * max(s * ai, 0) for li, ai in zip(lam, a)) ** 2
                    for s in (1, -1))
    else:
        worst = max(sum(max(s * li, 0) ** 2 for li in lam) for s in (1, -1))
    _require(worst <= beta * beta, "lower bound: dual point infeasible, "
             "max |lam^T max(X u, 0)| > beta")
    return ball(sum(li * yi for li, yi in zip(lam, y)) - sum(li * li for li in lam) / 2)


def lower_focal_minorant(data: dict, p: dict) -> flint.arb:
    """Focal UFM, balanced n (lemma L12): FL = h(u), u = LSE_{j != y}(z_j - z_y).  With
    r = 1 - p_y, L(r) = -log(1 - r)/r, h' = D(r) = r^(g+1) (1 + g (1 - r) L(r)) and
    E(r) = 2g + 1 + g L(r) (g - (g + 1) r): if E >= 0 and D <= 1 at a_lo, h continued by
    its tangent there is a convex minorant, so f >= min_{a >= 0} of the convex psi_g, equal
    to psi(a) = h(log(K-1) - a) + t (K-1) a (t = sqrt(n lam_W lam_H)) for a >= a_lo.  With
    psi'(a_lo) <= 0 (unless a_lo = 0) and psi'(a_hi) >= 0 its minimum is in [a_lo, a_hi]:
    L = psi(m) - |psi'(m)| (a_hi - a_lo), m the midpoint."""
    K, g = p["K"], ball(p["gamma"])
    _require(len(set(p["counts"])) == 1, "lower bound: the focal bound needs balanced n")
    a_lo, a_hi = (rational(data.get(k), "lower." + k) for k in ("a_lo", "a_hi"))
    _require(0 <= a_lo <= a_hi, "lower bound: need 0 <= a_lo <= a_hi")
    t = ball(p["counts"][0] * p["lam_W"] * p["lam_H"]).sqrt() * (K - 1)

    def terms(a: Fraction) -> tuple[flint.arb, flint.arb, flint.arb]:
        S = (K - 1) * (-ball(a)).exp()
        r = S / (1 + S)
        L = -(1 - r).log() / r
        return r, r ** (g + 1) * (1 + g * (1 - r) * L), 2 * g + 1 + g * L * (g - (g + 1) * r)

    _, D, E = terms(a_lo)
    _require(E >= 0 and D <= 1, "lower bound: the focal minorant's hypotheses fail at a_lo")
    _require(a_lo == 0 or D >= t, "lower bound: psi'(a_lo) > 0, the bracket is wrong")
    _require(terms(a_hi)[1] <= t, "lower bound: psi'(a_hi) < 0, the bracket is wrong")
    r, D, _ = terms((a_lo + a_hi) / 2)
    return -(r ** g) * (1 - r).log() + t * ball((a_lo + a_hi) / 2) - abs(t - D) * ball(
        a_hi - a_lo)


def lower_pal_symmetric(data: dict, p: dict) -> flint.arb:
    """Multi-label PAL: p_S = pi_s on S, q_s off S (s pi_s + (K - s) q_s = 1), so Y 1 = 0
    and |Y D^-1|_2^2 = (K/N)^2 sum_s n_s C(K-2, s-1) q_s^2 <= lam_W lam_H (exact).
    Value: sum_s (n_s C(K, s) s / N) Ent(p_S), N = sum_s n_s C(K, s)."""
    K, m = p["K"], p["m"]
    q = data.get("q")
    _require(isinstance(q, list) and len(q) == m, "lower bound: one q per label-set size")
    q = [rational(x, "lower.q") for x in q]
    sizes, n = range(1, m + 1), p["counts"]
    N = sum(n_s * comb(K, s) for s, n_s in zip(sizes, n))
    _require(all(0 <= q_s and (K - s) * q_s <= 1 for s, q_s in zip(sizes, q)),
             "lower bound: q_s must lie in [0, 1/(K - s)]")
    norm_sq = Fraction(K * K, N * N) * sum(n_s * comb(K - 2, s - 1) * q_s * q_s
                                            for s, n_s, q_s in zip(sizes, n, q))
    _require(norm_sq <= p["lam_W"] * p["lam_H"],
             "lower bound: dual point infeasible, |Y D^-1|_2^2 > lam_W lam_H")
    value = flint.arb(0)
    for s, n_s, q_s in zip(sizes, n, q):
        pi = (1 - (K - s) * q_s) / s
        value += ball(Fraction(n_s * comb(K, s) * s, N)) * (s * entropy([pi])
                                                            + (K - s) * entropy([q_s]))
    return value


LOWER = {"pal-symmetric-dual": lower_pal_symmetric, "ce-symmetric-dual": lower_ce_symmetric,
         "ce-dense-dual": lower_ce_dense, "mse-dual": lower_mse,
         "gram-symmetric-dual": lower_gram_symmetric, "deep-scalar-roots": lower_deep_scalar,
         "schatten-cover": lower_schatten_cover, "schatten-dual": lower_schatten_dual,
         "margin-lemma": lower_margin_lemma,
         "relu2-dual": lower_relu2_dual, "focal-minorant": lower_focal_minorant}
LOWER_KINDS = tuple(LOWER)


# --------------------------------------------------------------------------- upper bounds


def logsumexp(values: list[tuple[flint.arb, int]]) -> flint.arb:
    """log sum_j m_j exp(z_j) for (z_j, m_j) pairs, shifted by a midpoint maximum."""
    shift = flint.arb(max(float(z.mid()) for z, _ in values))
    return sum(((z - shift).exp() * m for z, m in values), flint.arb(0)).log() + shift


def loss(name: str, z_label: flint.arb, others: list[tuple[flint.arb, int]],
         p: dict) -> flint.arb:
    """The loss at a logit vector given as its label entry and the other entries with
    multiplicities:  ce: lse(z) - z_label;  ls: lse(z) - y^T z with the smoothed target
    y = (1 - alpha) e_label + alpha/K 1;  mse: |z - e_label|^2 / 2;  focal:
    -(1 - p)^gamma log p, log p = z_label - lse(z)."""
    if name == "mse":
        total = (z_label - 1) * (z_label - 1)  # not **2: arb's power of a ball with 0 is nan
        for z, m in others:
            total += z * z * m
        return total / 2
    lse = logsumexp([(z_label, 1)] + others)
    if name == "focal":  # -(1 - p_y)^gamma log p_y
        return -(1 - (z_label - lse).exp()) ** ball(p["gamma"]) * (z_label - lse)
    a = ball(p["smoothing"])
    total_z = z_label + sum((z * m for z, m in others), flint.arb(0))
    return lse - (1 - a) * z_label - a / p["K"] * total_z


def data_term(name: str, columns: list[list[flint.arb]], p: dict) -> flint.arb:
    """(1/N) sum_k n_k loss(z_k, k) for the class-mean logit columns z_k."""
    total = flint.arb(0)
    for k, (z, n) in enumerate(zip(columns, p["counts"])):
        total += loss(name, z[k], [(x, 1) for j, x in enumerate(z) if j != k], p) * n
    return total / sum(p["counts"])


def bias_of(point: dict, p: dict) -> list[flint.arb] | None:
    b = point.get("bias" if point.get("kind") == "frame" else "b")
    _require((b is not None) == p["bias"], "point: a bias is given iff params say bias=true")
    return b


def upper_frame(point: dict, p: dict, loss_name: str) -> flint.arb:
    """W = alpha P, h_k = beta P^T e_k, b = c 1 for P = [I - 11^T/K, 0] (centred basis),
    [I, 0] (standard basis) or 0: P P^T has diagonal g and off-diagonal o, so column k of
    the logits is alpha beta (g on the label, o elsewhere) + c, the same multiset for every
    k; |W|^2 = alpha^2 K g, sum_k n_k |h_k|^2 = beta^2 N g, |b|^2 = K c^2."""
    K, d = p["K"], p["d"]
    frame = point.get("frame")
    gram = {"centred-basis": (1 - Fraction(1, K), -Fraction(1, K)),
            "standard-basis": (Fraction(1), Fraction(0)), "zero": (Fraction(0), Fraction(0))}
    _require(frame in gram, f"point: unknown frame {frame!r}")
    _require(frame == "zero" or d >= K, f"point: the {frame} frame needs d >= K")
    g, o = gram[frame]
    alpha, beta = binary_float(point.get("alpha"), "alpha"), binary_float(point.get("beta"), "beta")
    b = bias_of(point, p)
    c = binary_float(b, "bias") if b is not None else flint.arb(0)
    ab = alpha * beta
    on, off = ab * ball(g) + c, ab * ball(o) + c
    value = loss(loss_name, on, [(off, K - 1)], p)  # the same for every class
    value += ball(p["lam_W"]) * alpha * alpha * ball(K * g) / 2
    value += ball(p["lam_H"]) * beta * beta * ball(sum(p["counts"]) * g) / 2
    return value + ball(p["lam_b"]) * c * c * K / 2


def upper_dense(point: dict, p: dict, loss_name: str) -> flint.arb:
    """W (K x d) -- or, deep, W_1..W_L (d x d, W_L K x d) -- class means H (d x K), b (K):
    f = data term of Z = W_L s(... s(W_1 H)) + b 1^T + sum_l lam_l/2 |W_l|^2
    + lam_H/2 sum_k n_k |h_k|^2 + lam_b/2 |b|^2, s = max(., 0) for ReLU models, else s = id
    (lam_l = lam_W, or (lam_W1, lam_W) for the extended model)."""
    K, d, L = p["K"], p["d"], p["L"]
    layers = point.get("W") if point["kind"] == "deep-dense" else [point.get("W")]
    _require(isinstance(layers, list) and len(layers) == L,
             f"point: expected {L} weight matrices for these params")
    Ws = [flint.arb_mat(matrix(W, K if i == L - 1 else d, d, f"point.W{i + 1}", binary_float))
          for i, W in enumerate(layers)]
    H = flint.arb_mat(matrix(point.get("H"), d, K, "point.H", binary_float))
    b = bias_of(point, p)
    bias = matrix([b], 1, K, "point.b", binary_float)[0] if b is not None else [0] * K
    Z = H
    for i, W in enumerate(Ws):
        Z = W * Z
        if p["relu"] and i < L - 1:
            Z = flint.arb_mat([[relu(Z[r, c]) for c in range(K)] for r in range(d)])
    columns = [[Z[j, k] + bias[j] for j in range(K)] for k in range(K)]
    value = data_term(loss_name, columns, p)
    for lam, W in zip(p.get("lams", [p["lam_W"]]), Ws):
        value += ball(lam) * sum_squares(W.entries()) / 2
    value += ball(p["lam_H"]) * sum((sq(H[i, k]) * p["counts"][k] for i in range(d)
                                     for k in range(K)), flint.arb(0)) / 2
    return value + ball(p["lam_b"]) * sum_squares(bias) / 2


def sq(x: flint.arb) -> flint.arb:
    return x * x  # not x**2: arb's power of a ball containing 0 is nan


def sum_squares(xs: Any) -> flint.arb:
    return sum((sq(flint.arb(x)) for x in xs), flint.arb(0))


def relu(x: flint.arb) -> flint.arb:
    """max(x, 0) of a ball (exact at the ends)."""
    return x if x >= 0 else flint.arb(0) if x <= 0 else x.max(flint.arb(0))


def unit_vectors(rows: list[list[flint.arb]]) -> list[list[flint.arb]]:
    """Each row divided by its norm: the exact normalized vectors, enclosed."""
    return [[x / sum_squares(v).sqrt() for x in v] for v in rows]


def unit_point(point: dict, p: dict) -> tuple[list, list]:
    """Rows w_k of W (K x d) and columns h_k of H (d x K) divided by their norms (the
    exact normalized point, enclosed)."""
    K, d = p["K"], p["d"]
    W = matrix(point.get("W"), K, d, "point.W", binary_float)
    H = matrix(point.get("H"), d, K, "point.H", binary_float)
    unit = unit_vectors(W + [[H[i][k] for i in range(d)] for k in range(K)])
    return unit[:K], unit[K:]


def dot(u: list, v: list) -> flint.arb:
    return sum((a * b for a, b in zip(u, v)), flint.arb(0))


def upper_sphere(point: dict, p: dict, loss_name: str) -> flint.arb:
    """Logits tau w_j^T h_k at the unit point; no regularizer."""
    Wn, Hn = unit_point(point, p)
    return data_term(loss_name, [[ball(p["tau"]) * dot(w, h) for w in Wn] for h in Hn], p)


def upper_multilabel(point: dict, p: dict, loss_name: str) -> flint.arb:
    """Columns of H are the label sets of sizes 1..m, lexicographic within a size; the set
    S has n_|S| samples and the loss PAL(z, S) = |S| lse(z) - sum_{k in S} z_k."""
    K, d = p["K"], p["d"]
    sets = [S for s in range(1, p["m"] + 1) for S in combinations(range(K), s)]
    counts = [p["counts"][len(S) - 1] for S in sets]
    W = flint.arb_mat(matrix(point.get("W"), K, d, "point.W", binary_float))
    H = flint.arb_mat(matrix(point.get("H"), d, len(sets), "point.H", binary_float))
    b = bias_of(point, p)
    bias = matrix([b], 1, K, "point.b", binary_float)[0] if b is not None else [0] * K
    Z = W * H
    value = flint.arb(0)
    for j, (S, c) in enumerate(zip(sets, counts)):
        z = [Z[i, j] + bias[i] for i in range(K)]
        value += (len(S) * logsumexp([(x, 1) for x in z])
                  - sum((z[k] for k in S), flint.arb(0))) * c
    value /= sum(counts)
    value += ball(p["lam_W"]) * sum_squares(W.entries()) / 2
    value += ball(p["lam_H"]) * sum((sq(H[i, j]) * c for i in range(d)
                                     for j, c in enumerate(counts)), flint.arb(0)) / 2
    return value + ball(p["lam_b"]) * sum_squares(bias) / 2


def upper_code(point: dict, p: dict, loss_name: Any) -> flint.arb:
    """f = -rho <= -min_k min_{j != k} (w_k - w_j)^T h_k at the exact normalizations of the
    rows w_k of W (K x d) and the columns h_k of H (d x K)."""
    W, H = unit_point(point, p)
    return -lowest([dot(W[k], H[k]) - dot(W[j], H[k]) for k in range(p["K"])
                    for j in range(p["K"]) if j != k])


def upper_network(point: dict, p: dict, loss_name: str) -> flint.arb:
    """1/2 |max(X U, 0) a - y|^2 + beta/2 (|U|^2 + |a|^2) for U (q x m), a (m), m <= width."""
    U, a = point.get("U"), point.get("a")
    m = len(a) if isinstance(a, list) else -1
    _require(1 <= m <= p["width"], "point: the network needs 1..width hidden units")
    U = matrix(U, len(p["X"][0]), m, "point.U", binary_float)
    a = matrix([a], 1, m, "point.a", binary_float)[0]
    value = flint.arb(0)
    for x, y in zip(p["X"], p["y"]):
        hidden = [relu(dot(map(ball, x), [row[j] for row in U])) for j in range(m)]
        value += sq(dot(hidden, a) - ball(y)) / 2
    return value + ball(p["beta"]) * (sum_squares(sum(U, [])) + sum_squares(a)) / 2


UPPER = {("multilabel", "dense"): upper_multilabel, ("plain", "frame"): upper_frame,
         ("plain", "dense"): upper_dense,
         ("deep-linear", "deep-dense"): upper_dense, ("sphere", "dense"): upper_sphere,
         ("deep-relu", "deep-dense"): upper_dense, ("eufm", "deep-dense"): upper_dense,
         ("margin", "dense"): upper_code, ("relu2", "network"): upper_network}


# --------------------------------------------------------------------------- claimed value


def evaluate_expression(text: str) -> flint.arb:
    """Enclosure of a SymPy-printed closed form: integers, + - * / **, log, exp, sqrt,
    cos, sin, pi, E (parsed with :mod:`ast`, never evaluated as Python)."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise CheckFailure("claimed value: the expression does not parse") from None
    value = _eval(tree.body)
    return value if isinstance(value, flint.arb) else ball(value)


def _eval(node: ast.AST) -> Fraction | flint.arb:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return Fraction(node.value)
    if isinstance(node, ast.Name) and node.id in ("pi", "E", "x"):
        if node.id == "x":  # the variable of a CRootOf polynomial
            return flint.fmpq_poly([0, 1])
        return flint.arb.pi() if node.id == "pi" else flint.arb(1).exp()
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id == "CRootOf" and len(node.args) == 2:
        return _real_root(_eval(node.args[0]), _eval(node.args[1]))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        x = _eval(node.operand)
        return -x if isinstance(node.op, ast.USub) else x
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) == 1 \
            and node.func.id in ("log", "exp", "sqrt", "cos", "sin") and not node.keywords:
        x = _eval(node.args[0])
        x = x if isinstance(x, flint.arb) else ball(x)
        return getattr(x, node.func.id)()
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            return _power(a, b)
        ops = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
               ast.Div: lambda: a / b}
        if isinstance(a, flint.fmpq_poly) or isinstance(b, flint.fmpq_poly):
            a, b = (flint.fmpq(x.numerator, x.denominator) if isinstance(x, Fraction) else x
                    for x in (a, b))
            _require(type(node.op) in (ast.Add, ast.Sub, ast.Mult),
                     "claimed value: unsupported polynomial expression")
            return ops[type(node.op)]()
        if type(node.op) in ops:
            if isinstance(a, Fraction) and isinstance(b, Fraction):
                _require(not (isinstance(node.op, ast.Div) and b == 0),
                         "claimed value: division by zero")
                return ops[type(node.op)]()
            a, b = (x if isinstance(x, flint.arb) else ball(x) for x in (a, b))
            return ops[type(node.op)]()
    raise CheckFailure(f"claimed value: unsupported expression {ast.dump(node)[:60]}")


def _real_root(poly: Any, index: Any) -> flint.arb:
    """SymPy's CRootOf(poly, i) for a real root: the i-th real root in increasing order
    (FLINT isolates every complex root; real ones have imaginary part exactly 0)."""
    _require(isinstance(poly, flint.fmpq_poly) and isinstance(index, Fraction)
             and index.denominator == 1, "claimed value: malformed CRootOf")
    real = sorted((z.real for z, _ in poly.numer().complex_roots() if z.imag == 0),
                  key=lambda r: float(r.mid()))
    _require(0 <= index < len(real), "claimed value: CRootOf index is not a real root")
    return real[int(index)]


def _power(a: Any, b: Any) -> Any:
    if isinstance(b, Fraction) and b.denominator == 1 and abs(b) <= 64:
        e = int(b)
        if isinstance(a, flint.fmpq_poly) and e >= 0:
            return a**e
        if isinstance(a, Fraction):
            _require(a != 0 or e >= 0, "claimed value: division by zero")
            return a**e
        result = power(a, abs(e))
        return result if e >= 0 else 1 / result
    a, b = (x if isinstance(x, flint.arb) else ball(x) for x in (a, b))
    return a**b


# --------------------------------------------------------------------------- the check


def load(path: str) -> dict[str, Any]:
    """Read and sanity-check a proof file (InputError on unusable input)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{path} is not an ncproofs proof file (format != {FORMAT!r})")
    version = data.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise InputError(f"{path}: malformed format_version {version!r}")
    if version > FORMAT_VERSION:
        raise InputError(f"{path} has format version {version}, newer than this checker's "
                         f"{FORMAT_VERSION}: upgrade ncproofs")
    theorem = data.get("theorem")
    if theorem not in THEOREMS:
        raise InputError(f"unknown certificate kind: theorem {theorem!r} (this checker "
                         f"knows {', '.join(sorted(THEOREMS))})")
    for key, kind in (("params", dict), ("lower", dict), ("point", dict),
                      ("assumptions", list), ("status", str)):
        if not isinstance(data.get(key), kind):
            raise InputError(f"malformed proof file: {key!r} missing or not a {kind.__name__}")
    if not isinstance(data.get("claimed"), (dict, type(None))):
        raise InputError("malformed proof file: 'claimed' must be an object or null")
    if data["lower"].get("kind") not in THEOREMS[theorem]["lower"]:
        raise InputError(f"unknown certificate kind: lower bound {data['lower'].get('kind')!r} "
                         f"for {theorem}")
    if (THEOREMS[theorem]["model"], data["point"].get("kind")) not in UPPER:
        raise InputError(f"unknown certificate kind: point {data['point'].get('kind')!r} "
                         f"for {theorem}")
    return data


def check(data: dict[str, Any]) -> dict[str, Any]:
    """Re-verify every inequality of a loaded proof file.  Returns a summary; raises
    :class:`CheckFailure` naming the first failure."""
    old_prec = flint.ctx.prec
    flint.ctx.prec = PRECISION_BITS
    try:
        return _check(data)
    finally:
        flint.ctx.prec = old_prec


def _check(data: dict[str, Any]) -> dict[str, Any]:
    theorem, info = data["theorem"], THEOREMS[data["theorem"]]
    p = parse_params(theorem, data["params"])
    kinds = [a.get("kind") if isinstance(a, dict) else None for a in data["assumptions"]]
    _require(all(k in ("lemma", "reduction") for k in kinds),
             "assumptions: each must have kind 'lemma' or 'reduction'")
    status = data["status"]
    if status == "certified":
        _require("reduction" not in kinds, "status: certified, but an assumption is a reduction")
    elif status == "conditional":
        _require("reduction" in kinds, "status: conditional, but no assumption is a reduction")
    else:
        raise CheckFailure(f"status: only certified/conditional files can be checked, "
                           f"got {status!r}")
    p["status"] = status
    lower = LOWER[data["lower"]["kind"]](data["lower"], p)
    upper = UPPER[info["model"], data["point"]["kind"]](data["point"], p, info["loss"])
    lo, _ = ends(lower, "lower bound")
    _, hi = ends(upper, "upper bound (the point's objective)")
    magnitudes = [abs(lo), abs(hi)]
    claimed = data.get("claimed")
    if claimed is not None:
        value = evaluate_expression(str(claimed.get("expression")))
        c_lo, c_hi = ends(value, "claimed value")
        enclosure = claimed.get("enclosure")
        _require(isinstance(enclosure, list) and len(enclosure) == 2,
                 "claimed value: the enclosure must be [lo, hi]")
        e_lo, e_hi = (rational(x, "claimed.enclosure") for x in enclosure)
        _require(e_lo <= c_lo and c_hi <= e_hi,
                 "claimed value: the expression's value is outside the stated enclosure")
        magnitudes += [abs(c_lo), abs(c_hi)]
    tol = REL_TOL * max(magnitudes)
    _require(lo <= hi, f"bounds: lower bound {float(lo)!r} exceeds the point's value "
                       f"{float(hi)!r}")
    _require(hi - lo <= tol, f"gap: upper - lower = {float(hi - lo):.3e} exceeds the relative "
                             f"tolerance {float(tol):.3e}")
    if claimed is not None:
        _require(lo - tol <= c_lo and c_hi <= hi + tol,
                 f"claimed value: [{float(c_lo)!r}, {float(c_hi)!r}] is not within the bounds "
                 f"[{float(lo)!r}, {float(hi)!r}]")
    return {"theorem": theorem, "status": status, "lower": lo, "upper": hi,
            "gap": hi - lo, "tolerance": tol,
            "reductions": [a.get("text") for a in data["assumptions"]
                           if a.get("kind") == "reduction"]}
