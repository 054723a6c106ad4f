"""Turning a ``--model`` value into a model file, its format and its class names."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from fer_cli.errors import ModelError
from fer_cli.labels import EMOTIONS

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_MODEL = ASSETS / "default.keras"
SUFFIX_FORMATS = {".keras": "keras", ".onnx": "onnx", ".tflite": "tflite"}


@dataclass(frozen=True)
class ModelRef:
    """A model file and what it predicts.

    Attributes:
        path: the model file.
        format: ``keras``, ``onnx`` or ``tflite``.
        class_names: output index → class name.
    """

    path: Path
    format: str

    @property
    def class_names(self) -> tuple[str, ...]:
        return read_class_names(self.path)


def classes_file_for(model: Path) -> Path:
    """The class-names file written beside a model file: ``NAME.classes.json``."""
    return model.with_name(model.name + ".classes.json")


def read_class_names(model: Path) -> tuple[str, ...]:
    """Class names of a model, from the first place that has them.

    An .onnx file's own metadata (written by `fer export`; it travels with the
    file), else ``MODEL.classes.json``, else ``classes.json`` in its folder, else
    the 7 emotions in FER order.

    Args:
        model: the model file.

    Returns:
        Output index → class name.

    Raises:
        ModelError: when the place that has them holds something else than a list of names.
    """
    if model.suffix.lower() == ".onnx" and model.is_file():
        from fer_cli.runtimes.onnx_metadata import CLASS_NAMES_KEY, read_metadata

        stored = read_metadata(model).get(CLASS_NAMES_KEY)
        if stored is not None:
            return _names(stored, f"the class names in {model}'s metadata")
    for candidate in (classes_file_for(model), model.parent / "classes.json"):
        if candidate.is_file():
            try:
                text = candidate.read_text(encoding="utf-8")
            except OSError as exc:
                raise ModelError(f"cannot read class names from {candidate}: {exc}") from exc
            return _names(text, str(candidate))
    return EMOTIONS


def _names(text: str, source: str) -> tuple[str, ...]:
    """Parse a JSON list of class names; `source` names where it came from in errors."""
    try:
        names = json.loads(text)
    except ValueError as exc:
        raise ModelError(f"cannot read class names from {source}: {exc}") from exc
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or not names:
        raise ModelError(f"{source} must be a JSON list of class names")
    return tuple(names)


def resolve_model(model: str | Path | None) -> ModelRef:
    """Find the model file that `model` names.

    Args:
        model: a run folder (its ``best.keras``, else ``last.keras``), a
            .keras/.onnx/.tflite file, or `None` for the model shipped with fer.

    Raises:
        ModelError: when nothing usable is there.
    """
    if model is None or str(model) == "":
        if not DEFAULT_MODEL.is_file():
            raise ModelError(f"the shipped model is missing ({DEFAULT_MODEL}); reinstall fer or pass --model")
        return ModelRef(DEFAULT_MODEL, "keras")
    path = Path(model)
    if path.is_dir():
        for name in ("best.keras", "last.keras"):
            if (path / name).is_file():
                return ModelRef(path / name, "keras")
        raise ModelError(f"{path} is a folder but not a run folder with best.keras or last.keras")
    if not path.exists():
        raise ModelError(f"no such model: {path}")
    fmt = SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ModelError(f"{path}: unknown model format (expected a run folder, {', '.join(SUFFIX_FORMATS)})")
    return ModelRef(path, fmt)


def open_runtime(ref: ModelRef, tta: str = "none"):
    """Load `ref` into the runtime for its format.

    Every command that predicts (``fer predict``, ``fer evaluate``) comes through
    here, so this is where ``--tta`` on a model with views built in is refused.

    Args:
        ref: the model.
        tta: test-time augmentation, ``none``, ``flip`` or ``crops``. Defaults to `"none"`.

    Returns:
        A runtime with ``predict(images) -> probabilities``.

    Raises:
        ModelError: when the model cannot be loaded or its class names do not fit it.
        UsageError: when `tta` is asked of a model that already averages views of its own.
    """
    if ref.format == "onnx":
        from fer_cli.runtimes.onnx_runtime import OnnxRuntime

        runtime = OnnxRuntime(ref.path)
    elif ref.format == "tflite":
        from fer_cli.runtimes.tflite_runtime import TfliteRuntime

        runtime = TfliteRuntime(ref.path)
    else:
        from fer_cli.runtimes.keras_runtime import KerasRuntime

        runtime = KerasRuntime(ref.path)
    names = ref.class_names
    if runtime.num_classes != len(names):
        raise ModelError(f"{ref.path} predicts {runtime.num_classes} classes but its class names list {len(names)}")
    if tta != "none":
        from fer_cli.runtimes.tta import TtaRuntime, refuse_views_on_views

        refuse_views_on_views(ref.path, runtime.built_in_views)
        return TtaRuntime(runtime, tta)
    return runtime
