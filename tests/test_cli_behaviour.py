"""A CLI that behaves (issue 14, items 4-6): --version, per-theorem --help, all missing
parameters at once, no torch/cvxpy at start-up, quiet broken pipe, Ctrl-C keeps finished
cases, --out streaming, size refusals before allocating, skipped stages, captured
warnings, files only under --save-dir."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

import ncproofs
from ncproofs.cli import main

ROOT = Path(__file__).parents[1]
CASE = ["ufm-ce", "-p", "K=4", "-p", "n=3", "-p", "d=5", "-p", "lam_W=3e-3", "-p", "lam_H=7e-3"]


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    e.setdefault("OMP_NUM_THREADS", "1")
    return e


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"ncproofs {ncproofs.__version__}"


@pytest.mark.parametrize("argv", [["list", "-v"], ["--help"], ["--version"],
                                  ["verify", "ufm-ce", "--help"]])
def test_start_up_imports_neither_torch_nor_cvxpy(argv):
    code = ("import sys, runpy\n"
            f"sys.argv = ['ncproofs', *{argv!r}]\n"
            "try:\n    runpy.run_module('ncproofs.cli', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print('HEAVY', sorted(m for m in ('torch', 'cvxpy') if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env(), timeout=120)
    assert "HEAVY []" in proc.stdout, proc.stdout[-500:] + proc.stderr[-2000:]


def test_verify_id_help_lists_parameters(capsys):
    with pytest.raises(SystemExit):
        main(["verify", "ufm-ce", "--help"])
    out = capsys.readouterr().out
    assert "parameters (-p NAME=VALUE)" in out
    lines = {line.split()[0]: line for line in out.splitlines()
             if line.startswith("  ") and line.split()[0] in ("K", "lam_b", "bias")}
    assert ">= 2" in lines["K"] and "required" in lines["K"]
    assert "default 0" in lines["lam_b"] and "default true" in lines["bias"]
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    assert "ufm-mse-imbalanced" in capsys.readouterr().out  # the theorem list


def test_all_missing_parameters_named_at_once(capsys):
    assert main(["verify", "ufm-ce", "-p", "K=3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    for name in ("n (", "d (", "lam_W (", "lam_H ("):
        assert name in err


def test_closed_pipe_is_quiet():
    proc = subprocess.run(f"{sys.executable} -m ncproofs.cli list -v | head -1", shell=True,
                          capture_output=True, text=True, env=env(), timeout=120)
    assert proc.stdout.count("\n") == 1
    assert proc.stderr == "", proc.stderr


def test_out_jsonl_matches_json(tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    argv = ["verify", *CASE, "--no-solve", "--no-landscape", "--quiet"]
    assert main(argv + ["--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    (line,) = out.read_text().splitlines()
    assert json.loads(line)["certificate"]["lower_bound"] == printed["certificate"]["lower_bound"]


def test_ctrl_c_keeps_finished_cases_and_exits_130(tmp_path):
    out = tmp_path / "all.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ncproofs.cli", "verify", "--all", "--no-solve",
         "--no-landscape", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(),
        # a test run started in the background of a shell inherits SIGINT ignored, and an
        # exec'd child keeps it ignored: restore the default so that Python installs its
        # KeyboardInterrupt handler, as in a terminal
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if out.exists() and out.read_text().count("\n") >= 2:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "verify --all finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "Traceback" not in stderr
    assert stderr.strip().count("\n") == 0 and stderr.startswith("interrupted:")
    finished = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(finished) >= 2 and all("certificate" in r for r in finished)
    assert "default cases as expected" in stdout  # the finished cases' table


def test_too_large_is_refused_before_allocating(capsys):
    """Regression: ``verify ufm-ce -p K=100000 -p d=100000`` ended in an ArrayMemoryError
    traceback.  ufm-ce's points are now frames stored by structure (it certifies, below);
    ufm-mse's explicit point is still dense, so there the same size must be one line,
    exit 2, with the estimate."""
    start = time.perf_counter()
    argv = ["verify", "ufm-mse", "-p", "K=100000", "-p", "n=1", "-p", "d=100000",
            "-p", "lam_W=1e-6", "-p", "lam_H=1e-6", "-p", "bias=false", "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert ("K = 100000, n = 1, d = 100000: the closed-form point needs about 160 GB" in err
            and err.count("\n") == 1)
    assert time.perf_counter() - start < 30


def test_structured_ufm_ce_at_k_100000_certifies_and_skips_the_solve(capsys):
    """Regression: K = 100000, d = 5 aborted inside FLINT (exit 134).  The origin is a frame
    stored by structure: certified in seconds, the solve and Hessian skipped with their
    estimates (no native abort, no silent minutes)."""
    start = time.perf_counter()
    assert main(["verify", "ufm-ce", "-p", "K=100000", "-p", "n=1", "-p", "d=5", "-p",
                 "lam_W=1", "-p", "lam_H=1", "--quiet", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["certificate"]["status"] == "certified"
    assert set(report["skipped"]) == {"solve", "landscape"}
    assert "use --no-solve" in report["skipped"]["solve"]
    assert time.perf_counter() - start < 60


def test_refused_by_time_estimate(capsys):
    argv = ["verify", "ufm-mse", "-p", "K=2000", "-p", "n=1", "-p", "d=2000", "-p",
            "lam_W=1e-6", "-p", "lam_H=1e-6", "-p", "bias=false", "--max-seconds", "10",
            "--quiet"]
    assert main(argv) == 2
    assert "would take about" in capsys.readouterr().err


def test_optional_stages_are_skipped_explicitly(capsys):
    """With a 100 kB budget the small certificate fits, the batched solve and the dense
    Hessian do not: both are skipped and the report says so."""
    assert main(["verify", *CASE, "--starts", "2", "--max-memory", "1e-4", "--json",
                 "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["numeric"] is None and report["landscape"] is None
    assert set(report["skipped"]) == {"solve", "landscape"}
    assert "use --no-solve" in report["skipped"]["solve"]
    assert report["certificate"]["lower_bound"] is not None


def test_solver_warnings_go_into_the_report(monkeypatch, capsys):
    theorem = ncproofs.theorems.get_theorem("ufm-ce")
    real = type(theorem).certify

    def noisy(self, spec, closed):
        warnings.warn("Solution may be inaccurate.", UserWarning, stacklevel=1)
        return real(self, spec, closed)

    monkeypatch.setattr(type(theorem), "certify", noisy)
    assert main(["verify", *CASE, "--no-solve", "--no-landscape", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "Solution may be inaccurate." not in captured.err
    assert "warning: UserWarning: Solution may be inaccurate." in captured.out
    report = ncproofs.verify("ufm-ce", K=4, n=3, d=5, lam_W="3e-3", lam_H="7e-3",
                             solve=False, landscape=False)
    assert any("Solution may be inaccurate." in w for w in report.warnings)


def test_files_only_under_save_dir(tmp_path, monkeypatch):
    """A theorem that keeps a point writes it only into --save-dir (regression: refuting
    points went silently into ./out/)."""
    from ncproofs.outputs import NOT_SAVED, save_npz

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NCPROOFS_OUT", raising=False)
    theorem = ncproofs.theorems.get_theorem("ufm-ce")
    real = type(theorem).certify

    def saving(self, spec, closed):
        cert = real(self, spec, closed)
        cert.details["saved_point"] = save_npz("point.npz", W=closed.point.arrays["W"])
        return cert

    monkeypatch.setattr(type(theorem), "certify", saving)
    params = {"K": 4, "n": 3, "d": 5, "lam_W": "3e-3", "lam_H": "7e-3"}
    report = ncproofs.verify("ufm-ce", params, solve=False, landscape=False)
    assert report["certificate"]["details"]["saved_point"] == NOT_SAVED
    assert list(tmp_path.iterdir()) == []
    target = tmp_path / "kept"
    report = ncproofs.verify("ufm-ce", params, solve=False, landscape=False, save_dir=target)
    assert Path(report["certificate"]["details"]["saved_point"]) == target / "point.npz"
    assert (target / "point.npz").is_file()


def test_progress_is_shown_on_a_terminal_only(capsys):
    from ncproofs import progress

    class Terminal:
        def isatty(self):
            return True

    assert progress.enabled(False, Terminal()) and not progress.enabled(True, Terminal())
    assert not progress.enabled(False)  # pytest's captured stderr is not a terminal
    with progress.Progress(show=True, total=2, desc="verify --all") as bar:
        bar.case("ufm-ce")
        bar.stage("solve", None)
        bar.advance()
    err = capsys.readouterr().err
    assert "verify --all" in err and "ufm-ce: numeric solve" in err


@pytest.mark.parametrize("option", ["--out", "--certificate-out"])
def test_unwritable_output_file_is_refused_before_running(option, tmp_path, capsys):
    """Regression: --certificate-out into a missing folder ended in a FileNotFoundError
    traceback after the whole verification had run."""
    target = tmp_path / "missing-folder" / "x.json"
    assert main(["verify", *CASE, "--no-solve", "--no-landscape", "--quiet",
                 option, str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot write {option}" in err and "does not exist" in err
    assert not target.parent.exists()


def test_certificate_dir_that_cannot_be_created_is_refused(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["verify", "--all", "--no-solve", "--no-landscape", "--quiet",
                 "--certificate-dir", str(blocker / "proofs")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot create --certificate-dir" in err
