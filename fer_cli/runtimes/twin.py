"""The ONNX twin of a Keras model: what `fer predict` runs, so it never imports TensorFlow.

A twin is the model exported by `fer export --format onnx`, stamped with the
SHA-256 of the .keras file it came from. It lives beside the Keras file
(``best.keras`` → ``best.onnx``); the shipped model's twin ships in the
package. A missing or stale twin is exported on first use (this once imports
TensorFlow); where the model's folder is read-only it goes to the cache folder.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from fer_cli import output
from fer_cli.runtimes.resolve import ModelRef

DIGEST_KEY = "source_sha256"


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def twin_candidates(keras_path: Path, digest: str) -> list[Path]:
    """Where a twin may be: beside the model, then in the cache folder (named by digest)."""
    from fer_cli.data.cache import cache_dir

    return [keras_path.with_suffix(".onnx"), cache_dir() / "onnx" / f"{digest}.onnx"]


def _stamp(path: Path) -> str | None:
    import onnxruntime as ort

    try:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception:  # a broken twin is as good as none: it gets rebuilt
        return None
    return session.get_modelmeta().custom_metadata_map.get(DIGEST_KEY)


def onnx_twin(ref: ModelRef, quiet: bool = False) -> ModelRef:
    """The ONNX twin of a Keras model (exported now if missing or stale); other formats as they are.

    Args:
        ref: the model.
        quiet: no message when a twin is exported. Defaults to `False`.
    """
    if ref.format != "keras":
        return ref
    digest = file_digest(ref.path)
    candidates = twin_candidates(ref.path, digest)
    for candidate in candidates:
        if candidate.is_file() and _stamp(candidate) == digest:
            return ModelRef(candidate, "onnx")
    from fer_cli.export import export_model

    target = next((c for c in candidates if os.access(c.parent if c.parent.exists() else c.parent.parent, os.W_OK)), candidates[-1])
    if not quiet:
        output.info(f"exporting {ref.path} to ONNX for fast prediction (once): {target}")
    export_model([ref.path], ref.class_names, "onnx", out=target)
    return ModelRef(target, "onnx")
