"""Every script in examples/ runs and prints its key line.

Each ``examples/*.py`` is run in a subprocess with the repository on PYTHONPATH (as a
user runs it from a clone), with ``--quick`` where the script takes it (the smallest
version of its task).  The expected key line of each known script is below; a new
script without an entry must still exit 0 and print something.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "examples").glob("*.py"))

#: a line fragment each script must print (evidence that it did its task)
KEY_LINES = {
    "verify_one_case.py": "certificate: ",
    "metrics_of_your_network.py": "NC1 fell from",
    "ufm_mse_target.py": "ufm-mse-target f* = ",
    "certify_your_point.py": "gap to the global optimum <= ",
}
#: seconds per script (a loaded 2-core machine runs the CE certificate in ~20 s)
TIMEOUT_S = 300


def test_there_are_examples():
    assert {"verify_one_case.py", "metrics_of_your_network.py"} <= {p.name for p in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_example_runs(script, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    args = ["--quick"] if "--quick" in script.read_text() else []
    proc = subprocess.run([sys.executable, str(script), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip(), "the example printed nothing"
    key = KEY_LINES.get(script.name)
    if key is not None:
        assert key in proc.stdout, proc.stdout[-2000:]
    # no silent result files in the working directory (the old ./out/ habit)
    assert not (tmp_path / "out").exists()
