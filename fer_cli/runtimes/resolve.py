"""Turning a ``--model`` value into a model file, its format and its class names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fer_cli.errors import ModelError
from fer_cli.labels import EMOTIONS, IMAGE_SIZE
from fer_cli.runtimes.card import HOW_TO_GIVE_ONE, ModelCard, read_card
from fer_cli.views import TTA

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_MODEL = ASSETS / "default.keras"
SUFFIX_FORMATS = {".keras": "keras", ".onnx": "onnx", ".tflite": "tflite"}


@dataclass(frozen=True)
class ModelRef:
    """A model file.

    Attributes:
        path: the model file.
        format: ``keras``, ``onnx`` or ``tflite``.
    """

    path: Path
    format: str

    @property
    def card(self) -> ModelCard | None:
        """The card the file carries (or has beside it), read once per file version; `None` for a model from elsewhere."""
        return read_card(self.path)

    @property
    def class_names(self) -> tuple[str, ...]:
        """Output index → class name, from the card; the 7 FER2013 emotions for a model without one."""
        card = self.card
        return card.class_names if card is not None else EMOTIONS


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
    """Load `ref` into the runtime for its format, with its completed card as ``runtime.card``.

    Every command that predicts (``fer predict``, ``fer evaluate``) comes through
    here, so this is where ``--tta`` on a model with views built in is refused
    (before the model is loaded, from its card, where the card says so).

    Args:
        ref: the model.
        tta: test-time augmentation, ``none``, ``flip`` or ``crops``. Defaults to `"none"`.

    Returns:
        A runtime with ``predict(images) -> probabilities`` and ``card``.

    Raises:
        ModelError: when the model cannot be loaded or its card does not fit it.
        UsageError: when `tta` is asked of a model that already averages views of its own.
    """
    from fer_cli.runtimes.tta import TtaRuntime, refuse_views_on_views

    stored = ref.card
    if tta != "none" and stored is not None and not stored.legacy:
        refuse_views_on_views(ref.path, TTA(stored.views))
    if ref.format == "onnx":
        from fer_cli.runtimes.onnx_runtime import OnnxRuntime

        runtime = OnnxRuntime(ref.path)
    elif ref.format == "tflite":
        from fer_cli.runtimes.tflite_runtime import TfliteRuntime

        runtime = TfliteRuntime(ref.path)
    else:
        from fer_cli.runtimes.keras_runtime import KerasRuntime

        runtime = KerasRuntime(ref.path)
    runtime.card = complete_card(ref, stored, runtime)
    if tta != "none":
        refuse_views_on_views(ref.path, TTA(runtime.card.views))
        card = runtime.card
        runtime = TtaRuntime(runtime, tta)
        runtime.card = card
    return runtime


def complete_card(ref: ModelRef, card: ModelCard | None, runtime) -> ModelCard:
    """The card of an opened model: the stored one, checked against what the runtime sees.

    A legacy card (class names only) takes the input shape, views and temperature
    the runtime can see; a model without a card is taken as FER2013's 7 emotions on
    48x48 gray faces when it fits them, with a warning that says how to give it one.

    Raises:
        ModelError: when the card and the model disagree, or a model without a card does not fit FER2013's.
    """
    seen = getattr(runtime, "facts", dict)()  # what the loaded model itself says: input_size, channels, views, temperature
    if card is None:
        card = ModelCard(source="", legacy=True)
        if runtime.num_classes != len(EMOTIONS) or seen.get("input_size", IMAGE_SIZE) != IMAGE_SIZE or seen.get("channels", 1) != 1:
            raise ModelError(f"{ref.path} has no fer model card (class names, input size, colour): {HOW_TO_GIVE_ONE}")
        from fer_cli.output import warn

        warn(f"{ref.path} has no fer model card: taking it as the 7 FER2013 emotions on 48x48 gray faces (pixels 0..255); "
             f"to say otherwise, {HOW_TO_GIVE_ONE}")
    if card.legacy:
        card = card.with_(**{k: v for k, v in seen.items() if v is not None})
    else:
        for key in ("input_size", "channels"):
            if seen.get(key) is not None and seen[key] != getattr(card, key):
                raise ModelError(f"{ref.path}: its card says {key} {getattr(card, key)}, but the model takes {seen[key]}")
    if runtime.num_classes != len(card.class_names):
        raise ModelError(f"{ref.path} predicts {runtime.num_classes} classes but its class names list {len(card.class_names)}")
    return card
