"""The independent proof checker (ncproofs/check): every exportable default case round-trips
through a proof file, every tampering is caught, the checker imports nothing from the
engines, and bad input gives one-line errors (exit 2)."""

from __future__ import annotations

import ast
import copy
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import flint
import numpy as np
import pytest

from ncproofs.certify.frames import FramePoint
from ncproofs.certify.upper import interval_objective
from ncproofs.check import core
from ncproofs.losses import LabelSmoothingCE, get_loss
from ncproofs.pipeline import verify
from ncproofs.theorems.base import load_all

CHECK_DIR = Path(core.__file__).parent


@pytest.fixture(scope="module")
def proof_dir(tmp_path_factory) -> Path:
    """verify --no-solve --no-landscape with a proof file for every default case of every
    theorem the checker covers: every certified case gets a file, a conditional one gets a
    file or says why not (ufm-focal's reduction path is not a checker kind)."""
    out = tmp_path_factory.mktemp("proofs")
    registry = load_all()
    for theorem_id in sorted(core.THEOREMS):
        for index, case in enumerate(registry[theorem_id].default_cases):
            path = out / f"{theorem_id}-{index}.json"
            report = verify(theorem_id, case["params"], solve=False, landscape=False,
                            certificate_out=str(path))
            status = report["certificate"]["status"]
            if status == "certified" or (status == "conditional"
                                         and report["proof_file"] is not None):
                assert report["proof_file"] == str(path), report.get("proof_file_note")
            elif status == "conditional":
                assert "no proof file for method" in report["proof_file_note"]
            else:
                assert report["proof_file"] is None and not path.exists()
    return out


def run_check(*paths) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ncproofs.cli", "check", *map(str, paths)],
                          capture_output=True, text=True, timeout=120)


def test_every_exported_default_case_checks(proof_dir):
    files = sorted(proof_dir.glob("*.json"))
    # every theorem the checker covers has at least one certified/conditional default case
    assert {f.name.rsplit("-", 1)[0] for f in files} == set(core.THEOREMS)
    result = run_check(*files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("OK ") == len(files)


def _tampered(proof_dir: Path, tmp_path: Path, name: str, change) -> Path:
    data = json.loads((proof_dir / name).read_text())
    change(data)
    path = tmp_path / ("tampered-" + name)
    path.write_text(json.dumps(data))
    return path


def _scale_hex(text: str, factor: float) -> str:
    return float.hex(float.fromhex(text) * factor)


def _set(path: tuple, value):
    def change(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value(target[path[-1]]) if callable(value) else value
    return change


# (file, what is changed, change, word the one-line failure must contain)
TAMPERS = [
    ("ufm-ce-0.json", "param lam_W", _set(("params", "lam_W"), "3.03e-3"), "gap"),
    ("ufm-ce-0.json", "param K", _set(("params", "K"), "5"), ""),
    ("ufm-ce-0.json", "param n", _set(("params", "n"), "4"), ""),
    ("ufm-ce-0.json", "param d too small for the frame", _set(("params", "d"), "3"), "point"),
    ("ufm-ce-0.json", "frame scale alpha", _set(("point", "alpha"),
                                                lambda x: _scale_hex(x, 1.01)), "gap"),
    ("ufm-ce-0.json", "frame kind", _set(("point", "frame"), "standard-basis"), ""),
    ("ufm-ce-0.json", "dual q above the feasible range",
     _set(("lower", "q"), lambda q: str(Fraction(q) * 2)), "lower bound"),
    ("ufm-ce-0.json", "dual q lowered", _set(("lower", "q"), lambda q: str(Fraction(q) / 2)),
     "gap"),
    ("ufm-ce-0.json", "claimed expression", _set(("claimed", "expression"),
                                                 lambda e: f"({e}) + 1/10**6"),
     "claimed"),
    ("ufm-ce-0.json", "claimed enclosure", _set(("claimed", "enclosure"), ["0.1", "0.12"]),
     "claimed"),
    ("ufm-ce-3.json", "claimed expression (origin)", _set(("claimed", "expression"), "log(5)"),
     "claimed"),
    ("ufm-ce-1.json", "dense W entry", _set(("point", "W", 0, 0),
                                            lambda x: _scale_hex(x, 1.01)), "gap"),
    ("ufm-ce-1.json", "bias added to a bias-free model", _set(("point", "b"), ["0x0.0p+0"] * 3),
     "bias"),
    ("ufm-ls-0.json", "smoothing alpha", _set(("params", "alpha"), "0.11"), ""),
    ("ufm-mse-1.json", "MSE dual entry", _set(("lower", "Y", 0, 1),
                                              lambda y: str(Fraction(y) * 2 + 1)), ""),
    ("ufm-mse-1.json", "free bias of MSE", _set(("params", "lam_b"), "0.5"), "gap"),
    ("ufm-mse-imbalanced-0.json", "imbalanced counts", _set(("params", "n"), "6,3,2"), ""),
    ("ufm-ce-imbalanced-0.json", "CE dense dual column",
     _set(("lower", "P_columns", 0, 0), lambda x: str(Fraction(x) + Fraction(1, 100))),
     "probability"),
    ("ufm-ce-imbalanced-0.json", "dense point H entry",
     _set(("point", "H", 0, 0), lambda x: _scale_hex(x, 1.05)), "gap"),
    ("sphere-ce-0.json", "temperature", _set(("params", "tau"), "2.01"), ""),
    ("sphere-ce-0.json", "sphere point", _set(("point", "H", 0, 0),
                                             lambda x: _scale_hex(x, -1.0)), "gap"),
    ("deep-linear-mse-1.json", "depth L", _set(("params", "L"), "3"), ""),
    ("deep-linear-mse-1.json", "deep lam_H", _set(("params", "lam_H"), "5.1e-4"),
     "lower bound"),
    ("deep-linear-mse-1.json", "a stationary interval dropped",
     _set(("lower", "stationary_intervals", 0), lambda ivs: ivs[:1]), "roots of P"),
    ("deep-linear-mse-1.json", "a stationary interval moved off its root",
     _set(("lower", "stationary_intervals", 0, 1), ["1/2", "3/5"]), "sign change"),
    ("deep-linear-mse-1.json", "CRootOf index in the claimed value",
     _set(("claimed", "expression"), lambda e: e.replace(", 1)", ", 0)", 1)), "claimed"),
    ("deep-linear-mse-2.json", "deep layer entry", _set(("point", "W", 0, 0, 0),
                                                        lambda x: _scale_hex(x, 1.01)), "gap"),
    ("multilabel-ce-1.json", "label-set counts", _set(("params", "n"), "3,2"), ""),
    ("multilabel-ce-1.json", "largest label-set size m", _set(("params", "m"), "3"), ""),
    ("multilabel-ce-1.json", "PAL dual q above the feasible range",
     _set(("lower", "q", 0), lambda q: str(Fraction(q) * 3)), "lower bound"),
    ("multilabel-ce-1.json", "multi-label point", _set(("point", "H", 0, 0),
                                                       lambda x: _scale_hex(x, 1.02)), "gap"),
    # margin codes (sphere-gnc): the lemma, its range, the code, the claim
    ("sphere-gnc-0.json", "margin lemma swapped (weaker bound)",
     _set(("lower", "lemma"), "radon-convexity"), "gap"),
    ("sphere-gnc-1.json", "margin lemma outside its range",
     _set(("lower", "lemma"), "radon-convexity"), "K >= d"),
    ("sphere-gnc-0.json", "code dimension", _set(("params", "d"), "3"), ""),
    ("sphere-gnc-2.json", "codeword flipped onto another",
     _set(("point", "W", 0, 0), lambda x: _scale_hex(x, -1.0)), "gap"),
    ("sphere-gnc-0.json", "claimed margin", _set(("claimed", "expression"),
                                                 "-1 + cos(2*pi/6)"), "claimed"),
    # deep MSE scalar roots: Frobenius vs per-class, ReLU needs a reduction
    ("dufm-lowrank-2.json", "per-class bound on a ReLU model",
     _set(("lower", "bound"), "per-class"), "linear layers only"),
    ("dufm-binary-1.json", "weight decay below the zero regime",
     _set(("params", "lam_W"), "0.01"), ""),
    ("eufm-relu-2.json", "conditional relabelled certified (reduction dropped)",
     lambda d: d.update(status="certified", assumptions=[
         a for a in d["assumptions"] if a["kind"] == "lemma"]), "linear layers only"),
    ("eufm-relu-0.json", "ReLU switched on", _set(("params", "relu"), "true"),
     "linear layers only"),
    ("eufm-relu-0.json", "extra-layer decay lam_W1", _set(("params", "lam_W1"), "6e-3"), ""),
    ("eufm-relu-0.json", "extended point entry", _set(("point", "W", 1, 0, 0),
                                                      lambda x: _scale_hex(x, 1.01)), "gap"),
    # deep linear CE: the 1-D cover
    ("deep-linear-ce-1.json", "cover truncated", _set(("lower", "breaks"),
                                                      lambda b: b[:3]), "gap"),
    ("deep-linear-ce-1.json", "cover not starting at 0", _set(("lower", "breaks"),
                                                              lambda b: b[1:]), "breaks"),
    ("deep-linear-ce-1.json", "deep CE lam_H", _set(("params", "lam_H"), "5.1e-3"), ""),
    ("deep-linear-ce-1.json", "deep CE point", _set(("point", "H", 1, 0),
                                                    lambda x: _scale_hex(x, 1.01)), "gap"),
    # deep linear CE, K = 3: the branch and bound over B, re-bounded leaf by leaf
    ("deep-linear-ce-2.json", "B-partition leaf dropped",
     lambda d: d["lower"]["leaves"].pop(7), "tile"),
    ("deep-linear-ce-2.json", "B-partition leaf shifted",
     _set(("lower", "leaves", 3, 1), lambda x: _scale_hex(x, 1.01)), "tile"),
    ("deep-linear-ce-2.json", "B-domain upper raised",
     _set(("lower", "domain_upper"), lambda u: str(Fraction(u) * 2)), "b_max"),
    ("deep-linear-ce-2.json", "B-domain bound doubled",
     _set(("lower", "b"), lambda x: _scale_hex(x, 2)), "tile"),
    ("deep-linear-ce-2.json", "B-search lam_W", _set(("params", "lam_W"), "4.9e-3"), ""),
    ("deep-linear-ce-2.json", "B-search class count",
     _set(("params", "K"), "4"), ""),
    ("deep-linear-ce-2.json", "B-search point", _set(("point", "H", 0, 0),
                                                    lambda x: _scale_hex(x, 1.01)), "gap"),
    # two-layer ReLU net: exact dual, regenerated data, the network
    ("relu2-convex-0.json", "dual point doubled",
     _set(("lower", "lam"), lambda lam: [str(Fraction(x) * 2) for x in lam]), "infeasible"),
    ("relu2-convex-0.json", "weight decay beta", _set(("params", "lam_W"), "2.1"), ""),
    ("relu2-convex-0.json", "points per class", _set(("params", "n"), "5"), ""),
    ("relu2-convex-0.json", "width below the network", _set(("params", "d"), "1"), "width"),
    ("relu2-convex-0.json", "network output weight", _set(("point", "a", 0),
                                                         lambda x: _scale_hex(x, 1.01)), "gap"),
    # focal loss: the convex-minorant bracket
    ("ufm-focal-0.json", "focal bracket collapsed to the origin",
     lambda d: d["lower"].update(a_lo="0", a_hi="0"), "bracket"),
    ("ufm-focal-0.json", "focal bracket shifted past the minimum",
     lambda d: d["lower"].update(a_lo=str(Fraction(d["lower"]["a_hi"]) * 2),
                                 a_hi=str(Fraction(d["lower"]["a_hi"]) * 3)), "bracket"),
    ("ufm-focal-0.json", "focusing parameter gamma", _set(("params", "gamma"), "2.1"), ""),
    ("ufm-focal-1.json", "focal point entry", _set(("point", "W", 0, 0), lambda x: "0x1p-4"),
     "gap"),
    ("ufm-ce-0.json", "status certified over a reduction",
     lambda d: d.update(status="certified", assumptions=[
         {"text": "t", "kind": "reduction", "reference": ""}]), "status"),
    ("ufm-ce-0.json", "status conditional without a reduction",
     lambda d: d.update(status="conditional", assumptions=[
         {"text": "t", "kind": "lemma", "reference": ""}]), "status"),
]


@pytest.mark.parametrize("name,what,change,word", TAMPERS, ids=[t[1] for t in TAMPERS])
def test_tampering_is_caught(proof_dir, tmp_path, name, what, change, word):
    path = _tampered(proof_dir, tmp_path, name, change)
    with pytest.raises(core.CheckFailure, match=word or None):
        core.check(core.load(str(path)))


def test_cli_failure_is_one_line_exit_1(proof_dir, tmp_path):
    path = _tampered(proof_dir, tmp_path, "ufm-ce-0.json", _set(("params", "lam_W"), "4e-3"))
    result = run_check(path)
    assert result.returncode == 1
    assert result.stdout.strip().count("\n") == 0 and "FAILED" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("problem", ["missing", "json", "theorem", "lower", "version"])
def test_bad_input_exit_2(proof_dir, tmp_path, problem):
    path = tmp_path / "bad.json"
    data = json.loads((proof_dir / "ufm-ce-0.json").read_text())
    if problem == "json":
        path.write_text("{not json")
    elif problem == "theorem":
        data["theorem"] = "ufm-nonsense"
    elif problem == "lower":
        data["lower"]["kind"] = "magic-dual"
    elif problem == "version":
        data["format_version"] = core.FORMAT_VERSION + 1
    if problem not in ("missing", "json"):
        path.write_text(json.dumps(data))
    result = run_check(path)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- independence

FORBIDDEN = ["torch", "cvxpy", "sympy", "numpy", "scipy", "mpmath", "ncproofs.certify",
             "ncproofs.solve", "ncproofs.derive", "ncproofs.theorems", "ncproofs.pipeline",
             "ncproofs.losses", "ncproofs.geometry", "ncproofs.metrics", "ncproofs.proof",
             "ncproofs.report"]


def test_checker_runs_with_engines_blocked(proof_dir):
    """Poison sys.modules so that importing any engine or heavy library raises, then check
    every file and list which package modules were loaded."""
    script = (
        "import sys\n"
        f"for name in {FORBIDDEN!r}: sys.modules[name] = None\n"
        "from ncproofs.check.cli import main\n"
        f"rc = main({[str(p) for p in sorted(proof_dir.glob('*.json'))]!r})\n"
        "print(sorted(m for m, v in sys.modules.items() if v and m.startswith('ncproofs')))\n"
        "sys.exit(rc)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    loaded = set(ast.literal_eval(result.stdout.strip().splitlines()[-1]))
    # ncproofs/__init__ loads the public API's light modules (api, results: standard library
    # only, engines imported lazily); every engine above is poisoned and was not needed
    assert loaded <= {"ncproofs", "ncproofs.spec", "ncproofs.exact", "ncproofs.check",
                      "ncproofs.check.core", "ncproofs.check.cli", "ncproofs.api",
                      "ncproofs.results"}


def test_checker_imports_by_ast():
    """Only the standard library, flint and ncproofs.exact; and small enough to audit."""
    allowed_top = {"__future__", "argparse", "ast", "json", "sys", "fractions", "typing",
                   "itertools", "math",
                   "flint"}
    total_lines = 0
    for path in CHECK_DIR.glob("*.py"):
        source = path.read_text()
        total_lines += source.count("\n")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                assert {a.name.split(".")[0] for a in node.names} <= allowed_top, path
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: only the exact parser or the checker's own modules
                    assert (node.level == 2 and node.module == "exact") or \
                        (node.level == 1 and node.module == "core"), (path, node.module)
                else:
                    assert node.module.split(".")[0] in allowed_top, (path, node.module)
    # the issue aimed at <= 800 lines for every certificate kind; covering 15 theorems with
    # 11 lower-bound and 7 point kinds took ~1095 (docstrings state each bound's math; the
    # schatten-dual kind re-solves its inner problems and checks a bisection tiling, ~150):
    # the guard keeps it from growing further unnoticed
    assert total_lines <= 1100, total_lines


# --------------------------------------------------------------------------- structured points


@pytest.mark.parametrize("frame", ["centred-basis", "standard-basis", "zero"])
@pytest.mark.parametrize("loss", [get_loss("ce"), get_loss("mse"),
                                  LabelSmoothingCE(alpha=Fraction(1, 5))])
def test_frame_value_matches_the_dense_product(frame, loss):
    """The O(K) frame formula (engine and checker) against the dense interval product at
    the materialized point (an independent route: W H in arb_mat)."""
    K, d, counts = 5, 7, (3, 1, 2, 2, 4)
    lam_W, lam_H, lam_b = Fraction(3, 1000), Fraction(7, 1000), Fraction(1, 50)
    point = FramePoint(frame, K, d, 1.7, 0.6, -0.25, counts)
    a = point.arrays
    dense = interval_objective(loss, a["W"], a["H"], a["b"], point.labels, counts,
                               lam_W, lam_H, lam_b)
    structured = point.interval_objective(loss, lam_W, lam_H, lam_b)
    assert abs(float(dense.mid()) - float(structured.mid())) < 1e-13
    params = {"K": K, "n": ",".join(map(str, counts)), "d": d, "lam_W": "3e-3",
              "lam_H": "7e-3", "lam_b": "0.02", "bias": "true"}
    name = {"ce": "ufm-ce", "mse": "ufm-mse", "ls": "ufm-ls"}[loss.name]
    if name == "ufm-ls":
        params["alpha"] = "0.2"
    p = core.parse_params(name, {k: str(v) for k, v in params.items()})
    checker_frame = core.upper_frame(point.as_proof(), p, core.THEOREMS[name]["loss"])
    dense_proof = {"kind": "dense", "W": [[float.hex(x) for x in r] for r in a["W"]],
                   "H": [[float.hex(x) for x in r] for r in a["H"]],
                   "b": [float.hex(x) for x in a["b"]]}
    checker_dense = core.upper_dense(dense_proof, p, core.THEOREMS[name]["loss"])
    for value in (checker_frame, checker_dense):
        assert abs(float(value.mid()) - float(dense.mid())) < 1e-13


def test_large_frame_point_is_never_materialized():
    """K = d = 10^5: the certificate path evaluates the frame in O(K); building the dense
    arrays would need 80 GB."""
    from ncproofs.theorems.base import get_theorem

    theorem = get_theorem("ufm-ce")
    spec = theorem.spec({"K": 100000, "n": 1, "d": 100000, "lam_W": "1e-6", "lam_H": "1e-6"})
    closed = theorem.closed_form(spec)
    assert isinstance(closed.point, FramePoint)
    value = theorem.upper_bound(spec, closed.point)
    assert closed.point._dense is None
    assert np.isfinite(float(value.mid())) and value.rad() < 1e-20 * abs(value.mid())
    assert isinstance(value, flint.arb)


def test_copy_of_file_is_unchanged_by_check(proof_dir):
    """check reads; it never rewrites a file (a referee's copy stays byte-identical)."""
    path = proof_dir / "ufm-mse-0.json"
    before = path.read_bytes()
    core.check(core.load(str(path)))
    assert path.read_bytes() == before and copy.deepcopy(json.loads(before))


def test_cli_certificate_out_round_trip(tmp_path):
    """verify --certificate-out writes the file and says so; check accepts it."""
    path = tmp_path / "mse.json"
    result = subprocess.run(
        [sys.executable, "-m", "ncproofs.cli", "verify", "ufm-mse", "-p", "K=3", "-p", "n=2",
         "-p", "d=2", "-p", "lam_W=0.3", "-p", "lam_H=0.4", "-p", "bias=false", "--no-solve",
         "--no-landscape", "--certificate-out", str(path)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"proof file: {path}" in result.stderr
    data = json.loads(path.read_text())
    assert data["params"] == {"K": "3", "n": "2", "d": "2", "lam_W": "0.3", "lam_H": "0.4",
                              "bias": "false"}  # exactly as typed
    assert run_check(path).returncode == 0


def test_focal_minorant_hypotheses_are_checked():
    """K = 20, gamma = 3, origin optimal: E(19/20) < 0, so no convex minorant is exact at the
    origin and the checker refuses the bracket [0, 0] although psi'(0) >= 0 there."""
    p = core.parse_params("ufm-focal", {"K": "20", "n": "1", "d": "19", "lam_W": "0.06322",
                                        "lam_H": "0.06322", "gamma": "3", "bias": "false"})
    with pytest.raises(core.CheckFailure, match="hypotheses fail"):
        core.lower_focal_minorant({"a_lo": "0", "a_hi": "0"}, p)


def test_no_proof_file_is_said_honestly():
    from ncproofs.certify.certificate import Certificate
    from ncproofs.proof import NoProofFile, proof_file
    from ncproofs.theorems.base import ClosedForm

    closed = ClosedForm(objective=None, regime="")
    certified = Certificate(method="m", status="certified", rigorous=True)
    # every built-in theorem has a checker kind; a user's extension theorem has none
    with pytest.raises(NoProofFile, match="no proof file for theorem my-theorem"):
        proof_file("my-theorem", {}, closed, certified)
    with pytest.raises(NoProofFile, match="no proof file for method"):
        proof_file("ufm-ce", {}, closed, certified)  # no exported lower-bound data
    inconclusive = Certificate(method="m", status="inconclusive", rigorous=False)
    with pytest.raises(NoProofFile, match="status inconclusive"):
        proof_file("ufm-ce", {}, closed, inconclusive)


@pytest.mark.parametrize("theorem_id,params", [
    ("relu2-convex", {"data": "rank-one", "lam_W": "1", "bias": "false"}),  # n, width: 8
    ("ufm-focal", {"K": "3", "n": "2", "d": "2", "lam_W": "0.01", "lam_H": "0.02"}),  # gamma 2
    ("eufm-relu", {"K": "3", "n": "2", "d": "3", "lam_W2": "0.2", "lam_W1": "0.2",
                   "lam_H": "0.2", "relu": "false"}),  # an alias
])
def test_defaults_and_aliases_as_the_package_reads_them(tmp_path, theorem_id, params):
    """A file holds only what the user typed: the checker must supply the same defaults
    and aliases as the package's specs, or a correct file would fail."""
    path = tmp_path / "p.json"
    report = verify(theorem_id, params, solve=False, landscape=False, certificate_out=str(path))
    assert report["certificate"]["status"] == "certified"
    assert json.loads(path.read_text())["params"] == params
    assert run_check(path).returncode == 0


def test_checker_defaults_match_the_specs():
    """Every default the checker assumes is the spec's own default (or a fixed value),
    so a file that leaves a parameter out is read the same way by both."""
    import dataclasses

    from ncproofs.exact import parse_fraction

    registry = load_all()
    for theorem_id, info in core.THEOREMS.items():
        spec_type = registry[theorem_id].spec_type
        fields = {f.name: f for f in dataclasses.fields(spec_type)}
        for name, value in info["defaults"].items():
            fixed = getattr(spec_type, "fixed", {})
            if name in fixed:  # a value the spec fixes (e.g. no weight decay on the sphere)
                default = fixed[name][0]
            elif name not in fields:  # sphere-gnc's internal n = 1 (no such parameter)
                assert name not in info["names"], (theorem_id, name)
                continue
            else:
                default = fields[name].default
                assert default is not dataclasses.MISSING, (theorem_id, name, "spec requires it")
            if isinstance(default, bool):
                assert core.parse_bool(name, value) == default, (theorem_id, name)
            elif isinstance(default, tuple):
                assert tuple(int(x) for x in value.split(",")) == default, (theorem_id, name)
            elif isinstance(default, str):
                assert value == default, (theorem_id, name)
            else:
                assert parse_fraction(name, value) == default, (theorem_id, name)
        for name in info["names"]:  # the reverse: what the spec defaults, the checker does too
            has_default = name in fields and fields[name].default is not dataclasses.MISSING
            assert not has_default or name in info["defaults"], (theorem_id, name)
