r"""Deep unconstrained-features models in torch: objective, solver, per-layer metrics.

The model (docs/conventions.md, ``L`` counts weight matrices, ``L = 1`` is the plain UFM)::

    logits  z_j = W_L s(W_{L-1} s( ... s(W_1 h_j))) + b

    f = (1/N) sum_j c_j loss(z_j, y_j) + sum_l lam_l/2 |W_l|_F^2
        + lam_H/2 sum_j c_j |h_j|^2 + lam_b/2 |b|^2

with an activation ``s`` in {"linear", "relu"} applied after W_1, ..., W_{L-1} (never after
W_L and never to H).  W_L is K x d, W_1..W_{L-1} are d x d, H is d x m.  The m feature
columns h_j carry multiplicities c_j (N = sum c_j): the full problem has one column per
sample (c_j = 1, m = N); a *class-mean* problem has one column per class (c_k = n_k).

Everything is batched over S starts: ``W<l>`` has shape (S, d_out, d_in), ``H`` (S, d, m),
``b`` (S, K, 1); :class:`DeepUFMObjective` returns the (S,) values.

Three ways to treat the features (``features=``):

* ``"full"``: H has N columns -- always valid;
* ``"class-means"``: H has K columns with multiplicities n_k.  Exact (not a relaxation)
  when the network is linear and the loss convex in the logits: for fixed weights,
  averaging the features of a class never increases f (Jensen), so some minimizer has
  collapsed features.  Refused for ReLU;
* ``"eliminate"``: variable projection for linear MSE.  For fixed weights,
  A = W_L ... W_1, the optimal features are the ridge solution
  h_k = A^T R (e_k - b), R = (A A^T + N lam_H I)^{-1}, and the partially minimized
  objective is  F(W) = lam_H/2 sum_k n_k (e_k - b)^T R (e_k - b) + lam_b/2 |b|^2
  + sum_l lam_l/2 |W_l|^2,  with the optimal bias (lam_H N R + lam_b I) b = lam_H R n
  (n the vector of counts); L-BFGS then runs on the weights only.  The returned point
  includes the optimal H (and b), so it is a point of the original problem.

:func:`solve_deep` is the entry point; :func:`layer_metrics` reports, per layer, NC1 of the
layer's input features, NC2 of its class means, the balancedness of consecutive layers
(|lam_{l+1} W_{l+1}^T W_{l+1} - lam_l W_l W_l^T|_F / |lam_l W_l W_l^T|_F, 0 at any
critical point of a linear model) and the singular values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._lazy import torch
from ..losses import Loss, get_loss
from ..spec import SpecError
from .lbfgs import MultiStartResult, minimize_multistart, resolve_device

ACTIVATIONS = ("linear", "relu")
FEATURE_MODES = ("auto", "full", "class-means", "eliminate")


def _activation(name: str):
    if name == "linear":
        return lambda x: x
    if name == "relu":
        return torch.relu
    raise SpecError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {name!r}")


def weight_names(L: int) -> list[str]:
    """["W1", ..., "WL"]."""
    return [f"W{l}" for l in range(1, L + 1)]


@dataclass(frozen=True)
class DeepUFMObjective:
    r"""f(W_1..W_L, H, b) of the module docstring, batched over starts.

    Parameters: ``loss`` (a :class:`~ncproofs.losses.Loss`), ``labels`` (m,) and ``counts``
    (m,) of the feature columns, ``lams`` (one weight decay per layer, W_1 first),
    ``lam_H``, ``lam_b``, ``bias`` and ``activation``.  Call with a dict of batched tensors
    ``{"W1": ..., "WL": ..., "H": ..., "b": ...}``.
    """

    loss: Loss
    labels: torch.Tensor
    counts: torch.Tensor
    lams: tuple[float, ...]
    lam_H: float
    lam_b: float = 0.0
    bias: bool = False
    activation: str = "linear"

    def __post_init__(self) -> None:
        _activation(self.activation)
        if len(self.lams) < 1:
            raise SpecError("L must be >= 1 (at least one weight matrix), got 0 layers")

    @property
    def L(self) -> int:
        return len(self.lams)

    @property
    def N(self) -> float:
        return float(self.counts.sum())

    def features(self, p: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """[H, s(W_1 H), s(W_2 s(W_1 H)), ..., logits]: the input of each layer, then the
        logits (with bias).  Shapes (S, width, m)."""
        act = _activation(self.activation)
        out = [p["H"]]
        X = p["H"]
        for l in range(1, self.L + 1):
            X = p[f"W{l}"] @ X
            if l < self.L:
                X = act(X)
            out.append(X)
        if "b" in p:
            out[-1] = out[-1] + p["b"]
        return out

    def logits(self, p: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.features(p)[-1]

    def regularizer(self, p: dict[str, torch.Tensor], with_H: bool = True) -> torch.Tensor:
        reg = sum(lam / 2 * p[f"W{l}"].pow(2).sum(dim=(-2, -1))
                  for l, lam in enumerate(self.lams, start=1))
        if with_H:
            c = self.counts.to(p["H"].dtype)
            reg = reg + self.lam_H / 2 * (p["H"].pow(2).sum(dim=-2) * c).sum(dim=-1)
        if "b" in p and self.lam_b != 0:
            reg = reg + self.lam_b / 2 * p["b"].pow(2).sum(dim=(-2, -1))
        return reg

    def __call__(self, p: dict[str, torch.Tensor]) -> torch.Tensor:
        Z = self.logits(p)
        c = self.counts.to(Z.dtype)
        data = (self.loss.torch(Z, self.labels) * c).sum(dim=-1) / self.N
        return data + self.regularizer(p)


@dataclass(frozen=True)
class EliminatedMSEObjective:
    r"""Variable projection for linear MSE: F(W) = min_{H, b} f(W, H, b) in closed form.

    ``base`` must be a class-mean :class:`DeepUFMObjective` (labels 0..K-1 in order) with
    the MSE loss and linear activation.  :meth:`__call__` takes only the weights (and
    returns (S,) values of F); :meth:`complete` adds the optimal H and b."""

    base: DeepUFMObjective

    def __post_init__(self) -> None:
        b = self.base
        if b.activation != "linear" or b.loss.name != "mse":
            raise SpecError("features='eliminate' needs the MSE loss and a linear network")

    def _solve(self, p: dict[str, torch.Tensor]):
        base = self.base
        A = p["W1"]
        for l in range(2, base.L + 1):
            A = p[f"W{l}"] @ A
        S, K = A.shape[0], A.shape[1]
        eye = torch.eye(K, dtype=A.dtype, device=A.device).expand(S, K, K)
        n = base.counts.to(A.dtype)
        Rinv = A @ A.transpose(-1, -2) + base.N * base.lam_H * eye
        if base.bias:
            # (lam_H N R + lam_b I) b = lam_H R n   <=>   (lam_H N I + lam_b Rinv) b = lam_H n
            rhs = (base.lam_H * n).expand(S, K).unsqueeze(-1)
            b = torch.linalg.solve(base.lam_H * base.N * eye + base.lam_b * Rinv, rhs)
        else:
            b = torch.zeros(S, K, 1, dtype=A.dtype, device=A.device)
        E = eye - b  # columns e_k - b
        RE = torch.linalg.solve(Rinv, E)
        return A, b, E, RE

    def __call__(self, p: dict[str, torch.Tensor]) -> torch.Tensor:
        base = self.base
        _, b, E, RE = self._solve(p)
        n = base.counts.to(E.dtype)
        value = base.lam_H / 2 * ((E * RE).sum(dim=-2) * n).sum(dim=-1)
        if base.bias and base.lam_b != 0:
            value = value + base.lam_b / 2 * b.pow(2).sum(dim=(-2, -1))
        return value + base.regularizer(p, with_H=False)

    def complete(self, p: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The weights with the optimal class-mean features H = A^T R (E) and bias."""
        with torch.no_grad():
            A, b, _, RE = self._solve(p)
            out = {k: v for k, v in p.items() if k.startswith("W")}
            out["H"] = A.transpose(-1, -2) @ RE
            if self.base.bias:
                out["b"] = b
        return out


def random_init(
    shapes: dict[str, tuple[int, ...]], starts: int, seed: int, device: torch.device,
    scale: float | None = None,
) -> dict[str, torch.Tensor]:
    """Gaussian start for every parameter.  ``scale=None``: entries N(0, 1/fan_in) for
    weights and N(0, 1/d) for H (bias N(0, 0.01)); a number: N(0, scale^2) everywhere
    (Dang et al. use 0.1)."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    out = {}
    for name, shape in shapes.items():
        x = torch.randn(starts, *shape, generator=gen, dtype=torch.float64)
        if scale is not None:
            x = x * scale
        elif name == "b":
            x = x * 0.1
        elif name == "H":
            x = x / math.sqrt(shape[0])
        else:
            x = x / math.sqrt(shape[1])
        out[name] = x.to(device)
    return out


@dataclass
class DeepSolveResult:
    """The multi-start result on the objective that was optimized, plus the best point
    completed to a point of the *original* problem (features per column of ``objective``)."""

    result: MultiStartResult
    objective: DeepUFMObjective
    points: dict[str, torch.Tensor]  # every start, completed (H, b included)
    values: torch.Tensor  # (S,) original objective at ``points``
    features: str

    @property
    def best(self) -> int:
        return int(torch.argmin(self.values))

    def best_point(self) -> dict[str, np.ndarray]:
        i = self.best
        return {k: v[i].detach().cpu().numpy() for k, v in self.points.items()}

    def summary(self) -> dict[str, Any]:
        return {**self.result.summary(values=self.values), "features": self.features}


def deep_objective(
    loss: Loss | str,
    counts: Sequence[int],
    lams: Sequence[float],
    lam_H: float,
    *,
    lam_b: float = 0.0,
    bias: bool = False,
    activation: str = "linear",
    class_means: bool = False,
    device: torch.device | str = "cpu",
) -> DeepUFMObjective:
    """Build the objective for per-class ``counts`` (labels 0..K-1, in order).

    ``class_means=True``: one feature column per class (multiplicity n_k); otherwise one
    column per sample."""
    loss = get_loss(loss) if isinstance(loss, str) else loss
    dev = torch.device(device)
    K = len(counts)
    if class_means:
        labels = torch.arange(K, device=dev)
        cnt = torch.tensor([float(c) for c in counts], dtype=torch.float64, device=dev)
    else:
        labels = torch.repeat_interleave(torch.arange(K, device=dev),
                                         torch.tensor(list(counts), device=dev))
        cnt = torch.ones(len(labels), dtype=torch.float64, device=dev)
    return DeepUFMObjective(loss=loss, labels=labels, counts=cnt,
                            lams=tuple(float(x) for x in lams), lam_H=float(lam_H),
                            lam_b=float(lam_b), bias=bool(bias), activation=activation)


def solve_deep(
    loss: Loss | str,
    counts: Sequence[int],
    d: int,
    lams: Sequence[float],
    lam_H: float,
    *,
    lam_b: float = 0.0,
    bias: bool = False,
    activation: str = "linear",
    features: str = "auto",
    starts: int = 8,
    seed: int = 0,
    device: str = "auto",
    init_scale: float | None = None,
    init: dict[str, torch.Tensor] | None = None,
    tol: float = 1e-10,
    max_iter: int = 5000,
    stop_when: Callable[[torch.Tensor], bool] | None = None,
) -> DeepSolveResult:
    """Minimize the deep UFM objective from ``starts`` random starts (batched L-BFGS with a
    Newton-CG polish, :func:`~ncproofs.solve.lbfgs.minimize_multistart`).

    ``lams`` has one weight decay per layer (``len(lams) = L``).  ``features``: "auto"
    picks "eliminate" for linear MSE, "class-means" for a linear network with a convex
    loss, "full" otherwise (see the module docstring).  ``init`` overrides the random
    start (a dict of batched tensors; with "eliminate" only the weights are used and with
    "class-means" H must have K columns).  ``stop_when(values)`` is passed to the L-BFGS loop
    (called every chunk with the (S,) values of the optimized objective, which equal the
    original objective at the completed points; a benchmark uses it to log progress).
    Returns a :class:`DeepSolveResult` whose ``points`` are points of the original problem
    with H per column of ``objective``.
    """
    L = len(lams)
    if L < 1:
        raise SpecError(f"L must be >= 1 (number of weight matrices), got {L}")
    if d < 1:
        raise SpecError(f"d must be >= 1, got {d}")
    if features not in FEATURE_MODES:
        raise SpecError(f"features must be one of {', '.join(FEATURE_MODES)}, got {features!r}")
    loss = get_loss(loss) if isinstance(loss, str) else loss
    _activation(activation)
    if features == "auto":
        if activation == "linear" and loss.name == "mse":
            features = "eliminate"
        elif activation == "linear" and loss.convex:
            features = "class-means"
        else:
            features = "full"
    if features in ("class-means", "eliminate") and (activation != "linear" or not loss.convex):
        raise SpecError(f"features={features!r} needs a linear network and a loss convex in "
                        "the logits (use features='full')")
    dev = resolve_device(device)
    K = len(counts)
    objective = deep_objective(loss, counts, lams, lam_H, lam_b=lam_b, bias=bias,
                               activation=activation, class_means=features != "full",
                               device=dev)
    m = int(objective.labels.shape[0])
    shapes: dict[str, tuple[int, ...]] = {f"W{l}": (d, d) for l in range(1, L)}
    shapes[f"W{L}"] = (K, d)
    if features != "eliminate":
        shapes["H"] = (d, m)
        if bias:
            shapes["b"] = (K, 1)
    if init is None:
        start = random_init(shapes, starts, seed, dev, init_scale)
    else:
        start = {k: init[k].to(dev, torch.float64) for k in shapes}
    if features == "eliminate":
        reduced = EliminatedMSEObjective(objective)
        result = minimize_multistart(reduced, start, tol=tol, max_iter=max_iter,
                                     stop_when=stop_when)
        points = reduced.complete(result.params)
    else:
        result = minimize_multistart(objective, start, tol=tol, max_iter=max_iter,
                                     stop_when=stop_when)
        points = dict(result.params)
    with torch.no_grad():
        values = objective(points)
    return DeepSolveResult(result=result, objective=objective, points=points, values=values,
                           features=features)


# --------------------------------------------------------------------------- metrics


def _nc1_and_means(X: np.ndarray, labels: np.ndarray, counts: np.ndarray,
                   K: int) -> tuple[float, np.ndarray]:
    """NC1 = tr(Sigma_W pinv(Sigma_B))/K of columns X (width x m) with multiplicities, and
    the class means (width x K).  Sigma_W = 0 for class-mean columns."""
    means = np.stack([
        (X[:, labels == k] * counts[labels == k]).sum(axis=1) / counts[labels == k].sum()
        for k in range(K)], axis=1)
    N = counts.sum()
    mu_G = (means * np.array([counts[labels == k].sum() for k in range(K)])).sum(axis=1) / N
    Xc = X - means[:, labels]
    Sigma_W = (Xc * counts) @ Xc.T / N
    Mc = means - mu_G[:, None]
    Sigma_B = Mc @ Mc.T / K
    return float(np.trace(Sigma_W @ np.linalg.pinv(Sigma_B, rcond=1e-12)) / K), means


def _gram_distance(X: np.ndarray, T: np.ndarray) -> float:
    """| G/|G|_F - T/|T|_F |_F with G = X X^T (rows of X); NaN when X = 0."""
    G = X @ X.T
    g = np.linalg.norm(G)
    if g == 0:
        return float("nan")
    return float(np.linalg.norm(G / g - T / np.linalg.norm(T)))


def layer_metrics(
    objective: DeepUFMObjective, point: dict[str, np.ndarray | torch.Tensor],
    target: str = "etf", top: int | None = None,
) -> list[dict[str, Any]]:
    """Per-layer collapse metrics of one (unbatched) point.

    Entry l = 0 describes H, entry l >= 1 describes W_l and its output features
    X_l = s(W_l X_{l-1}) (X_0 = H; X_L = the logits):  ``NC1`` (of X_l), ``NC2_M``
    (Gram of the class means, centred for target "etf", vs the target Gram), ``balance``
    (|lam_l W_l^T W_l - lam_{l-1} W_{l-1} W_{l-1}^T|_F / |lam_l W_l^T W_l|_F, with
    lam_H H C H^T in place of layer 0, C the multiplicities), ``singular_values`` (of
    W_l; of the class-mean matrix for l = 0, largest ``top`` = K by default) and ``rank``
    (singular values above 1e-6 of the largest)."""
    p = {k: torch.as_tensor(np.asarray(v), dtype=torch.float64)[None] for k, v in point.items()}
    with torch.no_grad():
        feats = [f[0].numpy() for f in objective.features(p)]
    labels = objective.labels.cpu().numpy()
    counts = objective.counts.cpu().numpy()
    K = int(labels.max()) + 1
    top = top or K
    T = np.eye(K) - np.ones((K, K)) / K if target == "etf" else np.eye(K)
    out: list[dict[str, Any]] = []
    prev_gram = objective.lam_H * (feats[0] * counts) @ feats[0].T  # lam_H H C H^T
    for l in range(0, objective.L + 1):
        X = feats[l]
        nc1, means = _nc1_and_means(X, labels, counts, K)
        M = means.T
        if target == "etf":
            M = M - M.mean(axis=0, keepdims=True)
        entry: dict[str, Any] = {"layer": l, "NC1": nc1, "NC2_M": _gram_distance(M, T)}
        if l == 0:
            sv = np.linalg.svd(means, compute_uv=False)
        else:
            W = np.asarray(point[f"W{l}"], dtype=float)
            lam = objective.lams[l - 1]
            right = lam * W.T @ W
            denom = np.linalg.norm(right)
            entry["balance"] = float(np.linalg.norm(right - prev_gram) / denom) if denom else 0.0
            prev_gram = lam * W @ W.T
            sv = np.linalg.svd(W, compute_uv=False)
        sv = sv[:top]
        entry["singular_values"] = [float(s) for s in sv]
        entry["rank"] = int((sv > 1e-6 * max(sv.max(), 1e-300)).sum()) if sv.size else 0
        out.append(entry)
    return out


def layer_summary(layers: list[dict[str, Any]]) -> dict[str, Any]:
    """A flat digest of :func:`layer_metrics` for one-line reports: the largest NC1 over
    layers, NC2_M of the features entering W_L, the largest balance error, rank per layer."""
    finite = [e["NC1"] for e in layers if math.isfinite(e["NC1"])]
    return {
        "NC1_max": max(finite) if finite else float("nan"),
        "NC2_M_last": layers[-2]["NC2_M"] if len(layers) > 1 else layers[-1]["NC2_M"],
        "balance_max": max((e.get("balance", 0.0) for e in layers), default=0.0),
        "ranks": ",".join(str(e["rank"]) for e in layers),
    }


def train_sgd(
    objective: DeepUFMObjective,
    init: dict[str, torch.Tensor],
    *,
    lr: float = 0.1,
    momentum: float = 0.9,
    steps: int = 30000,
) -> tuple[dict[str, torch.Tensor], torch.Tensor, float]:
    """The papers' training recipe, as a baseline: full-batch SGD with heavy-ball momentum
    (torch.optim.SGD) on the objective as given (Dang et al.: lr 0.1, momentum 0.9, 30,000
    steps from N(0, 0.1^2) entries).  Returns (final point, its (S,) values, seconds)."""
    import time

    params = {k: v.detach().clone().requires_grad_(True) for k, v in init.items()}
    opt = torch.optim.SGD(list(params.values()), lr=lr, momentum=momentum)
    start = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad()
        objective(params).sum().backward()
        opt.step()
    with torch.no_grad():
        values = objective(params)
    if values.is_cuda:
        torch.cuda.synchronize()
    return {k: v.detach() for k, v in params.items()}, values, time.perf_counter() - start
