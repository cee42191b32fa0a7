"""Progress on stderr: which case and stage is running, its estimate and the time spent.

Shown only when stderr is a terminal and ``--quiet`` was not given, so pipes, files and CI
logs get exactly the program's output.  A background thread refreshes the line every
half second, so a stage that runs for minutes still shows its elapsed time.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from .resources import StageEstimate, human_bytes, human_seconds

STAGE_LABELS = {
    "derive": "closed form",
    "certify": "certificate",
    "solve": "numeric solve",
    "landscape": "Hessian report",
    "numeric_upper": "interval value of the numeric point",
}


def enabled(quiet: bool, stream: Any = None) -> bool:
    """Progress is shown on a terminal unless --quiet."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return not quiet and callable(isatty) and bool(isatty())


class Progress:
    """A tqdm line: a bar over cases (``total``) or a single status line (``total=None``)."""

    def __init__(self, *, show: bool, total: int | None = None, desc: str = "ncproofs") -> None:
        self.show = show
        self._bar: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._case = ""
        if not show:
            return
        from tqdm import tqdm

        fmt = ("{desc}: {n_fmt}/{total_fmt} cases [{elapsed}<{remaining}] {postfix}"
               if total is not None else "{desc} [{elapsed}] {postfix}")
        self._bar = tqdm(total=total, desc=desc, file=sys.stderr, bar_format=fmt,
                         dynamic_ncols=True, leave=False)
        self._thread = threading.Thread(target=self._refresh, daemon=True)
        self._thread.start()

    def _refresh(self) -> None:
        while not self._stop.wait(0.5):
            bar = self._bar
            if bar is not None:
                bar.refresh()

    def case(self, label: str) -> None:
        """A new case starts (its label is shown before the stage)."""
        self._case = label
        self._postfix(label)

    def stage(self, stage: str, estimate: StageEstimate | None) -> None:
        """The pipeline's progress hook: a stage is about to run."""
        text = STAGE_LABELS.get(stage, stage)
        if estimate is not None and (estimate.seconds >= 5 or estimate.bytes >= 1e9):
            text += (f" (estimate {human_seconds(estimate.seconds)}, "
                     f"{human_bytes(estimate.bytes)})")
        self._postfix(f"{self._case}: {text}" if self._case else text)

    def advance(self) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def write(self, line: str) -> None:
        """A message on stderr that does not break the progress line."""
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr)

    def _postfix(self, text: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=True)

    def close(self) -> None:
        self._stop.set()
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
