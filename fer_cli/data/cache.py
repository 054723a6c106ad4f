"""The .npz cache of a data set, with its JSON manifest.

A cache holds, per split, uint8 images (N, 48, 48), int labels and source
paths, plus the class names and a manifest (counts, skipped files, a
fingerprint of the sources and one of the content). Building it again on
unchanged sources reuses it at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fer_cli._version import __version__
from fer_cli.atomic import atomic_path, write_text
from fer_cli.data.audit import audit
from fer_cli.data.paths import cache_dir, default_cache_path, manifest_path
from fer_cli.data.sources import FolderSource, Skipped, file_fingerprint, scan_folder
from fer_cli.data.types import CacheResult, Dataset, Split
from fer_cli.errors import DataError
from fer_cli.labels import EMOTIONS

CACHE_FORMAT = "fer-cache/1"
# Importers of these names from here keep working; they live in leaf modules so that
# shards.py can use them without importing this module.
__all__ = ["CACHE_FORMAT", "CacheResult", "Dataset", "Split", "build_cache", "cache_dir", "default_cache_path",
           "load_cache", "manifest_path"]


def _count_table(class_names: tuple[str, ...], splits: dict[str, Split]) -> dict[str, dict[str, int]]:
    return {
        split: {name: int(np.sum(data.labels == i)) for i, name in enumerate(class_names)}
        for split, data in splits.items()
    }


def _content_fingerprint(class_names: tuple[str, ...], splits: dict[str, Split]) -> str:
    digest = hashlib.sha256("\0".join(class_names).encode())
    for name in sorted(splits):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(splits[name].images).tobytes())
        digest.update(np.ascontiguousarray(splits[name].labels, dtype=np.int64).tobytes())
    return digest.hexdigest()


def _read_manifest(cache: Path) -> dict[str, Any] | None:
    sidecar = manifest_path(cache)
    if not cache.is_file() or not sidecar.is_file():
        return None
    try:
        return json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _save(cache: Path, dataset: Dataset) -> None:
    arrays: dict[str, np.ndarray] = {
        "class_names": np.array(dataset.class_names, dtype=str),
        "manifest": np.array(json.dumps(dataset.manifest)),
    }
    for name, split in dataset.splits.items():
        arrays[f"{name}_images"] = split.images
        arrays[f"{name}_labels"] = split.labels.astype(np.int16)
        arrays[f"{name}_paths"] = split.paths.astype(str)
    # An .npz is a zip of .npy files, written here member by member rather than by
    # np.savez_compressed: decoded face pixels deflate by only ~7% (measured on
    # FER2013) at a cost of 1.6 s, so pixel arrays are stored; paths, labels and
    # names, which shrink several-fold, are deflated.
    with atomic_path(cache) as tmp:
        with zipfile.ZipFile(tmp, "w") as archive:
            for name, array in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_STORED if name.endswith("_images") else zipfile.ZIP_DEFLATED
                with archive.open(info, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
    write_text(manifest_path(cache), json.dumps(dataset.manifest, indent=2) + "\n")


def load_cache(cache: Path) -> Dataset:
    """Load a .npz cache written by `build_cache` (no pickles).

    Raises:
        DataError: when the file is missing, truncated or not a fer cache.
    """
    try:
        with np.load(cache, allow_pickle=False) as npz:
            keys = set(npz.files)
            if "class_names" not in keys or "manifest" not in keys:
                raise DataError(f"{cache} is not a fer data cache (made by `fer prepare`)")
            class_names = tuple(str(c) for c in npz["class_names"])
            manifest = json.loads(str(npz["manifest"]))
            splits = {
                key[: -len("_labels")]: Split(
                    images=npz[key.replace("_labels", "_images")],
                    labels=npz[key].astype(np.int64),
                    paths=npz[key.replace("_labels", "_paths")],
                )
                for key in sorted(keys)
                if key.endswith("_labels")
            }
    except DataError:
        raise
    except FileNotFoundError as exc:
        raise DataError(f"no such file: {cache}") from exc
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{cache} is not a readable fer data cache ({type(exc).__name__}: {exc})") from exc
    return Dataset(class_names=class_names, splits=splits, manifest=manifest, path=cache)


def _from_folders(source: FolderSource, on_start: Callable[[int], Callable[[int], None]] | None) -> tuple[Dataset, dict]:
    from fer_cli.data.decode import decode_images

    flat = [(split, path, label) for split, items in source.files.items() for path, label in items]
    advance = on_start(len(flat)) if on_start else None
    images, failures = decode_images([path for _, path, _ in flat], on_progress=advance)
    skipped = [Skipped(str(flat[i][1]), reason) for i, reason in sorted(failures.items())]
    splits: dict[str, Split] = {}
    for split in source.files:
        keep = [i for i, (s, _, _) in enumerate(flat) if s == split and i not in failures]
        if not keep:
            continue
        splits[split] = Split(
            images=images[keep],
            labels=np.array([source.class_names.index(flat[i][2]) for i in keep], dtype=np.int64),
            paths=np.array([str(flat[i][1]) for i in keep], dtype=str),
        )
    extra = {"ignored_files": source.ignored, "notes": source.notes, "skipped": skipped}
    return Dataset(class_names=source.class_names, splits=splits), extra


def _from_csv(path: Path) -> tuple[Dataset, dict]:
    from fer_cli.data.fer2013_csv import read_fer2013_csv

    rows, skipped = read_fer2013_csv(path)
    splits = {
        name: Split(
            images=np.stack(split.images),
            labels=np.array(split.labels, dtype=np.int64),
            paths=np.array(split.paths, dtype=str),
        )
        for name, split in rows.items()
    }
    return Dataset(class_names=EMOTIONS, splits=splits), {"ignored_files": 0, "notes": [], "skipped": skipped}


def build_cache(
    source: Path,
    out: Path | None = None,
    strict: bool = False,
    force: bool = False,
    on_start: Callable[[int], Callable[[int], None]] | None = None,
) -> CacheResult:
    """Decode a data folder or fer2013.csv into a .npz cache, or reuse a cache still good.

    Args:
        source: a data folder or a fer2013.csv.
        out: the cache file. Defaults to `default_cache_path(source)`.
        strict: refuse (and write nothing) when any file cannot be used. Defaults to `False`.
        force: rebuild even when the cache is up to date. Defaults to `False`.
        on_start: called with the number of files to decode; returns a progress callback.

    Returns:
        The cache, its manifest, and whether it was reused (reading only its manifest).

    Raises:
        DataError: when the source holds no usable data, or (strict) any bad file.
    """
    source = Path(source)
    if not source.exists():
        raise DataError(f"no such file or folder: {source}")
    out = Path(out) if out else default_cache_path(source)
    # The cheap fingerprint (paths, sizes, times) decides whether the cache is still good.
    folder = None if source.is_file() else scan_folder(source)
    fingerprint = file_fingerprint(source) if folder is None else folder.fingerprint()
    previous = _read_manifest(out)
    if not force and previous and previous.get("source_fingerprint") == fingerprint:
        if strict and previous.get("skipped"):
            raise DataError(_strict_message(previous["skipped"]))
        return CacheResult(out, previous, reused=True)

    if source.is_file():
        if source.suffix.lower() != ".csv":
            raise DataError(f"{source}: expected a data folder or a fer2013.csv")
        dataset, extra = _from_csv(source)
    else:
        dataset, extra = _from_folders(folder, on_start)
    skipped = [{"path": s.path, "reason": s.reason} for s in extra["skipped"]]
    if strict and skipped:
        raise DataError(_strict_message(skipped))
    if not dataset.splits:
        raise DataError(f"no image in {source} could be decoded ({len(skipped)} skipped)")
    dataset.manifest = {
        "format": CACHE_FORMAT,
        "fer_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "source": str(source.resolve()),
        "kind": "csv" if source.is_file() else "folders",
        "class_names": list(dataset.class_names),
        "counts": _count_table(dataset.class_names, dataset.splits),
        "skipped": skipped,
        "ignored_files": extra["ignored_files"],
        "notes": extra["notes"],
        "source_fingerprint": fingerprint,
        "content_fingerprint": _content_fingerprint(dataset.class_names, dataset.splits),
        "audit": audit(dataset.splits),
    }
    _save(out, dataset)
    dataset.path = out
    return CacheResult(out, dataset.manifest, reused=False, dataset=dataset)


def _strict_message(skipped: list[dict]) -> str:
    first = skipped[0]
    return f"{len(skipped)} file(s) cannot be used (--strict), first: {first['path']}: {first['reason']}"
