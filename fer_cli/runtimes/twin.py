"""The ONNX twin of a Keras model: what `fer predict` runs, so it never imports TensorFlow.

A twin is an exact (not quantized) export by `fer export --format onnx`, stamped
with the SHA-256 of the .keras file it came from. It lives beside the Keras file
(``best.keras`` → ``best.onnx``), or in the cache folder (named by the digest)
where that path is taken or read-only; the shipped model's twin ships in the
package.

This module only finds twins and says where a new one goes. Making one
(exporting, which imports TensorFlow) is the command's job: see ``fer predict``.
"""

from __future__ import annotations

import os
from pathlib import Path

from fer_cli.errors import ModelError
from fer_cli.runtimes.digest import cached_digest
from fer_cli.runtimes.onnx_metadata import DIGEST_KEY, QUANTIZE_KEY, read_metadata
from fer_cli.runtimes.resolve import ModelRef


def twin_candidates(keras_path: Path, digest: str) -> list[Path]:
    """Where a twin may be: beside the model, then in the cache folder (named by digest).

    Args:
        keras_path: the .keras file.
        digest: its SHA-256.

    Returns:
        The paths, in the order they are tried.
    """
    # A leaf module (no numpy): the one definition of fer's cache folder.
    from fer_cli.data.paths import cache_dir

    return [keras_path.with_suffix(".onnx"), cache_dir() / "onnx" / f"{digest}.onnx"]


def twin_stamp(path: Path) -> str | None:
    """The digest of the .keras file that `path` is an exact twin of, or `None`.

    A quantized export, an export of several models, a file stamped before fer
    recorded quantization, or a broken file is no one's twin.

    Args:
        path: an .onnx file.
    """
    try:
        metadata = read_metadata(path)
    except ModelError:  # a broken file is as good as none: a new twin is made
        return None
    return metadata.get(DIGEST_KEY) if metadata.get(QUANTIZE_KEY) == "none" else None


def find_twin(ref: ModelRef) -> ModelRef | None:
    """The fresh ONNX twin of a Keras model, or `None` when there is none (or only a stale one).

    Reads only the candidates' metadata, and hashes the Keras file only when it
    changed since the last look (see `runtimes.digest`).

    Args:
        ref: a Keras model.
    """
    digest = cached_digest(ref.path)
    for candidate in twin_candidates(ref.path, digest):
        if candidate.is_file() and twin_stamp(candidate) == digest:
            return ModelRef(candidate, "onnx")
    return None


def twin_target(ref: ModelRef) -> Path:
    """Where a new twin of `ref` goes.

    Beside the model, unless that path holds a file that is not a twin (a user's
    quantized export must not be overwritten) or its folder is read-only (an
    installed package); the cache folder then.

    Args:
        ref: a Keras model.
    """
    beside, cached = twin_candidates(ref.path, cached_digest(ref.path))
    replaceable = not beside.exists() or twin_stamp(beside) is not None  # nothing there, or a stale twin
    return beside if replaceable and os.access(beside.parent, os.W_OK) else cached
