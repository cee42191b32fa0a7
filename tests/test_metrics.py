"""Tests of ncproofs.metrics.

Expected values come from two independent routes, named in each test:
* ``naive``: a plain-numpy transcription of the textbook formulas, with explicit per-sample
  loops, D x D matrices and ``np.linalg.pinv`` (only viable on tiny data);
* hand-computed constructions (1-D two-class data, exact frames) whose metrics follow
  on paper.
The regression tests at the end each reproduce one published mistake: they compute the
wrong value the buggy formula gives on a small constructed data set and check that ours
gives the right one instead.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse.linalg
import torch

from ncproofs.metrics import (
    METRIC_KEYS,
    NCAccumulator,
    layerwise_nc_metrics,
    nc_metrics,
    nc_metrics_from_batches,
    target_gram,
)

# --------------------------------------------------------------------------------------
# independent reference
# --------------------------------------------------------------------------------------


def naive(H, y, W=None, b=None, K=None, target="etf", center=None):
    """Textbook formulas, computed the slow obvious way (D x D matrices, loops, pinv)."""
    H = np.asarray(H, float)
    y = np.asarray(y)
    N, D = H.shape
    K = K or int(y.max()) + 1
    mu = np.stack([H[y == k].mean(0) for k in range(K)])
    muG = H.mean(0)
    Sw = np.zeros((D, D))
    for h, c in zip(H, y, strict=True):
        Sw += np.outer(h - mu[c], h - mu[c])
    Sw /= N
    Sb = np.zeros((D, D))
    for m in mu:
        Sb += np.outer(m - muG, m - muG)
    Sb /= K
    out = {"NC1": np.trace(Sw @ np.linalg.pinv(Sb)) / K}
    var = [np.mean([np.sum((h - mu[k]) ** 2) for h in H[y == k]]) for k in range(K)]
    pairs = [
        (var[k] + var[l]) / (2 * np.sum((mu[k] - mu[l]) ** 2))
        for k in range(K)
        for l in range(k + 1, K)
    ]
    out["NC1_cdnv"] = np.mean(pairs)
    if isinstance(target, str):
        T = np.eye(K) - (np.ones((K, K)) / K if target == "etf" else 0)
    else:
        T = target
    center = (isinstance(target, str) and target == "etf") if center is None else center
    M = mu - muG if center else mu

    def dist(X):
        G = X @ X.T
        return np.linalg.norm(G / np.linalg.norm(G) - T / np.linalg.norm(T))

    out["NC2_M"] = dist(M)
    if W is not None:
        b = np.zeros(K) if b is None else b
        out["NC2_W"] = dist(W)
        out["NC3"] = np.linalg.norm(W / np.linalg.norm(W) - M / np.linalg.norm(M)) ** 2
        dis = 0
        for h in H:
            pred = np.argmax(W @ h + b)
            ncc = np.argmin([np.linalg.norm(h - m) for m in mu])
            dis += pred != ncc
        out["NC4"] = dis / N
        z = W @ muG + b
        z = z - z.mean()
        out["bias"] = np.linalg.norm(z) / (np.linalg.norm(W @ (mu - muG).T) / math.sqrt(K))
    return out


def noisy_data(K=4, n=(8, 5, 7, 6), D=6, noise=0.3, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(K, D)) * 2
    y = np.concatenate([np.full(nk, k) for k, nk in enumerate(n)])
    H = means[y] + noise * rng.normal(size=(len(y), D))
    perm = rng.permutation(len(y))
    return H[perm], y[perm]


def etf(K, D=None, scale=1.0, seed=0):
    """Rows form a simplex ETF in R^D (D >= K - 1), randomly rotated."""
    D = D or K
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(D, D)))
    E = np.eye(K) - np.ones((K, K)) / K  # rows in R^K, rank K - 1
    U, s, _ = np.linalg.svd(E)
    coords = U[:, : K - 1] * s[: K - 1]  # K x (K-1), same Gram as E
    X = np.zeros((K, D))
    X[:, : K - 1] = coords
    return scale * X @ Q.T


def check(ours, ref, keys, rtol=1e-9, atol=1e-12):
    for k in keys:
        assert ours[k] == pytest.approx(ref[k], rel=rtol, abs=atol), k


# --------------------------------------------------------------------------------------
# agreement with the naive route
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["etf", "orthogonal"])
def test_matches_naive_imbalanced_with_classifier(target):
    """Expected: naive numpy on 26 samples, imbalanced classes, D = 6 > K."""
    H, y = noisy_data()
    rng = np.random.default_rng(1)
    W, b = rng.normal(size=(4, 6)), rng.normal(size=4)
    ours = nc_metrics(H, y, W, b, target=target)
    assert set(ours) == set(METRIC_KEYS)
    assert all(isinstance(v, float) for v in ours.values())
    check(ours, naive(H, y, W, b, target=target), METRIC_KEYS)


def test_matches_naive_when_D_at_most_K_minus_1():
    """D = 2 <= K - 1 = 4: Sigma_B is D x D of rank 2; expected from naive numpy pinv."""
    H, y = noisy_data(K=5, n=(4, 4, 5, 3, 6), D=2, seed=3)
    W = np.random.default_rng(2).normal(size=(5, 2))
    ours = nc_metrics(H, y, W)
    check(ours, naive(H, y, W), METRIC_KEYS)
    assert np.isfinite(ours["NC1"])


def test_streaming_equals_in_memory_any_batching_and_order():
    """Expected: nc_metrics on the whole array; the accumulator sees other batches/orders."""
    H, y = noisy_data(seed=5)
    W = np.random.default_rng(3).normal(size=(4, 6))
    ref = nc_metrics(H, y, W)
    perm = np.random.default_rng(4).permutation(len(y))

    def batches():
        yield H[:3], y[:3]
        yield H[3:20], y[3:20]
        yield H[20:], y[20:]

    def shuffled():
        for s in range(0, len(y), 5):
            yield H[perm[s : s + 5]], y[perm[s : s + 5]]

    acc = NCAccumulator(4, W)
    for Hb, yb in batches():
        acc.update(Hb, yb)
    acc.next_pass()
    for Hb, yb in shuffled():
        acc.update(Hb, yb)
    check(acc.compute(), ref, METRIC_KEYS, rtol=1e-10)
    check(nc_metrics_from_batches(batches, 4, W), ref, METRIC_KEYS, rtol=1e-10)
    check(nc_metrics(H, y, W, batch_size=4), ref, METRIC_KEYS, rtol=1e-10)


def test_torch_input_float32_and_grad_equals_numpy():
    """Expected: the same data as a numpy float64 array."""
    H, y = noisy_data(seed=7)
    H32 = H.astype(np.float32)
    W = np.random.default_rng(5).normal(size=(4, 6)).astype(np.float32)
    ref = nc_metrics(H32.astype(np.float64), y, W.astype(np.float64))
    Ht = torch.tensor(H32, requires_grad=True)
    ours = nc_metrics(Ht, torch.tensor(y), torch.tensor(W))
    check(ours, ref, METRIC_KEYS, rtol=1e-12)


def test_extra_keys_match_naive_equinorm_and_accuracy():
    """Expected: numpy norms/cosines of the rows and a direct accuracy count."""
    H, y = noisy_data(seed=8)
    W = np.random.default_rng(6).normal(size=(4, 6))
    ours = nc_metrics(H, y, W, extra=True)
    n = np.linalg.norm(W, axis=1)
    assert ours["NC2_W_equinorm"] == pytest.approx(n.std() / n.mean(), rel=1e-12)
    cos = (W / n[:, None]) @ (W / n[:, None]).T
    assert ours["NC2_W_equiangular"] == pytest.approx(cos[~np.eye(4, dtype=bool)].std(), rel=1e-12)
    assert ours["accuracy"] == pytest.approx(np.mean(np.argmax(H @ W.T, 1) == y))
    assert ours["rank_B"] == 3.0


# --------------------------------------------------------------------------------------
# hand-computed constructions
# --------------------------------------------------------------------------------------


def test_hand_computed_two_classes_one_dimension():
    """h in {-1 +- a} (class 0), {1 +- a} (class 1): mu = -1, 1, mu_G = 0, Sigma_W = a^2,
    Sigma_B = (1/2)(1 + 1) = 1, so NC1 = a^2 / 2; V_k = a^2, |mu_0 - mu_1|^2 = 4, so
    CDNV = 2a^2 / 8 = a^2 / 4. W = [[-1], [1]]: NC4 = 0 (a < 1); bias 0."""
    a = 0.5
    H = np.array([[-1 - a], [-1 + a], [1 - a], [1 + a]])
    y = np.array([0, 0, 1, 1])
    m = nc_metrics(H, y, W=np.array([[-1.0], [1.0]]))
    assert m["NC1"] == pytest.approx(a**2 / 2, rel=1e-14)
    assert m["NC1_cdnv"] == pytest.approx(a**2 / 4, rel=1e-14)
    assert m["NC4"] == 0.0
    assert m["bias"] == pytest.approx(0.0, abs=1e-15)
    # K = 2 means in 1-D are an ETF; W too, and W is proportional to the centred means.
    assert m["NC2_M"] == pytest.approx(0.0, abs=1e-15)
    assert m["NC2_W"] == pytest.approx(0.0, abs=1e-15)
    assert m["NC3"] == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("K,D", [(5, 5), (5, 4), (10, 30)])
def test_exact_collapse_gives_zeros(K, D):
    """Every sample equals its class mean, means form an ETF, W = 2 * means, b = 0:
    Sigma_W = 0 exactly, so NC1 = CDNV = 0 exactly; NC2, NC3, NC4, bias vanish."""
    M = etf(K, D, scale=3.0, seed=K + D)
    y = np.repeat(np.arange(K), 3)
    m = nc_metrics(M[y], y, W=2 * M, b=np.zeros(K))
    assert m["NC1"] == 0.0
    assert m["NC1_cdnv"] == 0.0
    assert m["NC4"] == 0.0
    for k in ("NC2_W", "NC2_M", "NC3", "bias"):
        assert m[k] == pytest.approx(0.0, abs=1e-12), k


def test_bias_collapse_constant_shift_is_zero_and_nonconstant_is_not():
    """Adding c 1 to the bias leaves bias = 0 (it shifts all logits); b = (t, 0, .., 0) gives
    |P b| / (|W M_c^T|_F / sqrt K) with P b computed by hand: |P b| = t sqrt((K - 1) / K)."""
    K = 4
    M = etf(K, seed=1)
    y = np.repeat(np.arange(K), 2)
    m = nc_metrics(M[y], y, W=M, b=np.full(K, 7.0))
    assert m["bias"] == pytest.approx(0.0, abs=1e-12)
    t = 0.3
    b = np.zeros(K)
    b[0] = t
    m = nc_metrics(M[y], y, W=M, b=b)
    spread = np.linalg.norm(M @ M.T) / math.sqrt(K)  # mu_G = 0 for an ETF
    assert m["bias"] == pytest.approx(t * math.sqrt((K - 1) / K) / spread, rel=1e-12)


def test_equal_means_give_nan_nc1_and_inf_cdnv():
    """All class means coincide: Sigma_B = 0, NC1 undefined (NaN), CDNV infinite."""
    H = np.array([[1.0], [-1.0], [1.0], [-1.0]])
    m = nc_metrics(H, [0, 0, 1, 1])
    assert math.isnan(m["NC1"])
    assert m["NC1_cdnv"] == math.inf
    assert math.isnan(m["NC2_W"]) and math.isnan(m["NC4"])  # no W given


def test_invariant_to_rotation_scale_and_label_permutation():
    """NC1, CDNV and NC2 (ETF target) are unchanged by h -> c Q h and by relabelling."""
    H, y = noisy_data(seed=11)
    ref = nc_metrics(H, y)
    Q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(6, 6)))
    perm = np.array([2, 0, 3, 1])
    m = nc_metrics(5.0 * H @ Q.T, perm[y])
    check(m, ref, ("NC1", "NC1_cdnv", "NC2_M"), rtol=1e-9)


def test_target_gram_validation():
    assert np.allclose(target_gram("orthogonal", 3), np.eye(3))
    with pytest.raises(ValueError, match="target"):
        target_gram("simplex", 3)
    with pytest.raises(ValueError, match="target: expected a 3x3"):
        target_gram(np.eye(4), 3)
    with pytest.raises(ValueError, match="symmetric"):
        target_gram(np.triu(np.ones((3, 3))), 3)


# --------------------------------------------------------------------------------------
# bad input: a clear error that names the parameter
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"H": np.zeros(4)}, r"H: expected shape \(N, D\)"),
        ({"y": np.array([0, 1, 1])}, "y: has 3 labels but H has 4 rows"),
        ({"y": np.array([0, 0, 2, 2])}, "y: class 1 has no samples"),
        ({"y": np.array([0, 0, 1, 1]), "K": 3}, "y: class 2 has no samples"),
        ({"y": np.array([0, 0, 1, -1])}, "y: labels must be in 0..K-1"),
        ({"y": np.array([0.0, 0.5, 1.0, 1.0])}, "y: expected integer class labels"),
        ({"H": np.array([[0.0, 1], [1, 0], [np.nan, 0], [1, 1]])}, "H: contains NaN"),
        ({"W": np.zeros((3, 2))}, "y: class 2 has no samples"),
        ({"W": np.zeros((2, 2)), "y": np.array([0, 0, 1, 2])}, r"y: labels must be in 0..1"),
        ({"W": np.zeros((2, 3))}, "H: expected 3 feature columns"),
        ({"W": np.eye(2), "b": np.zeros(3)}, r"b: expected shape \(2,\)"),
        ({"b": np.zeros(2)}, "b: a bias was given without a classifier W"),
        ({"W": np.eye(2), "target": np.eye(3)}, "target: expected a 2x2"),
        ({"K": 1, "y": np.zeros(4, dtype=int)}, "K: expected an integer >= 2"),
        ({"W": np.array([[np.inf, 0], [0, 1]])}, "W: contains NaN or inf"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, match):
    args = {"H": np.array([[0.0, 1], [1, 0], [0, 2], [2, 0]]), "y": np.array([0, 0, 1, 1])}
    args.update(kwargs)
    H, y = args.pop("H"), args.pop("y")
    with pytest.raises((ValueError, TypeError), match=match):
        nc_metrics(H, y, **args)


def test_accumulator_misuse_is_reported():
    H, y = noisy_data()
    acc = NCAccumulator(4)
    acc.update(H, y)
    with pytest.raises(RuntimeError, match="next_pass"):
        acc.compute()
    acc.next_pass()
    acc.update(H[:10], y[:10])
    with pytest.raises(ValueError, match="pass 2 saw 10 samples but pass 1 saw 26"):
        acc.compute()


# --------------------------------------------------------------------------------------
# per-layer collection through forward hooks
# --------------------------------------------------------------------------------------


def test_layerwise_hooks_match_manual_features():
    """Expected: nc_metrics on the activations computed by calling the layers by hand."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 6), torch.nn.ReLU()
    ).double()
    head = torch.nn.Linear(6, 3).double()
    X = torch.randn(30, 5, dtype=torch.float64)
    y = torch.arange(30) % 3
    loader = [(X[:13], y[:13]), (X[13:], y[13:])]
    W, b = head.weight.detach(), head.bias.detach()
    net.train()
    res = layerwise_nc_metrics(net, loader, ["1", "3"], K=3, classifier=(W, b))
    assert net.training  # restored
    with torch.no_grad():
        h1 = net[1](net[0](X))
        h3 = net[3](net[2](h1))
    check(res["1"], nc_metrics(h1, y), ("NC1", "NC1_cdnv", "NC2_M"), rtol=1e-12)
    check(res["3"], nc_metrics(h3, y, W, b), METRIC_KEYS, rtol=1e-12)
    assert math.isnan(res["1"]["NC4"])
    with pytest.raises(ValueError, match="layers: no submodule named 'nope'"):
        layerwise_nc_metrics(net, loader, ["nope"], K=3)


# --------------------------------------------------------------------------------------
# regression tests: one per known public mistake
# --------------------------------------------------------------------------------------


def two_class_line(a=1.0):
    """The hand-computed data set above: NC1 = a^2 / 2."""
    H = np.array([[-1 - a], [-1 + a], [1 - a], [1 + a]])
    return H, np.array([0, 0, 1, 1])


def test_regression_total_covariance_times_N_over_K_instead_of_Sigma_B():
    """Bug: Sigma_B replaced by (N/K) Sigma_T, Sigma_T the total covariance. On the
    two-class line with a = 1: Sigma_T = a^2 + 1 = 2, N/K = 2, so the buggy NC1 is
    (1 / (2 * 2)) / 2 = 0.125; the right value (hand) is a^2 / 2 = 0.5."""
    H, y = two_class_line(1.0)
    Sw, St = 1.0, np.var(H)  # np.var: (1/N) sum (h - mu_G)^2
    buggy = Sw / ((len(y) / 2) * St) / 2
    assert buggy == pytest.approx(0.125)
    assert nc_metrics(H, y)["NC1"] == pytest.approx(0.5, rel=1e-14)


def test_regression_rank_returned_instead_of_nc1():
    """Bug: the function returned rank(Sigma_B) (= K - 1 = 1 here) instead of NC1.
    Right value (hand): a^2 / 2 = 0.125 for a = 0.5."""
    H, y = two_class_line(0.5)
    Sb = np.array([[1.0]])
    assert np.linalg.matrix_rank(Sb) == 1
    assert nc_metrics(H, y)["NC1"] == pytest.approx(0.125, rel=1e-14)


def test_regression_sigma_B_divided_by_D_instead_of_K():
    """Bug: Sigma_B = (1/D) sum_k ... With D = 6, K = 4 the buggy NC1 is (D/K) times
    the right one; right value from the naive numpy route."""
    H, y = noisy_data(D=6)
    ref = naive(H, y)["NC1"]
    D, K = 6, 4
    buggy = ref * D / K
    ours = nc_metrics(H, y)["NC1"]
    assert ours == pytest.approx(ref, rel=1e-9)
    assert abs(ours - buggy) > 0.4 * ours


def test_regression_fails_when_D_at_most_K_minus_1():
    """Bug: pinv(Sigma_B) through svds(Sigma_B, k=K-1), which needs K - 1 < D and raises
    for D = 2, K = 5. Ours works and agrees with the naive np.linalg.pinv route."""
    H, y = noisy_data(K=5, n=(4, 4, 5, 3, 6), D=2, seed=3)
    mu = np.stack([H[y == k].mean(0) for k in range(5)])
    Sb = np.cov((mu - H.mean(0)).T, bias=True)
    with pytest.raises(ValueError):
        scipy.sparse.linalg.svds(Sb, k=5 - 1)
    assert nc_metrics(H, y)["NC1"] == pytest.approx(naive(H, y)["NC1"], rel=1e-9)


def test_regression_nc4_argmin_of_logits():
    """Bug: prediction = argmin of the logits. On exactly collapsed data with W = means the
    classifier agrees with the nearest mean everywhere: right NC4 = 0; argmin gives 1."""
    K = 3
    M = etf(K, seed=2)
    y = np.repeat(np.arange(K), 4)
    H = M[y]
    logits = H @ M.T
    ncc = np.argmin(((H[:, None, :] - M[None]) ** 2).sum(-1), 1)
    assert np.mean(np.argmin(logits, 1) != ncc) == 1.0
    assert nc_metrics(H, y, W=M)["NC4"] == 0.0


def test_regression_nc2_on_W_versus_class_means_are_reported_separately():
    """W an exact ETF, class means an orthogonal frame (hand construction): NC2_W = 0 while
    NC2_M(ETF target, centred) = 0 too, but uncentred means vs ETF are off. Mixing up W and M
    would report 0 for a model whose features are not an ETF: check NC2_M with target
    orthogonal and uncentred means is 0 and NC2_W with the same target is not."""
    K = 4
    M = np.eye(K)
    W = etf(K, seed=3)
    y = np.repeat(np.arange(K), 2)
    m = nc_metrics(M[y], y, W=W, target="orthogonal")
    assert m["NC2_M"] == pytest.approx(0.0, abs=1e-14)
    # hand value: |(I - J/K)/sqrt(K-1) - I/sqrt(K)|_F for the ETF Gram vs orthogonal target
    E = (np.eye(K) - np.ones((K, K)) / K) / math.sqrt(K - 1)
    assert m["NC2_W"] == pytest.approx(np.linalg.norm(E - np.eye(K) / 2), rel=1e-12)


def test_regression_centred_versus_uncentred_means():
    """Bias-free MSE optimum: uncentred class means form an orthogonal frame. Centring them
    (the usual default) turns the Gram into I - J/K, whose distance to the orthogonal target
    is |E - I/2|_F for K = 4, E = (I - J/4)/sqrt 3; by hand |E - I/2|^2 = 2 - 2 <E, I/2>
    = 2 - tr(E) = 2 - sqrt 3, so the wrong value is 0.51764. Ours, with target
    'orthogonal', leaves the means uncentred by default and reports 0."""
    K = 4
    M = 2.5 * np.eye(K)
    y = np.repeat(np.arange(K), 3)
    E = (np.eye(K) - np.ones((K, K)) / K) / math.sqrt(K - 1)
    wrong = np.linalg.norm(E - np.eye(K) / 2)
    assert wrong == pytest.approx(math.sqrt(2 - math.sqrt(3)), rel=1e-12)
    assert nc_metrics(M[y], y, target="orthogonal")["NC2_M"] == pytest.approx(0.0, abs=1e-14)
    forced = nc_metrics(M[y], y, target="orthogonal", center_means=True)["NC2_M"]
    assert forced == pytest.approx(wrong, rel=1e-12)


def test_regression_biased_versus_unbiased_estimates():
    """Papyan et al. use 1/N for Sigma_W and 1/K for Sigma_B. On the two-class line (a = 1)
    the per-class unbiased Sigma_W (1/(n_k - 1)) is 2 and NC1 would be 1.0; with Sigma_B
    also unbiased (1/(K-1)) it is 0.5 by accident; the right value (hand) is 0.5 and our
    CDNV (hand, 1/n_k variances) is a^2/4 = 0.25, not 0.5."""
    H, y = two_class_line(1.0)
    Sw_unbiased = sum(np.var(H[y == k], ddof=1) * 1 for k in (0, 1)) / 2
    assert Sw_unbiased / 1.0 / 2 == pytest.approx(1.0)
    m = nc_metrics(H, y)
    assert m["NC1"] == pytest.approx(0.5, rel=1e-14)
    assert m["NC1_cdnv"] == pytest.approx(0.25, rel=1e-14)


def test_regression_etf_target_everywhere():
    """Everyone compares with the simplex ETF. At the bias-free MSE optimum (orthogonal
    frame) that reports a positive distance; at the imbalanced MSE optimum (orthogonal,
    lengths l_k) the right target is diag(l_k^2); for K = 4 > d + 1 = 3
    the optimum is a generalized code, e.g. the square in R^2 (Gram [[1,0,-1,0],...])."""
    K = 4
    lengths = np.array([3.0, 2.0, 1.0, 0.5])
    M = np.diag(lengths)
    y = np.repeat(np.arange(K), 2)
    assert nc_metrics(M[y], y, target="orthogonal")["NC2_M"] > 0.1
    assert nc_metrics(M[y], y, target=np.diag(lengths**2))["NC2_M"] == pytest.approx(0, abs=1e-14)
    sq = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    G = sq @ sq.T
    assert nc_metrics(sq[y], y, target="etf")["NC2_M"] > 0.1
    assert nc_metrics(sq[y], y, target=G)["NC2_M"] == pytest.approx(0, abs=1e-14)


def test_regression_no_per_class_DxD_covariances():
    """D = 60,000: one D x D float64 matrix would take 28.8 GB, K of them far more. Ours
    stores K x D; expected NC1 by hand: two classes at +-e_1 with noise only along e_2 and
    e_1. Construction: class 0: -e_1 +- a e_1, class 1: e_1 +- a e_1 (as the line above)."""
    D, a = 60_000, 0.5
    H1, y = two_class_line(a)
    H = np.zeros((4, D))
    H[:, :1] = H1
    assert nc_metrics(H, y)["NC1"] == pytest.approx(a**2 / 2, rel=1e-12)
