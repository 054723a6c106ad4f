"""SHA-256 digests of model files, remembered while a file is unchanged.

Finding a Keras model's ONNX twin compares the model's digest with the twin's
stamp on every ``fer predict``. Hashing the shipped model (15 MB) each time costs
more than the rest of the check, so digests are kept in a small JSON file in
the cache folder, keyed by the file's path, size, modification time and inode:
a file rewritten in place or replaced (a new inode) is hashed again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

STAMP_CACHE_NAME = "digests.json"
MAX_ENTRIES = 256  # plenty for the models one person uses; oldest are dropped beyond it


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, as hex.

    Args:
        path: the file.

    Returns:
        The hex digest.
    """
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def stamp_cache_path() -> Path:
    """Where known digests are kept: ``digests.json`` in fer's cache folder."""
    # A leaf module (no numpy): the one definition of fer's cache folder.
    from fer_cli.data.paths import cache_dir

    return cache_dir() / STAMP_CACHE_NAME


def cached_digest(path: Path) -> str:
    """SHA-256 of a file, hashed only when the file is new or changed since last asked.

    Args:
        path: the file.

    Returns:
        The hex digest.
    """
    path = Path(path).resolve()
    info = path.stat()
    key = [info.st_size, info.st_mtime_ns, info.st_ino]
    known = _load()
    entry = known.get(str(path))
    if isinstance(entry, dict) and entry.get("key") == key and isinstance(entry.get("sha256"), str):
        return entry["sha256"]
    digest = file_digest(path)
    known.pop(str(path), None)
    known[str(path)] = {"key": key, "sha256": digest}
    _save(dict(list(known.items())[-MAX_ENTRIES:]))
    return digest


def _load() -> dict:
    try:
        known = json.loads(stamp_cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):  # no cache yet, or a damaged one: start afresh
        return {}
    return known if isinstance(known, dict) else {}


def _save(known: dict) -> None:
    from fer_cli.atomic import write_text

    try:
        write_text(stamp_cache_path(), json.dumps(known))
    except OSError:  # a read-only cache folder only costs a hash next time
        pass
