"""The shapes data takes in memory: a split, a data set, and what building a cache did.

A leaf module: the .npz cache (`cache.py`) and the TFRecord shards (`shards.py`)
both produce these, and neither needs to import the other for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fer_cli.errors import DataError


@dataclass
class Split:
    """One split of a data set.

    Attributes:
        images: uint8 array (N, 48, 48).
        labels: int array (N,), indices into the data set's class names.
        paths: the source of each image (an absolute file path, or ``csv:line``).
    """

    images: np.ndarray
    labels: np.ndarray
    paths: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class Dataset:
    """A decoded data set: class names, splits and the manifest of its cache."""

    class_names: tuple[str, ...]
    splits: dict[str, Split]
    manifest: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def split(self, name: str) -> Split:
        """The split called `name`; strict, so a report never silently measures another split.

        Raises:
            DataError: when there is no such split (naming the splits there are).
        """
        if name in self.splits:
            return self.splits[name]
        raise DataError(f"no split {name!r} in the data (it has: {', '.join(sorted(self.splits))})")

    def split_or_only(self, name: str) -> tuple[str, Split]:
        """The split called `name`, or else the data's only split, with the name of the one given.

        For commands where a lone split is a fair stand-in (``fer evaluate`` on a
        plain folder of class folders); the caller should say so when the name
        differs from the one asked for.

        Returns:
            (the name of the split returned, the split).

        Raises:
            DataError: when there is no such split and more than one other.
        """
        if name not in self.splits and len(self.splits) == 1:
            return next(iter(self.splits.items()))
        return name, self.split(name)


@dataclass
class CacheResult:
    """What `build_cache` or `build_shards` did.

    Attributes:
        path: the cache file (or shard folder).
        manifest: its manifest.
        reused: the cache was up to date and left as it was.
        dataset: the decoded data when it was just built (`None` when reused: load it with `load_cache`).
    """

    path: Path
    manifest: dict[str, Any]
    reused: bool
    dataset: Dataset | None = None
