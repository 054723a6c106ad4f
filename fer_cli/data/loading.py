"""One entry point for every form data comes in: a .npz cache, a shard folder, a folder or a csv."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fer_cli.data.types import Dataset


def load_dataset(
    data: Path,
    strict: bool = False,
    on_start: Callable[[int], Callable[[int], None]] | None = None,
    splits: tuple[str, ...] | None = None,
) -> Dataset:
    """Load data from a .npz cache or shard folder, or prepare a folder/csv through the default cache.

    Args:
        data: a .npz cache, a shard folder, a data folder or a fer2013.csv.
        strict: see `build_cache`. Defaults to `False`.
        on_start: see `build_cache`. Defaults to no progress.
        splits: of a shard folder, read only these splits (all of them when it has none of these).
            Defaults to all.

    Returns:
        The data set.
    """
    from fer_cli.data.cache import build_cache, load_cache
    from fer_cli.data.shards import is_shard_dir, load_shards

    data = Path(data)
    if data.suffix.lower() == ".npz":
        return load_cache(data)
    if is_shard_dir(data):
        shards = load_shards(data)
        wanted = [s for s in shards.splits if splits is None or s in splits] or list(shards.splits)
        return Dataset(shards.class_names, {s: shards.read_split(s) for s in wanted}, shards.manifest, data)
    result = build_cache(data, strict=strict, on_start=on_start)
    return result.dataset or load_cache(result.path)
