"""Tests of ``ncproofs metrics FILE.npz`` through ncproofs.metrics_cli (add_arguments/run).

Expected values: the hand-computed two-class line (NC1 = a^2/2, CDNV = a^2/4) and, for
error cases, the one-line message naming the problem with exit code 2.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from ncproofs.metrics_cli import add_arguments, run


def call(argv, capsys):
    p = argparse.ArgumentParser()
    add_arguments(p)
    rc = run(p.parse_args(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def line_data(a=0.5):
    H = np.array([[-1 - a], [-1 + a], [1 - a], [1 + a]])
    return {"H": H, "y": np.array([0, 0, 1, 1]), "W": np.array([[-1.0], [1.0]])}


def save(tmp_path, **arrays):
    f = tmp_path / "feat.npz"
    np.savez(f, **arrays)
    return str(f)


def test_json_output_hand_values(tmp_path, capsys):
    f = save(tmp_path, **line_data(0.5))
    rc, out, err = call([f, "--json"], capsys)
    assert rc == 0 and err == ""
    d = json.loads(out)
    for k in ("NC1", "NC1_cdnv", "NC2_W", "NC2_M", "NC3", "NC4", "bias", "conventions"):
        assert k in d
    assert d["NC1"] == pytest.approx(0.125, rel=1e-14)
    assert d["NC1_cdnv"] == pytest.approx(0.0625, rel=1e-14)
    assert d["NC4"] == 0.0
    assert (d["N"], d["D"], d["K"]) == (4, 1, 2)
    assert "Sigma_B" in d["conventions"]


def test_without_W_gives_nulls_and_text_output(tmp_path, capsys):
    data = line_data()
    del data["W"]
    f = save(tmp_path, **data)
    rc, out, _ = call([f, "--json"], capsys)
    d = json.loads(out)
    assert rc == 0 and d["NC4"] is None and d["NC2_W"] is None
    rc, out, _ = call([f], capsys)
    assert rc == 0 and "NC1" in out and "no W in the file" in out


def test_explicit_target_from_the_file(tmp_path, capsys):
    K = 3
    M = np.diag([3.0, 2.0, 1.0])
    y = np.repeat(np.arange(K), 2)
    f = save(tmp_path, H=M[y], y=y, G=M @ M.T)
    rc, out, _ = call([f, "--json", "--target", "G"], capsys)
    d = json.loads(out)
    assert rc == 0 and d["NC2_M"] == pytest.approx(0.0, abs=1e-14)
    assert "explicit" in d["conventions"]["NC2_target"]


@pytest.mark.parametrize(
    "arrays,message",
    [
        ({"H": np.zeros((4, 2))}, "missing key(s) y"),
        ({"H": np.zeros((4, 2)), "y": np.array([0, 1, 1])}, "y: has 3 labels but H has 4 rows"),
        ({"H": np.eye(4), "y": np.array([0, 0, 2, 2])}, "y: class 1 has no samples"),
        ({"H": np.array([[np.nan], [1], [2], [3]]), "y": np.array([0, 0, 1, 1])}, "H: contains"),
        ({"H": np.eye(4), "y": np.array([0, 0, 1, 1]), "W": np.eye(3)}, "W: shape (3, 3)"),
        ({"H": np.eye(4), "y": np.array([0, 0, 1, 1]), "W": np.eye(2, 4), "b": np.ones(3)}, "b:"),
        ({"H": np.eye(4), "y": np.array(["a", "b", "a", "b"])}, "y: expected integer"),
    ],
)
def test_bad_files_exit_2_with_one_line(tmp_path, capsys, arrays, message):
    f = save(tmp_path, **arrays)
    rc, out, err = call([f, "--json"], capsys)
    assert rc == 2 and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_missing_and_corrupt_files(tmp_path, capsys):
    rc, _, err = call([str(tmp_path / "nope.npz")], capsys)
    assert rc == 2 and "no such file" in err
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    rc, _, err = call([str(bad)], capsys)
    assert rc == 2 and "not a readable .npz" in err
    f = save(tmp_path, **line_data())
    rc, _, err = call([f, "--target", "G"], capsys)
    assert rc == 2 and "--target" in err
