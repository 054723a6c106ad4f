"""Sharded TFRecord data sets, for data larger than memory (`fer prepare --shard-size`).

A shard folder holds ``<split>-<nnnnn>.tfrecord`` files of at most
``shard_size`` images each and a ``manifest.json``. Each record is a
`tf.train.Example` with the raw 48x48 uint8 ``image``, its ``label``, its
source ``path`` and a ``bucket`` (0-999) hashed from its path within the
data folder (``train/happy/a.png``, however the folder was typed): a held-out
validation share is the records whose bucket is below ``1000 × val_split``,
the same on every worker and every run, and the manifest's per-bucket class
counts give its exact size without reading the data.

Images are written in a seeded random order, so every shard mixes all
classes and a streaming shuffle buffer of modest size mixes well.
Building one never holds more than a few decoded chunks in memory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fer_cli._version import __version__
from fer_cli.atomic import write_text
from fer_cli.data.paths import default_shards_path
from fer_cli.data.sources import scan_folder
from fer_cli.data.types import CacheResult, Split
from fer_cli.errors import DataError

SHARDS_FORMAT = "fer-shards/1"
MANIFEST = "manifest.json"
BUCKETS = 1000


def path_bucket(path: str) -> int:
    """The validation bucket (0 to `BUCKETS` - 1) of an image, from its path within the data folder."""
    digest = hashlib.blake2b(path.encode(errors="surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % BUCKETS


def image_bucket(root: Path, path: Path) -> int:
    """The validation bucket of the image at `path` under the data folder `root`.

    Keyed on the path within `root`, so the held-out share does not change with
    the working directory or with how the folder was spelled.
    """
    return path_bucket(Path(path).relative_to(root).as_posix())


def is_shard_dir(path: Path) -> bool:
    """Whether `path` is a folder written by `build_shards`."""
    return Path(path).is_dir() and (Path(path) / MANIFEST).is_file()


@dataclass
class ShardSet:
    """A shard folder, read lazily.

    Attributes:
        path: the folder.
        manifest: its manifest.
    """

    path: Path
    manifest: dict[str, Any]

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(self.manifest["class_names"])

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(self.manifest["shards"])

    def files(self, split: str) -> list[str]:
        """The split's shard files, in order."""
        return [str(self.path / shard["file"]) for shard in self.manifest["shards"][split]]

    def bucket_counts(self, split: str) -> np.ndarray:
        """Images per (bucket, class) of a split, shape (`BUCKETS`, classes)."""
        return np.asarray(self.manifest["buckets"][split], dtype=np.int64)

    def read_split(self, split: str) -> Split:
        """Read one split whole into memory (for evaluation, not for training)."""
        from fer_cli.tf_env import tensorflow

        tf = tensorflow()
        images, labels, paths = [], [], []
        for batch in tf.data.TFRecordDataset(self.files(split)).batch(4096).map(parse_records):
            images.append(batch["image"].numpy())
            labels.append(batch["label"].numpy())
            paths.extend(p.decode(errors="surrogateescape") for p in batch["path"].numpy())
        if not labels:
            return Split(np.zeros((0, 48, 48), np.uint8), np.zeros(0, np.int64), np.array([], dtype=str))
        return Split(np.concatenate(images), np.concatenate(labels).astype(np.int64), np.array(paths, dtype=str))


def parse_records(serialized):
    """Parse a batch of serialized records into ``image`` (n,48,48) uint8, ``label``, ``bucket``, ``path``."""
    from fer_cli.tf_env import tensorflow

    tf = tensorflow()
    features = tf.io.parse_example(
        serialized,
        {
            "image": tf.io.FixedLenFeature([], tf.string),
            "label": tf.io.FixedLenFeature([], tf.int64),
            "bucket": tf.io.FixedLenFeature([], tf.int64),
            "path": tf.io.FixedLenFeature([], tf.string),
        },
    )
    images = tf.reshape(tf.io.decode_raw(features["image"], tf.uint8), [-1, 48, 48])
    return {"image": images, "label": features["label"], "bucket": features["bucket"], "path": features["path"]}


def load_shards(path: Path) -> ShardSet:
    """Open a shard folder written by `build_shards`.

    Raises:
        DataError: when its manifest is missing, unreadable, or names missing files.
    """
    path = Path(path)
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path} is not a shard folder (no {MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path / MANIFEST} is not readable ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != SHARDS_FORMAT:
        raise DataError(f"{path} is not a fer shard folder (made by `fer prepare --shard-size`)")
    shards = ShardSet(path, manifest)
    missing = [f for split in shards.splits for f in shards.files(split) if not os.path.isfile(f)]
    if missing:
        raise DataError(f"{path} is incomplete: {len(missing)} shard file(s) missing, first {missing[0]}")
    return shards


class _ShardWriter:
    """Writes one split's records, starting a new file every `shard_size` images."""

    def __init__(self, folder: Path, split: str, shard_size: int, num_classes: int):
        from fer_cli.tf_env import tensorflow

        self.tf = tensorflow()
        self.folder, self.split, self.shard_size = folder, split, shard_size
        self.shards: list[dict[str, Any]] = []
        self.buckets = np.zeros((BUCKETS, num_classes), dtype=np.int64)
        self._writer = None
        self._in_shard = 0

    def write(self, image: np.ndarray, label: int, path: str, bucket: int) -> None:
        tf = self.tf
        if self._writer is None or self._in_shard == self.shard_size:
            self._close()
            name = f"{self.split}-{len(self.shards):05d}.tfrecord"
            self.shards.append({"file": name, "images": 0})
            self._writer = tf.io.TFRecordWriter(str(self.folder / name))
            self._in_shard = 0
        feature = tf.train.Feature
        example = tf.train.Example(
            features=tf.train.Features(
                feature={
                    "image": feature(bytes_list=tf.train.BytesList(value=[image.tobytes()])),
                    "label": feature(int64_list=tf.train.Int64List(value=[label])),
                    "bucket": feature(int64_list=tf.train.Int64List(value=[bucket])),
                    "path": feature(bytes_list=tf.train.BytesList(value=[path.encode(errors="surrogateescape")])),
                }
            )
        )
        self._writer.write(example.SerializeToString())
        self._in_shard += 1
        self.shards[-1]["images"] += 1
        self.buckets[bucket, label] += 1

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> None:
        self._close()


def build_shards(
    source: Path,
    out: Path | None = None,
    shard_size: int = 50_000,
    strict: bool = False,
    force: bool = False,
    seed: int = 0,
    on_start: Callable[[int], Callable[[int], None]] | None = None,
) -> CacheResult:
    """Decode a data folder into TFRecord shards with bounded memory, or reuse shards still good.

    Args:
        source: a data folder (train/ and test/ class folders, or class folders).
        out: the shard folder. Defaults to `default_shards_path(source)`.
        shard_size: images per shard file. Defaults to `50_000`.
        strict: refuse (and write nothing) when any file cannot be used. Defaults to `False`.
        force: rebuild even when the shards are up to date. Defaults to `False`.
        seed: seed of the order images are written in. Defaults to `0`.
        on_start: called with the number of files to decode; returns a progress callback.

    Returns:
        The folder, its manifest and whether it was reused.

    Raises:
        DataError: for a csv or missing source, no usable image, or (strict) any bad file.
    """
    from fer_cli.data.audit import StreamingAudit
    from fer_cli.data.decode import iter_decoded

    source = Path(source)
    if not source.exists():
        raise DataError(f"no such file or folder: {source}")
    if source.is_file():
        raise DataError(f"{source}: sharded output is made from image folders; cache a csv with `fer prepare` (no --shard-size)")
    if shard_size < 1:
        raise DataError("--shard-size must be at least 1")
    out = Path(out) if out else default_shards_path(source)
    if out.exists() and not is_shard_dir(out) and (not out.is_dir() or any(out.iterdir())):
        raise DataError(f"{out} exists and is not a shard folder; choose another --out")
    folder = scan_folder(source)
    fingerprint = folder.fingerprint()
    if not force and is_shard_dir(out):
        try:
            previous = load_shards(out).manifest
        except DataError:
            previous = None
        if previous and previous.get("source_fingerprint") == fingerprint and previous.get("shard_size") == shard_size:
            if strict and previous.get("skipped"):
                raise DataError(f"{len(previous['skipped'])} file(s) cannot be used (--strict), first: {previous['skipped'][0]['path']}")
            return CacheResult(out, previous, reused=True)

    rng = np.random.default_rng(seed)
    class_names = folder.class_names
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    total = sum(len(items) for items in folder.files.values())
    advance = on_start(total) if on_start else None
    skipped: list[dict[str, str]] = []
    audit = StreamingAudit()
    writers: dict[str, _ShardWriter] = {}
    try:
        for split, items in folder.files.items():
            order = rng.permutation(len(items))
            paths = [items[i][0] for i in order]
            labels = [class_names.index(items[i][1]) for i in order]
            writer = writers[split] = _ShardWriter(staging, split, shard_size, len(class_names))
            for start, images, failures in iter_decoded(paths):
                failed = dict(failures)
                keep = [i for i in range(len(images)) if i not in failed]
                for i, reason in failures:
                    skipped.append({"path": str(paths[start + i]), "reason": reason})
                names = [str(paths[start + i]) for i in keep]
                kept_labels = [labels[start + i] for i in keep]
                for i, name, label in zip(keep, names, kept_labels):
                    writer.write(images[i], label, name, image_bucket(folder.root, paths[start + i]))
                audit.add(split, images[keep], kept_labels, names)
                if advance:
                    advance(len(images))
            writer.close()
        if strict and skipped:
            raise DataError(f"{len(skipped)} file(s) cannot be used (--strict), first: {skipped[0]['path']}: {skipped[0]['reason']}")
        written = {split: w for split, w in writers.items() if w.shards}
        if not written:
            raise DataError(f"no image in {source} could be decoded ({len(skipped)} skipped)")
        manifest = {
            "format": SHARDS_FORMAT,
            "fer_version": __version__,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "source": str(source.resolve()),
            "kind": "folders",
            "class_names": list(class_names),
            "counts": {
                split: {name: int(w.buckets[:, i].sum()) for i, name in enumerate(class_names)}
                for split, w in written.items()
            },
            "skipped": skipped,
            "ignored_files": folder.ignored,
            "notes": folder.notes,
            "source_fingerprint": fingerprint,
            "shard_size": shard_size,
            "seed": seed,
            "shards": {split: w.shards for split, w in written.items()},
            "buckets": {split: w.buckets.tolist() for split, w in written.items()},
            "audit": audit.report(),
        }
        write_text(staging / MANIFEST, json.dumps(manifest) + "\n")
        _swap_in(staging, out)
    finally:
        for writer in writers.values():
            writer.close()
        shutil.rmtree(staging, ignore_errors=True)
    return CacheResult(out, manifest, reused=False)


def _swap_in(staging: Path, out: Path) -> None:
    """Replace `out` by the finished `staging` folder, so no reader sees a half-written set."""
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        os.replace(out, old)
    os.replace(staging, out)
    shutil.rmtree(old, ignore_errors=True)
