"""The API reference (mkdocs + mkdocstrings, built from the docstrings) builds with
warnings as errors (--strict)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_api_reference_builds_strict(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "-f", str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    page = (tmp_path / "site" / "reference" / "index.html").read_text()
    for name in ("verify", "certify_point", "Report", "gap_to_optimum"):
        assert name in page, name
