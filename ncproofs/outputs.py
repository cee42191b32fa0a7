"""Where the pipeline may write files: only where the user said.

Theorems that find a refuting point keep it as an npz file -- but only when a folder was
given (``ncproofs verify --save-dir DIR``, ``ncproofs.verify(..., save_dir=DIR)``, or the
environment variable ``NCPROOFS_OUT``, whose ``refutations/`` subfolder is used).  Without
one nothing is written and the report says so.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

import numpy as np

from .spec import SpecError

_SAVE_DIR: ContextVar[Path | None] = ContextVar("ncproofs_save_dir", default=None)

#: what a report says where a file would have been written
NOT_SAVED = "not saved (pass --save-dir DIR, or save_dir= in Python, to keep it)"


def save_dir() -> Path | None:
    """The folder chosen for this run, or None (then nothing is written)."""
    chosen = _SAVE_DIR.get()
    if chosen is not None:
        return chosen
    env = os.environ.get("NCPROOFS_OUT")
    return Path(env) / "refutations" if env else None


@contextlib.contextmanager
def saving_to(folder: str | os.PathLike[str] | None) -> Iterator[None]:
    """Within the block, :func:`save_npz` writes into ``folder`` (None: keep the default)."""
    token = _SAVE_DIR.set(Path(folder) if folder is not None else _SAVE_DIR.get())
    try:
        yield
    finally:
        _SAVE_DIR.reset(token)


def save_npz(name: str, **arrays: object) -> str:
    """Write ``name`` into the chosen folder and return its path, or return
    :data:`NOT_SAVED` when no folder was chosen."""
    folder = save_dir()
    if folder is None:
        return NOT_SAVED
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    np.savez(path, **arrays)
    return str(path)


def check_writable(path: str | os.PathLike[str], option: str) -> None:
    """Refuse before anything runs when the file ``path`` given by ``option`` cannot be
    written: its folder is missing, or we may not create or replace files there."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise SpecError(f"cannot write {option} {path}: folder {folder} does not exist")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".ncproofs-write-test-"):
            pass
    except OSError as exc:
        raise SpecError(f"cannot write {option} {path}: {exc.strerror or exc}") from None
    if path.exists() and not os.access(path, os.W_OK):
        raise SpecError(f"cannot write {option} {path}: permission denied")
