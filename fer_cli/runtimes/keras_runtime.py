"""Running a Keras model (.keras), loaded in safe mode."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from fer_cli.errors import ModelError


def check_keras_file(path: Path) -> Path:
    """Refuse a missing, foreign or truncated .keras file before anything slow (TensorFlow, an export) starts.

    Raises:
        ModelError: naming what is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"no such model file: {path}")
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path} is not a Keras model file (.keras), or it is truncated")
    return path


def load_keras_model(path: Path, compile: bool = False):
    """Load a .keras file with Keras safe mode on (no code from Lambda layers runs).

    Args:
        path: the model file.
        compile: restore the optimizer and loss too (to resume training). Defaults to `False`.

    Raises:
        ModelError: when the file is missing, truncated, foreign or unsafe.
    """
    from fer_cli.tf_env import keras as _keras

    keras = _keras()
    import fer_cli.models.temperature  # noqa: F401  registers the layer of calibrated models
    import fer_cli.models.view_layers  # noqa: F401  registers the layers of models with built-in TTA

    path = check_keras_file(path)
    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except Exception as exc:  # Keras raises many kinds for a bad file; all mean "can't use it"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"cannot load {path}: {first}") from exc


class KerasRuntime:
    """Predicts with a Keras model in-process.

    Args:
        path: a .keras file.

    """

    name = "keras"

    def __init__(self, path: Path):
        self.model = load_keras_model(path)
        self.num_classes = int(self.model.output_shape[-1])

    def facts(self) -> dict:
        """What the loaded model shows of itself: its input, the views and temperature built into it."""
        from fer_cli.models.ensemble import built_in_views
        from fer_cli.models.temperature import model_temperature
        from fer_cli.runtimes.shapes import input_facts

        return {**input_facts(self.model.input_shape), "views": built_in_views(self.model).value,
                "temperature": model_temperature(self.model)}

    def predict(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Class probabilities for float32 images (N, H, W, C) in 0..255, H, W and C as its card says."""
        if len(images) == 0:
            return np.zeros((0, self.num_classes), dtype=np.float32)
        return np.asarray(self.model.predict(images, batch_size=batch_size, verbose=0), dtype=np.float32)
