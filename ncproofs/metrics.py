r"""Neural-collapse metrics for features of trained networks and of UFM solutions.

Conventions (the table in ``docs/metrics.md`` compares them with public implementations).
Features are passed with **samples as rows**: ``H`` has shape ``(N, D)``. The objective in
``docs/conventions.md`` stores features as columns, ``H_obj`` in ``R^{d x N}``; pass
``H_obj.T``. With ``y_i`` in ``0..K-1``, ``n_k`` samples in class k:

* class means ``mu_k = (1/n_k) sum_{y_i = k} h_i``; global mean ``mu_G = (1/N) sum_i h_i``
  (the mean of all samples, so with imbalanced classes it is the n_k-weighted mean of the
  ``mu_k``);
* ``Sigma_W = (1/N) sum_i (h_i - mu_{y_i})(h_i - mu_{y_i})^T`` (biased, 1/N);
* ``Sigma_B = (1/K) sum_k (mu_k - mu_G)(mu_k - mu_G)^T`` (1/K, not 1/D, not N/K);
* **NC1** ``= tr(Sigma_W Sigma_B^+) / K`` (Papyan, Han & Donoho 2020). Only the part of
  ``Sigma_W`` inside the span of the centred means counts, so NC1 is finite when
  ``D <= K - 1`` and exactly 0 when ``Sigma_W = 0``;
* **NC1_cdnv** ``= mean_{k < l} (V_k + V_l) / (2 |mu_k - mu_l|^2)`` with
  ``V_k = (1/n_k) sum_{y_i = k} |h_i - mu_k|^2`` (Galanti, Gyorgy & Hutter 2022);
* **NC2_W**, **NC2_M** ``= | G / |G|_F - T / |T|_F |_F`` with ``G = X X^T`` the K x K Gram of
  the rows of ``X = W`` or of the class-mean matrix, and ``T`` the target Gram: the simplex
  ETF ``I - 11^T/K``, the orthogonal frame ``I``, or any K x K Gram (imbalanced orthogonal
  lengths ``diag(l_k^2)``, a generalized code for K > d + 1, ...). 0 means the exact shape
  up to one global scale, the largest value is 2 (Zhu et al. 2021 use this with the ETF);
* **NC3** ``= | W / |W|_F - M / |M|_F |_F^2`` (self-duality, Papyan et al.), ``M`` the K x D
  matrix of class means;
* **NC4** = fraction of samples with ``argmax_k (W h + b)_k != argmin_k |h - mu_k|``
  (the classifier disagrees with the nearest class centre; argmin for distances);
* **bias** ``= |P (W mu_G + b)|_2 / (|W (M_uncentred - 1 mu_G^T)^T|_F / sqrt K)``, with
  ``P = I - 11^T/K``: the non-constant part of the logits of the global mean relative to
  the RMS logit spread of the class means (our definition). It is 0 when the bias only
  shifts all logits equally, as at the balanced UFM optima (CE: b = 0 or c 1; MSE: 1/K).

Class means are centred at ``mu_G`` for NC2_M and NC3 when the target is the simplex ETF
and left uncentred for every other target (bias-free MSE and imbalanced MSE optima are
orthogonal frames of the uncentred means); override with ``center_means``.

Cost. ``Sigma_B`` has rank ``r <= min(K - 1, D)``: with the thin SVD of the centred
class-mean matrix ``M_c = A S V^T``, ``tr(Sigma_W Sigma_B^+)/K = sum_j |H_c v_j|^2 / (N s_j^2)``
where ``H_c`` holds the rows ``h_i - mu_{y_i}``. Nearest-centre distances need only the
coordinates ``(h_i - mu_G) V`` because every ``mu_k - mu_G`` lies in ``span V``. So the
metrics cost ``O(N D K)`` time and ``O(B D + K D)`` memory for a batch size B; no per-class
D x D covariance is ever formed. Exact metrics need the class means before the
within-class pass, hence two passes over the data (:class:`NCAccumulator`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ._lazy import torch

__all__ = [
    "METRIC_KEYS",
    "NCAccumulator",
    "conventions",
    "layerwise_nc_metrics",
    "nc_metrics",
    "nc_metrics_from_batches",
    "target_gram",
]

METRIC_KEYS: tuple[str, ...] = ("NC1", "NC1_cdnv", "NC2_W", "NC2_M", "NC3", "NC4", "bias")

#: a numpy array or a torch tensor (a string alias: torch is imported on first use)
ArrayLike = "np.ndarray | torch.Tensor"
Target = str | np.ndarray


# --------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------


def _as_tensor(x: Any, name: str, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x.detach()
    elif isinstance(x, np.ndarray) or np.isscalar(x) or isinstance(x, (list, tuple)):
        arr = np.asarray(x)
        if arr.dtype == object:
            raise TypeError(f"{name}: expected a numeric array, got dtype object")
        t = torch.from_numpy(np.ascontiguousarray(arr))
    else:
        raise TypeError(f"{name}: expected a numpy array or torch tensor, got {type(x).__name__}")
    int_dtypes = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)
    if not (t.is_floating_point() or t.dtype in int_dtypes or t.dtype == torch.bool):
        raise TypeError(f"{name}: expected real numbers, got dtype {t.dtype}")
    return t.to(device=device, dtype=dtype)


def _raw_features(H: Any) -> torch.Tensor:
    """H as a tensor without a copy where possible; batches are converted to float64 later."""
    if isinstance(H, torch.Tensor):
        return H.detach()
    arr = np.asarray(H)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"H: expected real numbers, got dtype {arr.dtype}")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    return torch.from_numpy(np.ascontiguousarray(arr))


def _labels(y: Any, n: int, K: int | None, device: torch.device) -> torch.Tensor:
    if isinstance(y, torch.Tensor):
        t = y.detach()
    else:
        arr = np.asarray(y)
        if arr.dtype.kind == "f" and arr.size and np.all(np.mod(arr, 1) == 0):
            arr = arr.astype(np.int64)
        if arr.dtype.kind not in "iub":
            raise TypeError(f"y: expected integer class labels, got dtype {arr.dtype}")
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.is_floating_point() or t.is_complex():
        raise TypeError(f"y: expected integer class labels, got dtype {t.dtype}")
    if t.ndim != 1:
        raise ValueError(f"y: expected shape (N,), got {tuple(t.shape)}")
    if t.shape[0] != n:
        raise ValueError(f"y: has {t.shape[0]} labels but H has {n} rows (samples are rows)")
    t = t.to(device=device, dtype=torch.int64)
    if n:
        lo, hi = int(t.min()), int(t.max())
        if lo < 0:
            raise ValueError(f"y: labels must be in 0..K-1, found {lo}")
        if K is not None and hi >= K:
            raise ValueError(f"y: labels must be in 0..{K - 1} (K={K}), found {hi}")
    return t


def _features(H: Any, D: int | None, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    t = _as_tensor(H, "H", device, dtype)
    if t.ndim != 2:
        raise ValueError(f"H: expected shape (N, D) with samples as rows, got {tuple(t.shape)}")
    if D is not None and t.shape[1] != D:
        raise ValueError(f"H: expected {D} feature columns, got {t.shape[1]}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError("H: contains NaN or inf")
    return t


def target_gram(target: Target, K: int) -> np.ndarray:
    r"""The K x K target Gram matrix for NC2.

    ``"etf"``: ``I - 11^T/K`` (simplex ETF, rank K - 1); ``"orthogonal"``: ``I``; an array:
    checked to be a finite, symmetric, nonzero K x K matrix and returned as float64.

    >>> target_gram("etf", 3).round(3).tolist()[0]
    [0.667, -0.333, -0.333]
    """
    if isinstance(target, str):
        if target == "etf":
            return np.eye(K) - np.ones((K, K)) / K
        if target == "orthogonal":
            return np.eye(K)
        raise ValueError(
            f"target: expected 'etf', 'orthogonal' or a {K}x{K} Gram matrix, got {target!r}"
        )
    if isinstance(target, torch.Tensor):
        target = target.detach().cpu().numpy()
    T = np.asarray(target, dtype=np.float64)
    if T.shape != (K, K):
        raise ValueError(f"target: expected a {K}x{K} Gram matrix, got shape {T.shape}")
    if not np.all(np.isfinite(T)):
        raise ValueError("target: contains NaN or inf")
    if not np.allclose(T, T.T, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(T).max())):
        raise ValueError("target: a Gram matrix must be symmetric")
    if not np.any(T):
        raise ValueError("target: the zero matrix is no shape")
    return T


def _default_center(target: Target) -> bool:
    return isinstance(target, str) and target == "etf"


def conventions(target: Target = "etf", center_means: bool | None = None) -> dict[str, str]:
    """The conventions behind the numbers, in words (for JSON reports)."""
    center = _default_center(target) if center_means is None else bool(center_means)
    tname = target if isinstance(target, str) else "explicit Gram matrix"
    return {
        "features": "rows are samples (N x D)",
        "global_mean": "mean of all samples (n_k-weighted)",
        "Sigma_W": "(1/N) sum_i (h_i - mu_y_i)(h_i - mu_y_i)^T",
        "Sigma_B": "(1/K) sum_k (mu_k - mu_G)(mu_k - mu_G)^T",
        "NC1": "tr(Sigma_W pinv(Sigma_B)) / K  (Papyan et al. 2020)",
        "NC1_cdnv": "mean over pairs k<l of (V_k + V_l) / (2 |mu_k - mu_l|^2)  (Galanti et al.)",
        "NC2": "| G/|G|_F - T/|T|_F |_F, G = Gram of rows of W or of class means",
        "NC2_target": tname,
        "class_means": "centred at mu_G" if center else "uncentred",
        "NC3": "| W/|W|_F - M/|M|_F |_F^2 (self-duality)",
        "NC4": "fraction with argmax(W h + b) != argmin_k |h - mu_k|",
        "bias": "|P (W mu_G + b)| / (|W (mu_k - mu_G)|_F / sqrt K), P = I - 11^T/K",
    }


# --------------------------------------------------------------------------------------
# the accumulator
# --------------------------------------------------------------------------------------


class NCAccumulator:
    r"""Streaming neural-collapse metrics in two passes over batches of ``(H, y)``.

    Pass 1 accumulates class counts and sums; :meth:`next_pass` forms the class means and the
    thin SVD of the centred class-mean matrix; pass 2 accumulates the within-class quantities
    projected on its right singular vectors, the per-class variances and the NC4 counts.
    Memory is ``O(K D + B max(D, K))``; per-class ``D x D`` covariances are never formed.

    Example (a DataLoader works the same way; iterate it twice)::

        acc = NCAccumulator(K=10, W=W, b=b)
        for H, y in batches(): acc.update(H, y)
        acc.next_pass()
        for H, y in batches(): acc.update(H, y)
        metrics = acc.compute()

    The batches of the two passes must be the same samples (any order, any batching).
    """

    def __init__(
        self,
        K: int,
        W: ArrayLike | None = None,
        b: ArrayLike | None = None,
        *,
        target: Target = "etf",
        center_means: bool | None = None,
        device: str | torch.device | None = None,
        dtype: torch.dtype | None = None,
        rcond: float | None = None,
    ) -> None:
        if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or K < 2:
            raise ValueError(f"K: expected an integer >= 2, got {K!r}")
        self.K = int(K)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        dtype = torch.float64 if dtype is None else dtype
        self.dtype = dtype
        self.target = target_gram(target, self.K)
        self.target_spec: Target = target
        self.center = _default_center(target) if center_means is None else bool(center_means)
        self.rcond = rcond
        self.W: torch.Tensor | None = None
        self.b: torch.Tensor | None = None
        if W is not None:
            Wt = _as_tensor(W, "W", self.device, dtype)
            if Wt.ndim != 2 or Wt.shape[0] != self.K:
                raise ValueError(f"W: expected shape (K, D) = ({self.K}, D), got {tuple(Wt.shape)}")
            if not bool(torch.isfinite(Wt).all()):
                raise ValueError("W: contains NaN or inf")
            self.W = Wt
        if b is not None:
            if W is None:
                raise ValueError("b: a bias was given without a classifier W")
            bt = _as_tensor(b, "b", self.device, dtype)
            if bt.shape != (self.K,):
                raise ValueError(f"b: expected shape ({self.K},), got {tuple(bt.shape)}")
            if not bool(torch.isfinite(bt).all()):
                raise ValueError("b: contains NaN or inf")
            self.b = bt
        self.D: int | None = None if self.W is None else int(self.W.shape[1])
        self.phase = 1
        self.N = 0
        self._counts = torch.zeros(self.K, dtype=torch.int64, device=self.device)
        self._sums: torch.Tensor | None = None
        self._N2 = 0

    # -- pass 1 -------------------------------------------------------------------------
    def _check_batch(self, H: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
        Ht = _features(H, self.D, self.device, self.dtype)
        yt = _labels(y, Ht.shape[0], self.K, self.device)
        if self.D is None:
            self.D = int(Ht.shape[1])
        return Ht, yt

    def update(self, H: ArrayLike, y: ArrayLike) -> None:
        """Consume one batch: ``H`` (B, D) features as rows, ``y`` (B,) labels."""
        Ht, yt = self._check_batch(H, y)
        if self.phase == 1:
            self._update_means(Ht, yt)
        elif self.phase == 2:
            self._update_within(Ht, yt)
        else:
            raise RuntimeError("NCAccumulator: compute() was already called; make a new one")

    def _update_means(self, H: torch.Tensor, y: torch.Tensor) -> None:
        if self._sums is None:
            self._sums = torch.zeros(self.K, H.shape[1], dtype=self.dtype, device=self.device)
            self._ref = torch.zeros_like(self._sums)
        batch_counts = torch.bincount(y, minlength=self.K)
        new = torch.nonzero((self._counts == 0) & (batch_counts > 0)).flatten()
        if new.numel():
            # shift each class by its first sample: the mean is then exact when all samples of
            # a class are equal (exact collapse gives Sigma_W = 0 exactly) and the sums carry
            # no large offset (the shifted-data algorithm for variances).
            first = torch.full((self.K,), H.shape[0], dtype=torch.int64, device=self.device)
            first.scatter_reduce_(0, y, torch.arange(H.shape[0], device=self.device), "amin")
            self._ref[new] = H[first[new]]
        self._sums.index_add_(0, y, H - self._ref[y])
        self._counts += batch_counts
        self.N += H.shape[0]

    def next_pass(self) -> None:
        """End pass 1: form class means and the SVD of the centred class-mean matrix."""
        if self.phase != 1:
            raise RuntimeError("NCAccumulator.next_pass: pass 1 already ended")
        if self.N == 0 or self._sums is None:
            raise ValueError("H: no samples were given")
        empty = torch.nonzero(self._counts == 0).flatten().tolist()
        if empty:
            raise ValueError(
                f"y: class {empty[0]} has no samples (K={self.K}; empty classes: {empty[:10]})"
            )
        counts = self._counts.to(self.dtype)
        self.mu = self._ref + self._sums / counts[:, None]  # K x D
        self.mu_G = (counts[:, None] * self.mu).sum(0) / self.N  # D
        Mc = self.mu - self.mu_G  # K x D, rows mu_k - mu_G
        A, S, Vh = torch.linalg.svd(Mc, full_matrices=False)
        eps = torch.finfo(self.dtype).eps
        rcond = self.rcond if self.rcond is not None else max(Mc.shape) * eps
        keep = S > (S[0] * rcond if S.numel() else 0)
        self.rank = int(keep.sum())
        self.S = S[keep]
        self.V = Vh[keep].T.contiguous()  # D x r
        self.C = A[:, keep] * self.S  # K x r: coordinates of mu_k - mu_G in V
        self._Cnorm2 = (self.C * self.C).sum(1)
        self._proj2 = torch.zeros(self.rank, dtype=self.dtype, device=self.device)
        self._var_sum = torch.zeros(self.K, dtype=self.dtype, device=self.device)
        self._disagree = 0
        self._correct = 0
        self._N2 = 0
        self.phase = 2

    # -- pass 2 -------------------------------------------------------------------------
    def _update_within(self, H: torch.Tensor, y: torch.Tensor) -> None:
        Hc = H - self.mu[y]  # exact zeros at exact collapse
        self._var_sum.index_add_(0, y, (Hc * Hc).sum(1))
        Z = Hc @ self.V  # B x r
        self._proj2 += (Z * Z).sum(0)
        if self.W is not None:
            Z += self.C[y]  # (h - mu_G) V
            # argmin_k |h - mu_k|^2 = argmin_k (|C_k|^2 - 2 <z, C_k>); other terms do not
            # depend on k because every mu_k - mu_G lies in span V.
            ncc = (self._Cnorm2[None, :] - 2.0 * (Z @ self.C.T)).argmin(1)
            logits = H @ self.W.T
            if self.b is not None:
                logits += self.b
            pred = logits.argmax(1)
            self._disagree += int((pred != ncc).sum())
            self._correct += int((pred == y).sum())
        self._N2 += H.shape[0]

    # -- results ------------------------------------------------------------------------
    def compute(self, extra: bool = False) -> dict[str, float]:
        """The metrics as Python floats (NaN where not computable). Ends the accumulator.

        With ``extra=True`` also: ``rank_B`` (numerical rank of Sigma_B), ``tr_Sigma_W``,
        ``NC2_W_equinorm`` / ``NC2_M_equinorm`` (std/mean of row norms),
        ``NC2_W_equiangular`` / ``NC2_M_equiangular`` (std of the off-diagonal cosines),
        ``NC3_cos`` (mean over classes of ``1 - cos(w_k, m_k)``, free of per-class scale),
        ``accuracy`` (of ``argmax(W h + b)`` against y; NaN without W).
        """
        if self.phase == 1:
            raise RuntimeError("NCAccumulator.compute: call next_pass() and run pass 2 first")
        if self.phase == 3:
            raise RuntimeError("NCAccumulator.compute: already computed")
        if self._N2 != self.N:
            raise ValueError(
                f"H: pass 2 saw {self._N2} samples but pass 1 saw {self.N}; feed the same data"
            )
        self.phase = 3
        nan = float("nan")
        K, N = self.K, self.N
        out: dict[str, float] = dict.fromkeys(METRIC_KEYS, nan)
        if self.rank > 0:
            out["NC1"] = float((self._proj2 / (N * self.S**2)).sum())
        counts = self._counts.to(self.dtype)
        var = self._var_sum / counts
        G = self.C @ self.C.T
        dg = torch.diagonal(G)
        dist2 = (dg[:, None] + dg[None, :] - 2.0 * G).clamp_min(0.0)
        iu = torch.triu_indices(K, K, 1, device=self.device)
        num = (var[:, None] + var[None, :])[iu[0], iu[1]]
        den = 2.0 * dist2[iu[0], iu[1]]
        safe = torch.where(den > 0, den, torch.ones_like(den))
        ratio = torch.where(den > 0, num / safe, _inf_or_nan(num))
        out["NC1_cdnv"] = float(ratio.mean())
        T = torch.as_tensor(self.target, dtype=self.dtype, device=self.device)
        M = self.mu - self.mu_G if self.center else self.mu
        out["NC2_M"] = _gram_distance(M, T)
        if self.W is not None:
            W = self.W
            out["NC2_W"] = _gram_distance(W, T)
            nW, nM = torch.linalg.norm(W), torch.linalg.norm(M)
            if nW > 0 and nM > 0:
                out["NC3"] = float(torch.linalg.norm(W / nW - M / nM) ** 2)
            out["NC4"] = self._disagree / N
            z = W @ self.mu_G + (self.b if self.b is not None else 0.0)
            z = z - z.mean()
            spread = torch.linalg.norm(W @ (self.mu - self.mu_G).T) / math.sqrt(K)
            if spread > 0:
                out["bias"] = float(torch.linalg.norm(z) / spread)
        if extra:
            out.update(self._extra(M))
        return out

    def _extra(self, M: torch.Tensor) -> dict[str, float]:
        nan = float("nan")
        res: dict[str, float] = {
            "rank_B": float(self.rank),
            "tr_Sigma_W": float(self._var_sum.sum() / self.N),
        }
        for name, X in (("M", M), ("W", self.W)):
            en, ea = (nan, nan) if X is None else _equinorm_equiangular(X)
            res[f"NC2_{name}_equinorm"] = en
            res[f"NC2_{name}_equiangular"] = ea
        if self.W is not None:
            cos = torch.nn.functional.cosine_similarity(self.W, M, dim=1)
            res["NC3_cos"] = float((1.0 - cos).mean())
            res["accuracy"] = self._correct / self.N
        else:
            res["NC3_cos"] = nan
            res["accuracy"] = nan
        return res


def _inf_or_nan(num: torch.Tensor) -> torch.Tensor:
    return torch.where(num > 0, torch.full_like(num, math.inf), torch.full_like(num, math.nan))


def _gram_distance(X: torch.Tensor, T: torch.Tensor) -> float:
    G = X @ X.T
    nG, nT = torch.linalg.norm(G), torch.linalg.norm(T)
    if nG == 0:
        return float("nan")
    return float(torch.linalg.norm(G / nG - T / nT))


def _equinorm_equiangular(X: torch.Tensor) -> tuple[float, float]:
    norms = torch.linalg.norm(X, dim=1)
    if bool((norms == 0).any()):
        return float("nan"), float("nan")
    en = float(norms.std(unbiased=False) / norms.mean())
    U = X / norms[:, None]
    cos = U @ U.T
    K = X.shape[0]
    off = cos[~torch.eye(K, dtype=torch.bool, device=X.device)]
    return en, float(off.std(unbiased=False))


# --------------------------------------------------------------------------------------
# entry points
# --------------------------------------------------------------------------------------


def _infer_K(y: ArrayLike, W: ArrayLike | None, K: int | None) -> int:
    if K is not None:
        return K
    if W is not None:
        shape = tuple(W.shape)
        if len(shape) != 2:
            raise ValueError(f"W: expected shape (K, D), got {shape}")
        return int(shape[0])
    ymax = int(y.max()) if len(y) else -1
    return ymax + 1


def nc_metrics(
    H: ArrayLike,
    y: ArrayLike,
    W: ArrayLike | None = None,
    b: ArrayLike | None = None,
    *,
    K: int | None = None,
    target: Target = "etf",
    center_means: bool | None = None,
    batch_size: int = 8192,
    device: str | torch.device | None = None,
    extra: bool = False,
) -> dict[str, float]:
    r"""Neural-collapse metrics of features ``H`` (N, D) -- **samples are rows** -- with labels y.

    Our objective stores features as columns (``H_obj`` is d x N): call
    ``nc_metrics(H_obj.T, y, W, b)``. ``W`` is the K x D classifier, ``b`` its bias (K,).

    Returns the keys ``NC1, NC1_cdnv, NC2_W, NC2_M, NC3, NC4, bias`` as Python floats (NaN
    where not computable: NC2_W, NC3, NC4 and bias need W; NC1 needs distinct class means).
    Definitions are in the module docstring: ``NC1 = tr(Sigma_W pinv(Sigma_B))/K`` with
    ``Sigma_B = (1/K) sum_k (mu_k - mu_G)(mu_k - mu_G)^T``; NC2 is the Frobenius distance of
    the normalized Gram to the normalized ``target`` Gram (``"etf"``, ``"orthogonal"`` or a
    K x K array); NC4 is the fraction of samples where ``argmax(W h + b)`` differs from the
    nearest class mean. ``K`` defaults to ``W.shape[0]``, else ``max(y) + 1``; every class
    needs a sample. Computation is float64 in batches of ``batch_size`` rows, ``O(N D K)``.

    >>> H = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> m = nc_metrics(H, [0, 0, 1, 1], W=np.eye(2), target="orthogonal")
    >>> m["NC1"], m["NC2_W"], m["NC4"]
    (0.0, 0.0, 0.0)
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
    dev = torch.device(device) if device is not None else torch.device("cpu")
    Ht = _raw_features(H)
    if Ht.ndim != 2:
        raise ValueError(f"H: expected shape (N, D) with samples as rows, got {tuple(Ht.shape)}")
    yt = _labels(y, Ht.shape[0], K, dev)
    Kv = _infer_K(yt, W, K)
    acc = NCAccumulator(Kv, W, b, target=target, center_means=center_means, device=dev)
    n = Ht.shape[0]
    for _ in range(2):
        for s in range(0, n, batch_size):
            acc.update(Ht[s : s + batch_size], yt[s : s + batch_size])
        if acc.phase == 1:
            acc.next_pass()
    return acc.compute(extra=extra)


def nc_metrics_from_batches(
    batches: Callable[[], Iterable[tuple[ArrayLike, ArrayLike]]],
    K: int,
    W: ArrayLike | None = None,
    b: ArrayLike | None = None,
    *,
    target: Target = "etf",
    center_means: bool | None = None,
    device: str | torch.device | None = None,
    extra: bool = False,
) -> dict[str, float]:
    """Metrics of data too large for memory: ``batches()`` is called twice and must yield the
    same ``(H, y)`` samples each time (e.g. ``lambda: iter(loader)`` for a DataLoader without
    random augmentation)."""
    acc = NCAccumulator(K, W, b, target=target, center_means=center_means, device=device)
    for H, y in batches():
        acc.update(H, y)
    acc.next_pass()
    for H, y in batches():
        acc.update(H, y)
    return acc.compute(extra=extra)


def layerwise_nc_metrics(
    model: torch.nn.Module,
    loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
    layers: Mapping[str, torch.nn.Module] | Sequence[str],
    K: int,
    *,
    classifier: tuple[ArrayLike, ArrayLike | None] | None = None,
    classifier_layer: str | None = None,
    target: Target = "etf",
    center_means: bool | None = None,
    device: str | torch.device | None = None,
    extra: bool = False,
) -> dict[str, dict[str, float]]:
    """NC metrics of the outputs of several modules of ``model``, through forward hooks.

    ``layers`` is a mapping name -> submodule or a list of names from
    ``model.named_modules()``; each output is flattened to (B, -1). ``loader`` yields
    ``(x, y)`` and is iterated twice (it must give the same samples both times). If
    ``classifier=(W, b)`` is given it is used for NC2_W, NC3, NC4 and bias at
    ``classifier_layer`` (default: the last layer listed). The model runs in eval mode under
    ``torch.no_grad``; its training flag is restored afterwards.
    """
    named = dict(model.named_modules())
    if isinstance(layers, Mapping):
        mods = dict(layers)
    else:
        missing = [n for n in layers if n not in named]
        if missing:
            raise ValueError(f"layers: no submodule named {missing[0]!r} in the model")
        mods = {n: named[n] for n in layers}
    if not mods:
        raise ValueError("layers: give at least one layer")
    names = list(mods)
    cls_at = classifier_layer if classifier_layer is not None else names[-1]
    if cls_at not in mods:
        raise ValueError(f"classifier_layer: {cls_at!r} is not among the layers")
    dev = (
        torch.device(device)
        if device is not None
        else next((p.device for p in model.parameters()), torch.device("cpu"))
    )
    accs: dict[str, NCAccumulator] = {}
    for n in names:
        W, b = classifier if (classifier is not None and n == cls_at) else (None, None)
        accs[n] = NCAccumulator(K, W, b, target=target, center_means=center_means, device=dev)
    current: dict[str, torch.Tensor] = {}

    def hook_for(name: str) -> Callable[..., None]:
        def hook(_m: torch.nn.Module, _inp: Any, out: Any) -> None:
            t = out[0] if isinstance(out, (tuple, list)) else out
            current[name] = t.detach().reshape(t.shape[0], -1)

        return hook

    handles = [mods[n].register_forward_hook(hook_for(n)) for n in names]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for p in range(2):
                for x, y in loader:
                    current.clear()
                    model(x.to(dev))
                    for n in names:
                        if n not in current:
                            raise RuntimeError(f"layers: module {n!r} was not called in forward")
                        accs[n].update(current[n], y)
                if p == 0:
                    for a in accs.values():
                        a.next_pass()
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return {n: accs[n].compute(extra=extra) for n in names}
