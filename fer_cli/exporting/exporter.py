"""Exporting a Keras model to other runtimes, then checking the export agrees with it.

One table, `FORMATS`, drives everything: the choices of ``--format``, file
suffixes, supported quantization, and the docs. Every format but ``keras`` goes
through a TensorFlow SavedModel: tf2onnx's ``from_keras`` and
``TFLiteConverter.from_keras_model`` fail on Keras 3.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_cli.atomic import atomic_path
from fer_cli.calibration import TemperatureFit
from fer_cli.errors import ExportError, UsageError
from fer_cli.labels import IMAGE_SIZE
from fer_cli.runtimes.card import CARD_KEY, ModelCard, embed_in_keras
from fer_cli.runtimes.digest import cached_digest
from fer_cli.runtimes.onnx_metadata import (
    CLASS_NAMES_KEY,
    DIGEST_KEY,
    QUANTIZE_KEY,
    TEMPERATURE_KEY,
    VIEWS_KEY,
)
from fer_cli.runtimes.resolve import ModelRef
from fer_cli.views import TTA

ONNX_OPSET = 17


@dataclass(frozen=True)
class Tolerance:
    """How far an export may drift from the Keras model on the parity batch."""

    max_abs_diff: float
    min_top1_agreement: float


EXACT = Tolerance(1e-4, 1.0)
TOLERANCES: dict[str, Tolerance] = {"none": EXACT, "float16": Tolerance(0.02, 0.97), "int8": Tolerance(0.15, 0.85)}


@dataclass(frozen=True)
class ExportFormat:
    """One row of the format table.

    Attributes:
        name: the ``--format`` value.
        suffix: the output's suffix (a folder for ``savedmodel``).
        quantize: the ``--quantize`` values it supports.
        runtime: the runtime that loads it (for the parity check).
        description: for the docs.
    """

    name: str
    suffix: str
    quantize: tuple[str, ...]
    runtime: str
    description: str


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("keras", ".keras", ("none",), "keras", "Keras 3 native file; loads in safe mode"),
        ExportFormat("savedmodel", "_savedmodel", ("none",), "savedmodel", "TensorFlow SavedModel folder (TF Serving, TF.js converter)"),
        ExportFormat("onnx", ".onnx", ("none", "float16", "int8"), "onnx", f"ONNX opset {ONNX_OPSET} via tf2onnx; runs on ONNX Runtime"),
        ExportFormat("tflite", ".tflite", ("none", "float16", "int8"), "tflite", "TensorFlow Lite / LiteRT flatbuffer for mobile and edge"),
    )
}


@dataclass
class ExportResult:
    """Where the export went and how closely it matches the Keras model.

    Attributes:
        calibration: the temperature fitted with ``calibration=``, and what it did
            on the validation images; `None` without.
        unpacked: the sources whose own views, members' averaging or temperature
            were left out, their networks combined afresh (see `fer_cli.models.ensemble.networks`).
    """

    path: Path
    format: str
    quantize: str
    max_abs_diff: float
    top1_agreement: float
    n: int
    bytes: int
    calibration: TemperatureFit | None = None
    unpacked: tuple[Path, ...] = ()


def _tf():
    from fer_cli.tf_env import tensorflow

    return tensorflow()


def _saved_model(model, folder: Path) -> None:
    model.export(str(folder), format="tf_saved_model", verbose=False)


def _write_keras(model, out: Path, quantize: str, sample: np.ndarray, scratch: Path) -> None:
    model.save(out)


def _write_savedmodel(model, out: Path, quantize: str, sample: np.ndarray, scratch: Path) -> None:
    _saved_model(model, out)


def _write_onnx(model, out: Path, quantize: str, sample: np.ndarray, scratch: Path) -> None:
    from fer_cli.optional import require

    tf = _tf()  # first: tf2onnx imports TensorFlow, and through tf_env its start-up noise is filtered
    tf2onnx = require("tf2onnx")
    saved = scratch / "savedmodel"
    _saved_model(model, saved)
    loaded = tf.saved_model.load(str(saved))  # keep a reference: its variables die with it
    spec = (tf.TensorSpec((None, *model.input_shape[1:]), tf.float32, name="image"),)
    plain = scratch / "model.onnx"
    tf2onnx.convert.from_function(loaded.serve, input_signature=spec, opset=ONNX_OPSET, output_path=str(plain))
    if quantize == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(plain), str(out), weight_type=QuantType.QInt8)
    elif quantize == "float16":
        from fer_cli.exporting.onnx_float16 import store_weights_as_float16

        store_weights_as_float16(plain, out)
    else:
        shutil.copyfile(plain, out)


def _write_tflite(model, out: Path, quantize: str, sample: np.ndarray, scratch: Path) -> None:
    tf = _tf()
    saved = scratch / "savedmodel"
    _saved_model(model, saved)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    if quantize == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":
        # Integer weights and activations, calibrated on the sample; float input and output.
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([image[None]] for image in sample[:200])
    out.write_bytes(converter.convert())


WRITERS: dict[str, Callable] = {
    "keras": _write_keras,
    "savedmodel": _write_savedmodel,
    "onnx": _write_onnx,
    "tflite": _write_tflite,
}


def _predict_exported(fmt: ExportFormat, path: Path, images: np.ndarray) -> np.ndarray:
    if fmt.runtime == "savedmodel":
        tf = _tf()
        loaded = tf.saved_model.load(str(path))
        return np.concatenate([loaded.serve(tf.constant(images[i : i + 256])).numpy() for i in range(0, len(images), 256)])
    if fmt.runtime == "onnx":
        from fer_cli.runtimes.onnx_runtime import OnnxRuntime

        return OnnxRuntime(path).predict(images)
    if fmt.runtime == "tflite":
        from fer_cli.runtimes.tflite_runtime import TfliteRuntime

        return TfliteRuntime(path).predict(images)
    from fer_cli.runtimes.keras_runtime import KerasRuntime

    return KerasRuntime(path).predict(images)


def synthetic_batch(n: int = 64, seed: int = 0, size: int = IMAGE_SIZE, channels: int = 1) -> np.ndarray:
    """Deterministic face-sized test images (smooth blobs and gradients, 0..255) for the parity check.

    Drawn at 48x48 gray, then fitted to `size` and `channels` (`fer_cli.imaging.fit_images`).
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE] / IMAGE_SIZE
    images = np.empty((n, IMAGE_SIZE, IMAGE_SIZE, 1), dtype=np.float32)
    for i in range(n):
        image = rng.uniform(40, 200) + rng.uniform(-80, 80) * xx + rng.uniform(-80, 80) * yy
        for _ in range(6):
            cx, cy, r, v = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.3), rng.uniform(-90, 90)
            image = image + v * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
        image = image + rng.normal(0, 8, image.shape)
        images[i, ..., 0] = np.clip(image, 0, 255)
    if (size, channels) == (IMAGE_SIZE, 1):
        return images
    from fer_cli.imaging import fit_images

    return fit_images(images[..., 0].astype(np.uint8), size, channels)


def default_output(source: Path, fmt: ExportFormat, quantize: str, shipped: bool, tta: str = "none",
                   calibrated: bool = False) -> Path:
    """Beside the source model (``best.onnx`` in a run folder); in the current folder for the shipped model.

    What the export adds to the model goes into the name (``best-flip-calibrated.keras``), so
    an export never takes the place of its source or of the source's ONNX twin.
    """
    stem = "fer-default" if shipped else source.stem
    for part in (tta, quantize, "calibrated" if calibrated else "none"):
        if part != "none":
            stem += f"-{part}"
    folder = Path.cwd() if shipped else source.parent
    return folder / f"{stem}{fmt.suffix}"


def export_model(
    sources: Sequence[Path], class_names: tuple[str, ...], format: str, quantize: str = "none", out: Path | None = None,
    sample: np.ndarray | None = None, shipped: bool = False, tta: str = "none",
    calibration: tuple[np.ndarray, np.ndarray] | None = None,
) -> ExportResult:
    """Export .keras models to `format` as one model, then check the export against them.

    Several sources become one model that averages their probabilities; `tta`
    puts test-time views into the graph (see `fer_cli.models.ensemble.combine`);
    `calibration` fits a temperature on the result and builds it in last (see
    `fer_cli.models.temperature`).

    Args:
        sources: the .keras models; one unless combining. When combining or adding
            views, a source with views, members or a temperature of its own gives its
            networks only (see `fer_cli.models.ensemble.networks`).
        class_names: the classes the models predict, in order; written into the
            export's card (inside a .keras or .onnx file, beside it for the other formats).
        format: a key of `FORMATS`.
        quantize: ``none``, ``float16`` or ``int8`` (what the format supports). Defaults to `"none"`.
        out: output path; needed when combining several models. Defaults to `default_output`.
        sample: float32 images (N, 48, 48, 1) for calibration and the parity check.
            Defaults to `synthetic_batch()`.
        shipped: the source is the model shipped with fer. Defaults to `False`.
        tta: ``none``, ``flip`` or ``crops``: views averaged inside the exported graph. Defaults to `"none"`.
        calibration: validation images, float32 (N, 48, 48, 1), and their class indices in
            `class_names` order: fit a temperature on them and build it into the export,
            replacing one the model has already. Defaults to `None` (the model's scores as they are).

    Returns:
        The export and its parity figures.

    Raises:
        UsageError: for a format/quantization the table does not allow.
        ExportError: when conversion fails or the export disagrees with the model.
    """
    from fer_cli.models.ensemble import built_in_views, combine, networks
    from fer_cli.models.temperature import model_temperature
    from fer_cli.runtimes.keras_runtime import load_keras_model

    if format not in FORMATS:
        raise UsageError(f"unknown format {format!r}; choose one of: {', '.join(FORMATS)}")
    fmt = FORMATS[format]
    if quantize not in fmt.quantize:
        raise UsageError(f"--format {format} supports --quantize {', '.join(fmt.quantize)}, not {quantize}")
    sources = [Path(s) for s in sources]
    if not sources:
        raise UsageError("nothing to export: give a model")
    if len(sources) > 1 and out is None:
        raise UsageError("combining several models needs an output path: add -o PATH")
    out = Path(out) if out else default_output(sources[0], fmt, quantize, shipped, tta, calibration is not None)
    if any(out.resolve() == s.resolve() for s in sources):
        raise UsageError(f"the output {out} is a source model itself; pick another path with -o")
    models = [load_keras_model(s) for s in sources]
    size, channels = int(models[0].input_shape[1]), int(models[0].input_shape[-1])
    if sample is None:
        sample = synthetic_batch(size=size, channels=channels)
    elif sample.shape[1:] != (size, size, channels):  # fer's data is 48x48 gray: fitted to the model's input
        from fer_cli.imaging import fit_images

        sample = fit_images(np.clip(sample[..., 0], 0, 255).astype(np.uint8), size, channels)
    sample = sample.astype(np.float32)
    plain = len(models) == 1 and tta == "none"
    unpacked = []
    if not plain:
        # New views or a new ensemble are built from the networks themselves: views on views
        # would multiply the cost (10 x 2 passes) and an ensemble member's temperature would
        # skew the average. The export is calibrated afresh with `calibration`.
        networks_of = [networks(loaded) for loaded in models]
        unpacked = [s for s, loaded, found in zip(sources, models, networks_of) if not (len(found) == 1 and found[0] is loaded)]
        models = [network for found in networks_of for network in found]
    model = models[0] if plain else combine(models, tta)
    fit = None
    if calibration is not None:
        from fer_cli.models.temperature import calibrate

        model, fit = calibrate(model, *calibration)
    expected = np.asarray(model.predict(sample, batch_size=256, verbose=0))

    with tempfile.TemporaryDirectory(prefix="fer-export-") as scratch, atomic_path(out) as tmp:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                WRITERS[format](model, tmp, quantize, sample, Path(scratch))
                got = _predict_exported(fmt, tmp, sample)
        except (UsageError, ExportError):
            raise
        except Exception as exc:  # converters raise anything; the user needs one line
            raise ExportError(f"{format} export failed: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}") from exc
        diff = float(np.abs(got - expected).max()) if len(sample) else 0.0
        agreement = float(np.mean(got.argmax(1) == expected.argmax(1))) if len(sample) else 1.0
        tolerance = TOLERANCES[quantize]
        if diff > tolerance.max_abs_diff or agreement < tolerance.min_top1_agreement:
            raise ExportError(
                f"{format} export disagrees with the Keras model: max |Δp| {diff:.2g} (allowed {tolerance.max_abs_diff:g}), "
                f"top-1 agreement {agreement:.1%} (needed {tolerance.min_top1_agreement:.0%}); nothing written"
            )
        card = ModelCard(class_names=tuple(class_names), input_size=int(model.input_shape[1]),
                         channels=int(model.input_shape[-1]),
                         views=TTA(tta).value if tta != "none" else built_in_views(model).value,
                         temperature=model_temperature(model))
        if format == "onnx":
            metadata = {
                CARD_KEY: card.to_json(),
                # The keys fer wrote before cards, for the fer versions that read only them.
                CLASS_NAMES_KEY: json.dumps(list(class_names)),
                QUANTIZE_KEY: quantize,
                VIEWS_KEY: card.views,
            }
            if card.temperature is not None:
                metadata[TEMPERATURE_KEY] = repr(card.temperature)  # repr: the float, digit for digit
            if plain and quantize == "none" and fit is None:
                # Only an exact export of one model may stand in for its .keras file: the twin (see runtimes.twin).
                metadata[DIGEST_KEY] = cached_digest(sources[0])
            _stamp_onnx(tmp, metadata)
        elif format == "keras":
            embed_in_keras(tmp, card)
    if format not in ("onnx", "keras"):
        card.save_beside(out)  # a .tflite file or a SavedModel folder has no room for it
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) if out.is_dir() else out.stat().st_size
    return ExportResult(out, format, quantize, diff, agreement, len(sample), size, fit, tuple(unpacked))


def onnx_twin(ref: ModelRef, on_export: Callable[[Path], None] | None = None) -> ModelRef:
    """The fresh ONNX twin of a Keras model, exported now if missing or stale; other formats as they are.

    Exporting imports TensorFlow, once per model version; every later call finds the twin.

    Args:
        ref: the resolved model.
        on_export: called with the twin's path before a twin is exported. Defaults to `None`.

    Returns:
        The model to run on ONNX Runtime (or `ref` itself when it is not a Keras model).
    """
    from fer_cli.runtimes.twin import find_twin, twin_target

    if ref.format != "keras":
        return ref
    twin = find_twin(ref)
    if twin is not None:
        return twin
    target = twin_target(ref)
    if on_export is not None:
        on_export(target)
    export_model([ref.path], ref.class_names, "onnx", out=target)
    return ModelRef(target, "onnx")


def _stamp_onnx(path: Path, metadata: dict[str, str]) -> None:
    """Record metadata in the ONNX file: class names, quantization, built-in views, temperature, the twin's digest.

    Args:
        path: the .onnx file, rewritten in place.
        metadata: key → value (see `fer_cli.runtimes.onnx_metadata`).
    """
    from fer_cli.optional import require

    onnx = require("onnx")
    proto = onnx.load(str(path))
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))
