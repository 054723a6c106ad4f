"""Loading a model for prediction: the one place that decides what runs (the ONNX twin policy).

`fer predict`, `fer evaluate`, `fer_cli.Recognizer` and `fer_cli.evaluate` all
load through `load_model`, so they run the same thing for the same ``--model``:

- an .onnx or .tflite file runs as it is;
- a .keras file (a run folder, the shipped model) runs as its ONNX twin, an
  exact export stamped with its digest (`fer_cli.runtimes.twin`); where none is
  fresh and TensorFlow is installed, the twin is exported first, once per model
  version; in the light install that cannot be done, and one line says what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fer_cli.runtimes.card import ModelCard
from fer_cli.runtimes.resolve import ModelRef, open_runtime, resolve_model
from fer_cli.views import TTA

# What exporting a twin needs: the [train] extra's converters.
EXPORT_MODULES = ("tensorflow", "keras", "tf2onnx", "onnx")


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to predict.

    Attributes:
        ref: the model the user named (a run folder's best.keras, the shipped model, a file).
        runs: the file that runs: `ref` itself, or its ONNX twin.
        runtime: the runtime, with ``predict(images) -> probabilities`` (test-time views applied when asked).
        tta: the views averaged at run time.
    """

    ref: ModelRef
    runs: ModelRef
    runtime: Any
    tta: TTA

    @property
    def card(self) -> ModelCard:
        """What the model expects and gives (input size, channels, class names, views, temperature)."""
        return self.runtime.card

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.card.class_names


def load_model(model: str | Path | None = None, tta: TTA | str = TTA.none,
               on_export: Callable[[Path], None] | None = None) -> LoadedModel:
    """Resolve `model`, pick what runs (see the module docstring) and open it.

    Args:
        model: a run folder, a .keras/.onnx/.tflite file, or `None` for the shipped model.
        tta: test-time views to average at run time: ``none``, ``flip`` or ``crops``. Defaults to ``none``.
        on_export: called with the twin's path before a twin is exported (to say so). Defaults to `None`.

    Raises:
        ModelError: when the model cannot be found or loaded.
        UsageError: `tta` on a model with views of its own; a .keras model without a twin in the light install.
    """
    tta = TTA(tta)
    ref = resolve_model(model)
    runs = runnable(ref, on_export)
    return LoadedModel(ref=ref, runs=runs, runtime=open_runtime(runs, tta.value), tta=tta)


def runnable(ref: ModelRef, on_export: Callable[[Path], None] | None = None) -> ModelRef:
    """The file to run for `ref`: itself, unless a .keras model, whose ONNX twin runs (exported now if need be).

    Raises:
        MissingExtra: a .keras model without a fresh twin where TensorFlow is not installed.
    """
    if ref.format != "keras":
        return ref
    from fer_cli.runtimes.twin import find_twin

    twin = find_twin(ref)
    if twin is not None:
        return twin
    from fer_cli.optional import MissingExtra, available
    from fer_cli.runtimes.keras_runtime import check_keras_file

    check_keras_file(ref.path)
    missing = next((m for m in EXPORT_MODULES if not available(m)), None)
    if missing is not None:
        # Said before anything is announced: the light install cannot export, so it never says it will.
        raise MissingExtra(missing, feature=f"running {ref.path} (a .keras model without its ONNX twin; "
                                            f"`fer export {ref.path} -f onnx` makes one where TensorFlow is)")
    from fer_cli.exporting.exporter import onnx_twin

    return onnx_twin(ref, on_export)
