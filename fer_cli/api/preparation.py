"""`prepare`: decode a data set into fer's .npz cache (or TFRecord shards), audited."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fer_cli.data.types import CacheResult


def prepare(data: str | Path, out: str | Path | None = None, *, strict: bool = False, force: bool = False,
            shard_size: int | None = None,
            on_start: Callable[[int], Callable[[int], None]] | None = None) -> CacheResult:
    """Decode a data set into an .npz cache with a JSON manifest: what `fer prepare` does.

    Args:
        data: a folder with train/ and test/ (and val/) class folders, a folder of class folders, or a fer2013.csv.
        out: the cache file to write. Defaults to fer's cache folder (``~/.cache/fer/NAME-HASH.npz``).
        strict: refuse (and write nothing) if any image cannot be read. Defaults to skipping it.
        force: rebuild even if the cache is up to date. Defaults to `False`.
        shard_size: write a folder of TFRecord shards of this many images instead (needs TensorFlow).
        on_start: progress: called with the number of images to decode, returns ``advance(n)``.

    Returns:
        The `CacheResult`: ``path``, ``manifest`` (counts per split and class, skipped files,
        audit) and ``reused`` (the cache was up to date).
    """
    out = Path(out) if out is not None else None
    if shard_size:
        from fer_cli.optional import check

        check("tensorflow", feature="prepare with shard_size")  # TFRecord shards; a .npz cache needs no TensorFlow
        from fer_cli.data.shards import build_shards

        return build_shards(Path(data), out=out, shard_size=shard_size, strict=strict, force=force, on_start=on_start)
    from fer_cli.data import build_cache

    return build_cache(Path(data), out=out, strict=strict, force=force, on_start=on_start)
