"""Atomic replacement of files: write to a temporary name in the same folder, then rename.

What this guarantees: if the writer fails (an exception, a full disk) or the
process is killed, the final name still holds the old content or nothing, never
a half-written file, because a file is put in place by one ``os.replace``, which
is atomic on POSIX file systems and on NTFS.

What it does not:

- Durability: nothing is fsync'ed, so after a power cut or an OS crash the
  renamed file may be empty or old on some file systems. fer's outputs can be
  made again, so it does not pay for ``fsync``.
- Folders: an existing target folder is deleted before the new one is renamed
  into place, so for a moment there is no folder under the final name; a
  crash then leaves the new one at the temporary name, and a failed rename
  leaves neither.
- Clean-up after a kill: a killed process leaves its ``.<name>.*.tmp`` behind.
- Windows: ``os.replace`` fails while another program holds the target open.
- Concurrent writers: the last rename wins; there is no locking.
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
    at the temporary path replaces `target` only if the block ends without error
    (see the module docstring for the limits, folders in particular).

    Args:
        target: the final path.
        suffix: suffix of the temporary name; some writers (Keras) insist on one.
            Defaults to `target`'s own suffix.

    Yields:
        The temporary path, which does not exist yet: the caller creates it.
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
    """Replace `target` with `text` (UTF-8) in one rename.

    Args:
        target: the file to write.
        text: its whole new content.
    """
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
