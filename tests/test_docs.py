"""The docs say what the program does.

* Every example block in README.md and docs/*.md (``<!-- example: ncproofs ... -->``) is
  rerun and its deterministic lines (status, closed form, bounds, gap, reason, verdict)
  must equal the quoted ones; regenerate with ``python tools/docs_examples.py``.
* The JSON field list in the README names fields the program prints.
* The docs cite no file outside the repository, and every script and doc they point to
  exists.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import docs_examples  # noqa: E402

EXAMPLES = [(path, command) for path in docs_examples.doc_paths()
            for command, _ in docs_examples.blocks(path)]


def test_readme_has_an_example_block():
    assert any(path.name == "README.md" for path, _ in EXAMPLES)


@pytest.mark.parametrize("path, command", EXAMPLES,
                         ids=[f"{p.name}:{c.split()[2]}" for p, c in EXAMPLES])
def test_example_blocks_match_the_program(path, command):
    assert docs_examples.drift(path, only=command) == [], "run `python tools/docs_examples.py`"


def test_deterministic_lines_see_a_changed_status_and_gap():
    """The comparison is not vacuous: a changed status, gap or reason is drift; a changed
    timing line is not."""
    report = ("ufm-ce  K=3\n  closed form f*   1.0\n  certificate      certified  (rigorous)\n"
              "    gap            1e-17\n  time, device     0.1 s, cpu\n  verdict   agree: ok\n")
    base = docs_examples.deterministic_lines(report)
    assert "certificate  certified  (rigorous)" in base and "verdict  agree:" in base
    assert docs_examples.deterministic_lines(report.replace("0.1 s", "9.9 s")) == base
    for old, new in (("certified ", "conditional "), ("1e-17", "2e-15"), ("1.0", "1.5")):
        assert docs_examples.deterministic_lines(report.replace(old, new)) != base


def _readme_json_fields() -> dict[str, list[str]]:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"`--json` prints `(.*?)`", text, re.S)
    assert match, "README lost its --json field list"
    fields: dict[str, list[str]] = {}
    for name, inner in re.findall(r"(\w+)(?:\{([^}]*)\})?", match[1].replace("\n", " ")):
        fields[name] = [f.strip() for f in inner.split(",") if f.strip()]
    return fields


def test_readme_json_fields_are_printed():
    command = EXAMPLES[0][1] if EXAMPLES else "ncproofs verify ufm-ce -p K=3 -p n=2 -p d=3 " \
        "-p lam_W=1e-3 -p lam_H=1e-3"
    out = json.loads(docs_examples.run_command(command + " --json"))
    fields = _readme_json_fields()
    assert {"theorem", "params", "certificate", "numeric", "verdict"} <= set(fields)
    for name, inner in fields.items():
        assert name in out, name
        for sub in inner:
            assert sub in out[name], f"{name}.{sub}"


# --------------------------------------------------------------------------- references

DOCS = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
# the project's own files: no hidden folder (.git, any virtualenv such as CI's .ci-venv),
# no installed packages, no outputs
SOURCES = [p for p in ROOT.rglob("*") if p.suffix in (".py", ".md", ".toml")
           and not any(part.startswith(".") or part in {"out", "build", "site-packages"}
                       for part in p.relative_to(ROOT).parts[:-1])]


def test_no_reference_to_files_outside_the_repository():
    outside = re.compile(r"DESIGN\.md|DESIGN section|STYLE\.md|/work/|shared/seeds")
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in SOURCES if p.name != "test_docs.py"
            for i, line in enumerate(p.read_text(errors="replace").splitlines(), 1)
            if outside.search(line)]
    assert hits == []


def test_scripts_and_docs_named_in_the_docs_exist():
    pattern = re.compile(r"\b((?:derivations|experiments|benchmarks|examples|tools|docs|tests)"
                         r"/[\w./-]+\.(?:py|md))")
    missing = sorted({f"{doc.name}: {name}" for doc in DOCS if doc.exists()
                      for name in pattern.findall(doc.read_text())
                      if not (ROOT / name).exists()})
    assert missing == []


def test_readme_refutation_count_matches_the_recorded_table():
    """README's "refuted in N of 20 (K, L) cells" equals the count in docs/relu.md's table
    at the papers' weight decay (the output of derivations/relu_dufm.py)."""
    claim = re.search(r"refuted in (\d+) of (\d+) \(K, L\) cells", (ROOT / "README.md").read_text())
    assert claim
    relu = (ROOT / "docs" / "relu.md").read_text()
    table = relu[relu.index("| K | L | lam/thr |"):]
    table = table[:table.index("\n\n")]
    rows = [r for r in table.splitlines()[2:] if r.startswith("|")]
    assert len(rows) == int(claim[2])
    assert sum("**refuted**" in r for r in rows) == int(claim[1])
