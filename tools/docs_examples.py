"""Regenerate (or check) the example outputs quoted in README.md and docs/*.md.

An example block in a Markdown file looks like::

    <!-- example: ncproofs verify ufm-ce -p K=4 ... -->

        ufm-ce  K=4 n=3 ...          (the program's output, indented by 4 spaces)

    <!-- /example -->

``python tools/docs_examples.py`` runs each command (in this process, through
``ncproofs.cli.main``) and rewrites the block with its output; ``--check`` only compares
and exits 1 when a block has drifted.  The comparison (also run by tests/test_docs.py)
covers the lines that do not depend on timing, the solver's float noise or the machine:
the header, regime, closed form, certificate status, bounds, gap, reason and the verdict's
first word.  Numeric-solver lines (time, iterations, |grad|, NC metrics, curvature) are
shown as the program printed them when the block was last regenerated.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = ("README.md", "docs/*.md")
BLOCK = re.compile(r"(<!-- example: (?P<cmd>.+?) -->\n)(?P<body>.*?)(<!-- /example -->)", re.S)

#: the labels of ``ncproofs verify``'s text report whose value is deterministic
DETERMINISTIC_LABELS = ("regime", "closed form f*", "certificate", "lower bound",
                        "upper bound", "gap", "reason")


def doc_paths(root: Path = ROOT) -> list[Path]:
    paths: list[Path] = []
    for pattern in DOC_FILES:
        paths += sorted(root.glob(pattern))
    return paths


def run_command(command: str) -> str:
    """The stdout of ``ncproofs ARGS`` (``command`` starts with ``ncproofs``)."""
    from ncproofs.cli import main

    args = shlex.split(command)
    if not args or args[0] != "ncproofs":
        raise ValueError(f"example command must start with 'ncproofs': {command!r}")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(args[1:])
    if code not in (0, None):
        raise RuntimeError(f"{command!r} exited with {code}")
    return out.getvalue()


def block_text(output: str) -> str:
    """The program's output as an indented Markdown code block (blank line around)."""
    lines = [("    " + line).rstrip() for line in output.rstrip("\n").splitlines()]
    return "\n" + "\n".join(lines) + "\n\n"


def deterministic_lines(text: str) -> list[str]:
    """The comparable lines of a ``verify`` text report (indentation stripped): the
    header, the labelled deterministic lines, and the verdict's first word."""
    lines = [line.strip() for line in text.strip("\n").splitlines() if line.strip()]
    if not lines:
        return []
    keep = [lines[0]]
    for line in lines[1:]:
        match = re.match(r"(\S.*?)\s{2,}(.*)$", line)
        if not match:
            continue
        label, value = match.groups()
        if label in DETERMINISTIC_LABELS:
            keep.append(f"{label}  {value.strip()}")
        elif label == "verdict":
            keep.append(f"verdict  {value.split()[0]}")
    return keep


def blocks(path: Path) -> list[tuple[str, str]]:
    """(command, quoted output) of every example block in a file."""
    return [(m["cmd"], m["body"]) for m in BLOCK.finditer(path.read_text())]


def regenerate(path: Path) -> bool:
    """Rewrite every example block of ``path`` with fresh output; True if it changed."""
    text = path.read_text()

    def fresh(match: re.Match) -> str:
        return match[1] + block_text(run_command(match["cmd"])) + match[4]

    new = BLOCK.sub(fresh, text)
    if new != text:
        path.write_text(new)
    return new != text


def drift(path: Path, only: str | None = None) -> list[str]:
    """Messages for every block of ``path`` (or only the one running ``only``) whose
    deterministic lines differ from a fresh run."""
    problems = []
    for command, quoted in blocks(path):
        if only is not None and command != only:
            continue
        want = deterministic_lines(run_command(command))
        have = deterministic_lines(quoted)
        if want != have:
            diff = [f"    doc: {h!r}\n    now: {w!r}" for h, w in zip(have, want) if h != w]
            if len(have) != len(want):
                diff.append(f"    {len(have)} comparable lines in the doc, {len(want)} now")
            problems.append(f"{path.relative_to(ROOT)}: `{command}` drifted:\n"
                            + "\n".join(diff))
    return problems


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--check" in argv:
        problems = [p for path in doc_paths() for p in drift(path)]
        for p in problems:
            print(p)
        if problems:
            print("run `python tools/docs_examples.py` to regenerate the example blocks")
        return 1 if problems else 0
    for path in doc_paths():
        if regenerate(path):
            print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
