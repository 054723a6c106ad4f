"""Atomic file writes: write to a temporary name in the same folder, then rename.

A crash or a full disk never leaves a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it onto `target` on success.

    Works for files and for folders (a SavedModel): whatever the caller writes
    at the temporary path replaces `target` only if the block ends without error.

    Args:
        target: the final path.
        suffix: suffix of the temporary name; some writers (Keras) insist on one.
            Defaults to `target`'s own suffix.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = target.suffix if suffix is None else suffix
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{suffix}", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        yield tmp
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def write_text(target: Path, text: str) -> None:
    """Atomically write a text file."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
