"""`ncproofs certify-point` / ncproofs.certify_point (issue 14, item 2).

Routes: the value at a point is checked against the objective recomputed in numpy from
its definition (1/N) sum 1/2|W h_i - e_{y_i}|^2 + lam_W/2|W|^2 + lam_H/2|H|^2; the optimum
against ufm-mse's published formula f* = kappa - kappa^2/2 (Zhou et al. 2022, bias-free,
kappa = K sqrt(n lam_W lam_H)), evaluated in floats here."""

from __future__ import annotations

import json
import math
import subprocess

import numpy as np
import pytest

import ncproofs
from ncproofs.cli import main
from ncproofs.theorems.base import get_theorem

K, N_PER, D, LAM_W, LAM_H = 4, 3, 5, 3e-3, 7e-3
PARAMS = {"lam_W": "3e-3", "lam_H": "7e-3"}


def optimum_point() -> dict[str, np.ndarray]:
    """The closed-form minimizer of ufm-mse (bias-free), expanded to every sample."""
    theorem = get_theorem("ufm-mse")
    spec = theorem.spec({"K": K, "n": N_PER, "d": D, **PARAMS, "bias": "false"})
    point = theorem.closed_form(spec).point
    H = np.repeat(point.arrays["H"], point.counts, axis=1).T  # N x d, samples as rows
    return {"H": H, "y": np.repeat(np.arange(K), N_PER), "W": point.arrays["W"]}


def numpy_objective(p: dict[str, np.ndarray]) -> float:
    Z = p["H"] @ p["W"].T
    target = np.eye(K)[p["y"]]
    data = 0.5 * ((Z - target) ** 2).sum(axis=1).mean()
    return data + LAM_W / 2 * (p["W"] ** 2).sum() + LAM_H / 2 * (p["H"] ** 2).sum()


def published_optimum() -> float:
    kappa = K * math.sqrt(N_PER * LAM_W * LAM_H)
    return kappa - kappa**2 / 2


def gap_of(report) -> float:
    """The gap key depends on the certificate's status (certified or conditional)."""
    status = report["optimum"]["status"]
    assert status in ("certified", "conditional"), status
    key = "gap_to_optimum" if status == "certified" else "gap_to_optimum_if_assumptions_hold"
    assert ("gap_to_optimum" in report) == (status == "certified")
    return report[key]


def test_the_optimum_itself_has_gap_about_zero():
    p = optimum_point()
    report = ncproofs.certify_point("ufm-mse", p, **PARAMS)
    assert report["params"]["K"] == K and report["params"]["n"] == N_PER  # read from arrays
    f_star = published_optimum()
    assert report.value_lower_bound <= f_star + 1e-14
    assert report.value_upper_bound >= f_star - 1e-14
    assert 0 <= gap_of(report) < 1e-12
    assert report["metrics"]["NC1"] < 1e-20


@pytest.mark.parametrize("scale", [1.1, 0.5])
def test_a_scaled_point_has_the_hand_computed_gap(scale):
    p = optimum_point()
    p["W"] = p["W"] * scale
    report = ncproofs.certify_point("ufm-mse", p, **PARAMS)
    value = numpy_objective(p)
    assert report.value_lower_bound - 1e-14 <= value <= report.value_upper_bound + 1e-14
    expected_gap = value - published_optimum()
    assert expected_gap > 1e-4  # a real distance, not rounding
    assert gap_of(report) == pytest.approx(expected_gap, rel=1e-9, abs=1e-13)
    assert gap_of(report) >= expected_gap - 1e-14  # an upper bound


def test_sample_order_does_not_matter():
    p = optimum_point()
    rng = np.random.default_rng(0)
    p["H"] = p["H"] + 1e-3 * rng.standard_normal(p["H"].shape)
    perm = rng.permutation(len(p["y"]))
    shuffled = {"H": p["H"][perm], "y": p["y"][perm], "W": p["W"]}
    a = ncproofs.certify_point("ufm-mse", p, **PARAMS)
    b = ncproofs.certify_point("ufm-mse", shuffled, **PARAMS)
    assert a.value_upper_bound == pytest.approx(b.value_upper_bound, rel=1e-15)
    assert numpy_objective(p) <= a.value_upper_bound + 1e-15


def run_cli(capsys, *argv: str) -> subprocess.CompletedProcess:
    """The CLI in this process (a subprocess would pay torch's import for every case)."""
    code = main(["certify-point", *argv])
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(argv, code, captured.out, captured.err)


def test_cli_json(tmp_path, capsys):
    path = tmp_path / "point.npz"
    np.savez(path, **optimum_point())
    proc = run_cli(capsys, "ufm-mse", str(path), "-p", "lam_W=3e-3", "-p", "lam_H=7e-3", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {"value_lower_bound", "value_upper_bound", "optimum", "metrics"} <= set(out)
    assert out["optimum"]["lower_bound"] <= published_optimum() + 1e-14


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda p: p.update(y=p["y"][:-1]), "y has 11 labels but H has 12 rows"),
        (lambda p: p.update(W=p["W"][:, :3]), "W: shape (4, 3) does not match H with d = 5"),
        (lambda p: p.pop("W"), "the point needs W (K x d) or W1..WL"),
        (lambda p: p.update(H=p["H"] * np.nan), "H: contains NaN or inf"),
        (lambda p: p.update(y=np.where(p["y"] == 3, 2, p["y"])), "class(es) [3] have no sample"),
        (lambda p: p.update(b=np.zeros(3)), "b: expected 4 entries"),
    ],
)
def test_bad_points_are_one_line_errors(tmp_path, capsys, change, message):
    p = optimum_point()
    change(p)
    path = tmp_path / "point.npz"
    np.savez(path, **p)
    proc = run_cli(capsys, "ufm-mse", str(path), "-p", "lam_W=3e-3", "-p", "lam_H=7e-3")
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


def test_parameters_that_contradict_the_point(tmp_path, capsys):
    path = tmp_path / "point.npz"
    np.savez(path, **optimum_point())
    proc = run_cli(capsys, "ufm-mse", str(path), "-p", "lam_W=3e-3", "-p", "lam_H=7e-3",
                   "-p", "K=5")
    assert proc.returncode == 2 and "K = 5 but the point has K = 4" in proc.stderr
    proc = run_cli(capsys, "ufm-mse", str(tmp_path / "missing.npz"), "-p", "lam_W=1")
    assert proc.returncode == 2 and "no such file" in proc.stderr


def test_deep_point():
    """deep-linear-mse: the closed-form W1, W2, H evaluated as a user's point; the value
    must match the theorem's own interval value of that point (same objective, other
    route: class-mean columns with multiplicities instead of every sample)."""
    theorem = get_theorem("deep-linear-mse")
    params = {"K": 3, "n": 2, "d": 3, "lam_W": "0.01", "lam_H": "0.01", "L": 2}
    spec = theorem.spec(params)
    point = theorem.closed_form(spec).point
    arrays = {k: v for k, v in point.arrays.items() if k.startswith("W")}
    arrays["H"] = np.repeat(point.arrays["H"], point.counts, axis=1).T
    arrays["y"] = np.repeat(np.asarray(point.labels), point.counts)
    report = ncproofs.certify_point("deep-linear-mse", arrays, lam_W="0.01", lam_H="0.01")
    reference = theorem.upper_bound(spec, point)
    assert report.value_upper_bound == pytest.approx(float(reference.mid()), rel=1e-12)
    assert report["params"]["L"] == 2
