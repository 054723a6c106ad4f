"""A temperature built into a Keras model's graph (`fer export --calibrate`), so every runtime gives calibrated scores.

`Temperature` rescales the model's output probabilities as
`fer_cli.calibration.apply_temperature` does: softmax(log(p) / T). It is the
last layer, after any views or members are averaged, and it keeps the top
class of every image. T lives in the layer's config (no weights), so the
model's weights stay those of the trained network: `fer train --init-weights`
starts from a calibrated model as from the plain one.

The layer is registered with Keras, so models holding it load in safe mode
once this module is imported (`load_keras_model` imports it).
"""

from __future__ import annotations

import numpy as np

from fer_cli.calibration import PROBABILITY_FLOOR, temperature_fit
from fer_cli.tf_env import keras as _keras

keras = _keras()  # imported quietly; only ever loaded inside functions that need Keras
ops = keras.ops


@keras.saving.register_keras_serializable(package="fer")
class Temperature(keras.layers.Layer):
    """Rescales class probabilities by a temperature: softmax(log(p) / T).

    T > 1 softens over-confident scores, T < 1 sharpens timid ones; the order of
    the classes in each row never changes.

    Args:
        temperature: T, a positive number. Defaults to `1.0`.

    Example:
        >>> calibrated = keras.Model(model.input, Temperature(1.4)(model.output))
    """

    def __init__(self, temperature: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        temperature = float(temperature)
        if not temperature > 0:
            raise ValueError(f"a temperature must be positive, not {temperature}")
        self.temperature = temperature

    def call(self, probabilities):
        # The floor keeps log() finite where a float32 softmax rounded a score to 0.
        logits = ops.log(ops.maximum(probabilities, PROBABILITY_FLOOR))
        return ops.softmax(logits / self.temperature, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "temperature": self.temperature}


def model_temperature(model) -> float | None:
    """The temperature a model ends with, or `None` for a model without one."""
    last = model.layers[-1] if model.layers else None
    return last.temperature if isinstance(last, Temperature) else None


def without_temperature(model):
    """The model before its final `Temperature` layer (the same layers, shared); the model itself when it has none."""
    if model_temperature(model) is None:
        return model
    return keras.Model(model.input, model.layers[-1].input, name=model.name)


def with_temperature(model, temperature: float):
    """The model with `Temperature(temperature)` on its output, replacing a temperature it ends with already.

    Args:
        model: a Keras model that outputs class probabilities.
        temperature: T.

    Returns:
        A model of the same name and weights (its layers are shared, not copied).
    """
    base = without_temperature(model)
    return keras.Model(base.input, Temperature(temperature, name="temperature")(base.output), name=base.name)


def calibrate(model, images: np.ndarray, labels: np.ndarray, batch_size: int = 256):
    """Fit a temperature for a model on labelled held-out images and build it in.

    A temperature the model has already is replaced, not stacked: the fit is on
    the model's scores without it.

    Args:
        model: a Keras model that outputs class probabilities.
        images: float32 images (N, 48, 48, 1), 0..255, of a validation split.
        labels: their true class indices, in the model's class order (N,).
        batch_size: images per forward pass. Defaults to `256`.

    Returns:
        (the calibrated model, the `TemperatureFit`).
    """
    base = without_temperature(model)
    probabilities = np.asarray(base.predict(images, batch_size=batch_size, verbose=0), dtype=np.float64)
    fit = temperature_fit(probabilities, labels)
    return with_temperature(base, fit.temperature), fit
