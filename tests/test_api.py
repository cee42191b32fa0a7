"""The public Python API (issue 14, item 1): repeatable calls, dict and keyword forms,
typed results whose to_dict()/to_json() match the CLI's JSON."""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

import ncproofs
from ncproofs.cli import main

PARAMS = {"K": 4, "n": 3, "d": 5, "lam_W": "3e-3", "lam_H": "7e-3", "lam_b": "1e-2"}
QUICK = {"solve": False, "landscape": False}


def without_seconds(x):
    """Drop run times (they differ between two runs) from nested report data."""
    if isinstance(x, dict):
        return {k: without_seconds(v) for k, v in x.items() if k != "seconds"}
    return x


def test_verify_is_repeatable_in_one_process():
    """Regression: the second call raised "'module' object is not callable" (the
    submodule ncproofs.verify shadowed the function once imported)."""
    first = ncproofs.verify("ufm-ce", PARAMS, **QUICK)
    for name in ("ncproofs.pipeline", "ncproofs.derive.reduction", "ncproofs.theorems.base",
                 "ncproofs.certify.certificate"):
        importlib.import_module(name)  # importing submodules must not shadow the API

    second = ncproofs.verify("ufm-ce", **PARAMS, **QUICK)
    assert callable(ncproofs.verify) and callable(ncproofs.derive)
    assert callable(ncproofs.theorems)
    assert without_seconds(first["certificate"]) == without_seconds(second["certificate"])
    assert first.status == second.status
    # the claimed value is Zhu et al.'s formula; recompute it independently in floats
    t = math.sqrt(3 * 3e-3 * 7e-3)
    f_star = -math.log(1 - 3 * t) + 3 * t * math.log((1 - 3 * t) / t)
    assert abs(first.objective - f_star) < 1e-12
    assert first.lower_bound <= f_star + 1e-12 <= first.upper_bound + 2e-12


def test_report_matches_cli_json(capsys):
    report = ncproofs.verify("ufm-ce", PARAMS, **QUICK)
    argv = ["verify", "ufm-ce", *[a for k, v in PARAMS.items() for a in ("-p", f"{k}={v}")],
            "--no-solve", "--no-landscape", "--json", "--quiet"]
    assert main(argv) == 0
    cli = json.loads(capsys.readouterr().out)
    api = report.to_dict()
    assert set(api) == set(cli)
    for key in set(api) - {"timings", "estimates"}:
        assert without_seconds(api[key]) == without_seconds(cli[key]), key
    assert json.loads(report.to_json()) == api
    assert isinstance(report, dict) and report["verdict"]["status"] == report.verdict


def test_typed_properties():
    report = ncproofs.verify("ufm-ce", PARAMS, **QUICK)
    assert report.theorem == "ufm-ce" and report.params["K"] == 4
    assert report.status in ("certified", "conditional")
    assert report.certified == (report.status == "certified")
    assert report.gap == pytest.approx(report.upper_bound - report.lower_bound, abs=1e-15)
    assert report.skipped == {} and isinstance(report.warnings, list)


def test_parameter_forms_and_errors():
    with pytest.raises(ncproofs.SpecError, match="given twice"):
        ncproofs.verify("ufm-ce", {"K": 4}, K=4)
    with pytest.raises(ncproofs.SpecError, match=r"missing parameters n .*; d .*; lam_W"):
        ncproofs.verify("ufm-ce", K=4)
    with pytest.raises(ncproofs.SpecError, match="unknown theorem"):
        ncproofs.verify("no-such-theorem", K=4)


def test_theorems_and_derive():
    infos = ncproofs.theorems()
    ids = [t.id for t in infos]
    assert ids == sorted(ids) and "ufm-ce" in ids
    ufm = next(t for t in infos if t.id == "ufm-ce")
    names = [p.name for p in ufm.parameters]
    assert names[:3] == ["K", "n", "d"]
    lam_b = next(p for p in ufm.parameters if p.name == "lam_b")
    assert not lam_b.required and lam_b.default == 0
    assert json.loads(ufm.to_json())["id"] == "ufm-ce"
    symbolic = ncproofs.derive("ufm-ce")
    assert symbolic.params is None and "Stationarity" in symbolic.text()
    at_point = ncproofs.derive("ufm-ce", K=3, n=2, d=2, lam_W="0.1", lam_H="0.1")
    assert at_point.params["K"] == 3 and "\\" in at_point.latex()
    assert ncproofs.list_theorems() == infos


def test_nc_metrics_of_an_exact_etf():
    """Class means at the vertices of a simplex ETF, no within-class spread: NC1 = 0 and
    NC2_M = 0 (route: the ETF is built by hand, I - 11^T/K)."""
    K = 4
    M = np.eye(K) - np.ones((K, K)) / K
    H = np.repeat(M, 3, axis=0)
    y = np.repeat(np.arange(K), 3)
    m = ncproofs.nc_metrics(H, y, M, None)
    assert m["NC1"] == pytest.approx(0, abs=1e-12)
    assert m["NC2_M"] == pytest.approx(0, abs=1e-12)
    assert m["NC3"] == pytest.approx(0, abs=1e-12)


def test_py_typed_is_shipped():
    assert (Path(ncproofs.__file__).parent / "py.typed").is_file()
    text = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert '"py.typed"' in text
