"""Where prepared data goes by default (a leaf module: no numpy, no TensorFlow)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def cache_dir() -> Path:
    """Where caches go by default: ``$FER_CACHE_DIR``, else ``$XDG_CACHE_HOME/fer``, else ``~/.cache/fer``."""
    if os.environ.get("FER_CACHE_DIR"):
        return Path(os.environ["FER_CACHE_DIR"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "fer"


def default_cache_path(source: Path) -> Path:
    """The default cache file for a data folder or csv: named after it, unique per real path.

    The path is resolved first, so ``images``, ``./images/``, ``$PWD/images`` and
    a symlink to it all name one cache.
    """
    resolved = Path(source).resolve()
    tag = hashlib.sha256(str(resolved).encode(errors="surrogateescape")).hexdigest()[:10]
    name = resolved.stem if resolved.is_file() else resolved.name
    if name in {"images", "data", ""}:
        name = f"{resolved.parent.name}-{name}".strip("-")
    return cache_dir() / f"{name}-{tag}.npz"


def default_shards_path(source: Path) -> Path:
    """Where shards of `source` go by default: beside its .npz cache, as a folder."""
    return default_cache_path(source).with_suffix(".shards")


def manifest_path(cache: Path) -> Path:
    """The JSON manifest beside a .npz cache."""
    return cache.with_suffix(".json")
