"""Data sets: finding images (folders or fer2013.csv), decoding them, caching them as .npz.

The names below are loaded on first use, so importing one submodule (say
`fer_cli.data.paths`) does not import the others.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "CacheResult": "fer_cli.data.types",
    "Dataset": "fer_cli.data.types",
    "build_cache": "fer_cli.data.cache",
    "default_cache_path": "fer_cli.data.paths",
    "load_dataset": "fer_cli.data.loading",
}

__all__ = ["CacheResult", "Dataset", "build_cache", "default_cache_path", "load_dataset"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
