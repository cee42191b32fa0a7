"""ncproofs sweep / plot on a real Dask LocalCluster of 2 worker processes.

The cells are ufm-mse / ufm-ce with solve=False, landscape=False (~0.1 s each).  One
LocalCluster is shared by the module (tests that need their own start one); the expected
values come from serial ``verify`` in this process and from the papers' formulas (Zhou et
al. 2022 for bias-free MSE: f* = kappa - kappa^2/2, kappa = K sqrt(n lam_W lam_H) < 1, else
1/2; Zhu et al. 2021: f* = log K when K t >= 1).
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from ncproofs import cli
from ncproofs.pipeline import verify
from ncproofs.spec import UFMSpec
from ncproofs.sweeps import (
    SweepInterrupted,
    column_names,
    parse_axis_values,
    run_sweep,
)

distributed = pytest.importorskip("distributed")
ROOT = Path(__file__).resolve().parents[1]
FAST = dict(solve=False, landscape=False, quiet=True)
MSE_FIXED = {"n": 2, "d": 4, "bias": "false"}


@pytest.fixture(scope="module")
def cluster():
    import logging

    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as local:
        yield local


def test_grid_syntax_exact_values():
    assert parse_axis_values("3,4,6") == ["3", "4", "6"]
    assert parse_axis_values("6,3,1;12,6,2") == ["6,3,1", "12,6,2"]
    # geom: endpoints exact, inner points lo (hi/lo)^(i/(c-1)) to 6 digits
    assert parse_axis_values("geom(1e-4,1e-1,4)") == ["0.0001", "0.001", "0.01", "0.1"]
    assert parse_axis_values("geom(1,2,3)") == ["1", "1.41421", "2"]
    assert parse_axis_values("lin(0,1,5)") == ["0", "0.25", "0.5", "0.75", "1"]
    assert parse_axis_values("lin(0,1,4)") == ["0", "1/3", "2/3", "1"]  # exact, not 0.333
    assert parse_axis_values("2,lin(3,5,3)") == ["2", "3", "4", "5"]


def test_sweep_matches_serial_verify_and_formula(cluster, tmp_path):
    """8 cells on 2 workers: the same statuses and values as serial verify, and the
    closed form equals Zhou et al.'s formula computed here."""
    lams = ["1e-3", "1e-2", "0.1", "0.5"]
    out = tmp_path / "mse.parquet"
    frame = run_sweep("ufm-mse", {"K": [2, 3], "lam_W=lam_H": lams}, MSE_FIXED, out=out,
                      scheduler=cluster.scheduler_address, **FAST).frame
    assert len(frame) == 8
    assert set(frame["worker"]) <= set(cluster.scheduler_info["workers"])
    on_disk = pd.read_parquet(out)
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # a normal file, not mkstemp's 0600
    assert sorted(on_disk["cell_key"]) == sorted(frame["cell_key"])
    for K in (2, 3):
        for lam in lams:
            row = frame[(frame.param_K == K) & (frame.param_lam_W == float(lam))].iloc[0]
            serial = verify("ufm-mse", {**MSE_FIXED, "K": K, "lam_W": lam, "lam_H": lam},
                            solve=False, landscape=False)
            assert row.status == serial["certificate"]["status"]
            assert row.verdict == serial["verdict"]["status"]
            assert row.closed_form == serial["closed_form"]["objective"]
            assert row.lower_bound == serial["certificate"]["lower_bound"]
            assert row.upper_bound == serial["certificate"]["upper_bound"]
            kappa = K * math.sqrt(2 * float(lam) ** 2)
            expected = kappa - kappa**2 / 2 if kappa < 1 else 0.5
            assert row.closed_form == pytest.approx(expected, rel=1e-12)
            assert json.loads(row.report_json)["params"]["K"] == K
    assert frame.param_K.tolist() == [2, 2, 2, 2, 3, 3, 3, 3]  # grid order


def test_parquet_columns_are_pinned():
    """The file format is a public contract: these names change only with SCHEMA_VERSION."""
    assert column_names(UFMSpec) == [
        "theorem", "cell_key",
        "param_K", "param_n", "param_d", "param_lam_W", "param_lam_H", "param_lam_b",
        "param_bias",
        "status", "verdict", "summary", "regime", "method", "rigorous", "closed_form",
        "closed_form_exact", "closed_form_kind", "lower_bound", "upper_bound", "gap",
        "numeric", "numeric_minus_closed_form", "error", "seconds", "seconds_derive",
        "seconds_certify", "seconds_solve", "seconds_landscape", "worker",
        "worker_peak_rss_mb", "seed", "starts", "solve", "landscape", "device",
        "ncproofs_version", "finished_at", "report_json",
    ]


def test_interrupted_sweep_resumes_only_missing_cells(cluster, tmp_path, capsys):
    out = tmp_path / "resume.parquet"
    grid = {"K": [2, 3, 4], "lam_W=lam_H": ["1e-3", "1e-2", "0.1", "0.5"]}
    seen = []

    def interrupt(row):
        seen.append(row["cell_key"])
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(SweepInterrupted):
        run_sweep("ufm-mse", grid, MSE_FIXED, out=out, scheduler=cluster.scheduler_address,
                  on_row=interrupt, **FAST)
    written = pd.read_parquet(out)
    assert sorted(written["cell_key"]) == sorted(seen)  # every finished cell was flushed
    argv = ["sweep", "ufm-mse", "-g", "K=2,3,4", "-g", "lam_W=lam_H=0.001,0.01,0.1,0.5",
            "-p", "n=2", "-p", "d=4", "-p", "bias=false", "--no-solve", "--no-landscape",
            "--out", str(out), "--scheduler", cluster.scheduler_address, "--resume",
            "--json", "--quiet"]
    assert cli.main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["cells"] == 12 and summary["skipped"] == 3 and summary["computed"] == 9
    final = pd.read_parquet(out)
    assert len(final) == 12 and final["cell_key"].is_unique
    # a finished sweep: nothing computed, and it says so
    assert cli.main(argv[:-2]) == 0
    assert "nothing to compute: all 12 cells" in capsys.readouterr().out
    assert len(pd.read_parquet(out)) == 12


def test_plot_writes_image_with_boundary(cluster, tmp_path, capsys):
    from ncproofs.plot import phase_diagram, plot_file

    out = tmp_path / "ce.parquet"
    frame = run_sweep("ufm-mse", {"K": [2, 3], "lam_W=lam_H": ["0.01", "0.4", "1"]},
                      {"n": 1, "d": 3, "bias": "false"}, out=out,
                      scheduler=cluster.scheduler_address, **FAST).frame
    # Zhou et al.: W = H = 0 and f* = 1/2 (bias-free) when kappa = K t = K lam >= 1 (n = 1)
    zero = frame[frame.param_K * frame.param_lam_W >= 1]
    assert len(zero) == 3 and (zero.closed_form == 0.5).all()
    assert (frame[frame.param_K * frame.param_lam_W < 1].closed_form < 0.5).all()
    figure = tmp_path / "ce.png"
    assert cli.main(["plot", str(out), "--x", "lam_W", "--y", "K", "--value", "gap",
                     "--out", str(figure)]) == 0
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and figure.stat().st_size > 10_000
    fig = phase_diagram(frame, "lam_W", "K")
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert any("Kt = 1" in label for label in labels)  # the analytic boundary is drawn
    assert set(frame.status) <= set(labels)
    assert plot_file(out, "lam_W", "K", out=tmp_path / "ce.svg").stat().st_size > 10_000
    for argv, message in (
            (["--x", "foo", "--y", "K"], "no parameter 'foo' in the file"),
            (["--x", "lam_W", "--y", "K", "--out", str(tmp_path / "ce.gif")], ".png, .pdf"),
            (["--x", "lam_W", "--y", "K", "--value", "nonsense"], "--value nonsense")):
        assert cli.main(["plot", str(out), *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1
    assert cli.main(["plot", str(tmp_path / "missing.parquet"), "--x", "K", "--y", "n"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_example_script_runs(cluster, tmp_path, monkeypatch, capsys):
    """examples/sweep_phase_diagram.py as a user runs it (in this process, to skip a
    second start-up of the whole stack)."""
    import runpy

    monkeypatch.setattr(sys, "argv", ["sweep_phase_diagram.py", "--scheduler",
                                      cluster.scheduler_address, "--out-dir", str(tmp_path)])
    runpy.run_path(str(ROOT / "examples" / "sweep_phase_diagram.py"), run_name="__main__")
    assert "12 cells" in capsys.readouterr().out
    assert (tmp_path / "zhu_phase_diagram.png").stat().st_size > 10_000
    frame = pd.read_parquet(tmp_path / "zhu_phase_diagram.parquet")
    assert len(frame) == 12 and (frame.status != "error").all()
    # Zhu et al.: the optimum is W = H = 0 exactly where K t = K lam >= 1 (n = 1)
    zero = frame.regime.str.contains("zero")
    assert (zero == (frame.param_K * frame.param_lam_W >= 1)).all()


FIXED = ["-p", "n=2", "-p", "d=4", "-p", "lam_H=0.01"]
BAD = [
    (["-g", "foo=1,2", "-p", "K=3", "-p", "lam_W=0.01"], "unknown parameter 'foo'"),
    (["-g", "K=", "-p", "lam_W=0.01"], "grid axis K has no values"),
    (["-g", "K=3,,4", "-p", "lam_W=0.01"], "grid axis K has an empty value"),
    (["-g", "K=3,1", "-p", "lam_W=0.01"], "grid cell K=1: K must be >= 2, got 1"),
    (["-g", "lam_W=0.1,-1", "-p", "K=3"], "grid cell lam_W=-1: lam_W must be > 0"),
    (["-g", "lam_W=geom(0,1,3)", "-p", "K=3"], "geom(LO,HI,COUNT) needs LO > 0"),
    (["-g", "K=3,4", "-p", "K=3", "-p", "lam_W=0.01"], "both a grid axis"),
    (["-p", "K=3", "-p", "lam_W=0.01"], "the grid is empty"),
    (["-g", "K=3,4", "-p", "lam_W=0.01", "--workers", "0"], "--workers must be >= 1"),
]


@pytest.mark.parametrize("extra, message", BAD)
def test_bad_grid_is_named_before_anything_runs(extra, message, tmp_path, capsys):
    out = tmp_path / "x.parquet"
    assert cli.main(["sweep", "ufm-ce", *FIXED, *extra, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_bad_output_and_scheduler(tmp_path, capsys):
    base = ["sweep", "ufm-ce", "-g", "K=2,3", "-p", "n=2", "-p", "d=4", "-p", "lam_W=0.01",
            "-p", "lam_H=0.01", "--quiet"]
    existing = tmp_path / "done.parquet"
    existing.write_bytes(b"results")
    assert cli.main(base + ["--out", str(existing)]) == 2
    assert "exists; pass --resume" in capsys.readouterr().err
    assert existing.read_bytes() == b"results"  # not overwritten
    assert cli.main(base + ["--out", str(tmp_path / "no" / "such" / "x.parquet")]) == 2
    assert "cannot write --out" in capsys.readouterr().err
    if os.geteuid() != 0:  # root can write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert cli.main(base + ["--out", str(locked / "x.parquet")]) == 2
        assert "cannot write --out" in capsys.readouterr().err
    start = time.monotonic()
    assert cli.main(base + ["--out", str(tmp_path / "y.parquet"), "--scheduler",
                            "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert time.monotonic() - start < 10
    assert err.startswith("error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert len(err.splitlines()) == 1


def test_killed_worker_loses_no_cell(cluster, tmp_path):
    """SIGKILL one worker process after the first result: its running and queued cells are
    rescheduled by Dask (the nanny restarts the worker) and every cell gets a real row.
    Runs last in this module: the restarted worker re-imports the pipeline."""
    from distributed import Client

    with Client(cluster.scheduler_address, set_as_default=False) as client:
        pids = client.run(os.getpid)
    killed = []

    def kill_one(row):
        if not killed:
            victim = next(pid for address, pid in pids.items() if address != row["worker"])
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    lams = ["1e-3", "2e-3", "5e-3", "1e-2", "2e-2", "5e-2", "0.1", "0.2", "0.5"]
    frame = run_sweep("ufm-mse", {"K": [2, 3], "lam_W=lam_H": lams}, MSE_FIXED,
                      out=tmp_path / "kill.parquet", scheduler=cluster.scheduler_address,
                      on_row=kill_one, **FAST).frame
    assert killed
    assert len(frame) == 18 and (frame.status != "error").all()
    assert len(pd.read_parquet(tmp_path / "kill.parquet")) == 18
