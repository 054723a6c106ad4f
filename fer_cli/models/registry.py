"""Name → builder mapping for architectures, and the common input/output wrapping."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fer_cli.errors import UsageError
from fer_cli.labels import IMAGE_SIZE


@dataclass(frozen=True)
class ModelSpec:
    """A registered architecture.

    Attributes:
        name: the name used with ``fer train --model``.
        description: one line for ``--help`` and listings.
        body: builds the network from the scaled input tensor and returns the
            final feature tensor; `build_model` adds the classifier head.
    """

    name: str
    description: str
    body: Callable[[Any, int], Any]


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(name: str, description: str) -> Callable:
    """Decorator that registers an architecture under `name`.

    Args:
        name: the registry name.
        description: one line shown in listings.

    Returns:
        The decorator; it returns the builder unchanged.
    """

    def decorate(body: Callable[[Any, int], Any]) -> Callable[[Any, int], Any]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        _REGISTRY[name] = ModelSpec(name, description, body)
        return body

    return decorate


def list_models() -> list[str]:
    """Names of the registered architectures, sorted."""
    return sorted(_REGISTRY)


def get_model_spec(name: str) -> ModelSpec:
    """The spec registered as `name`.

    Raises:
        UsageError: for an unknown name (the message lists the known ones).
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UsageError(f"unknown model {name!r}; choose one of: {', '.join(list_models())}") from None


def build_model(name: str, num_classes: int, image_size: int = IMAGE_SIZE):
    """Build an (uncompiled) Keras model of architecture `name`.

    Args:
        name: a registered architecture.
        num_classes: number of output classes.
        image_size: input side in pixels. Defaults to `48`.

    Returns:
        A `keras.Model` taking raw 0..255 grayscale (N, size, size, 1) and
        returning class probabilities (N, num_classes).
    """
    from fer_cli.tf_env import keras as _keras

    keras = _keras()

    spec = get_model_spec(name)
    inputs = keras.Input((image_size, image_size, 1), name="image")
    x = keras.layers.Rescaling(1.0 / 255, name="scale")(inputs)
    x = spec.body(x, num_classes)
    x = keras.layers.Dense(num_classes, name="logits")(x)
    x = keras.layers.Activation("softmax", name="probabilities", dtype="float32")(x)
    return keras.Model(inputs, x, name=name)


def count_flops(model) -> int:
    """Multiply-accumulates ×2 per image for the conv and dense layers of `model`."""
    from fer_cli.tf_env import keras as _keras

    keras = _keras()

    flops = 0
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)):
            out_h, out_w = layer.output.shape[1:3]
            kernel = layer.kernel.shape  # (kh, kw, in, out) or (kh, kw, in, mult)
            per_pixel = kernel[0] * kernel[1] * kernel[2] * kernel[3]
            flops += 2 * out_h * out_w * per_pixel
        elif isinstance(layer, keras.layers.Dense):
            flops += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
    return int(flops)


def describe_models(num_classes: int = 7) -> list[dict[str, Any]]:
    """One record per architecture: name, parameters, FLOPs per image, description."""
    records = []
    for name in list_models():
        model = build_model(name, num_classes)
        records.append(
            {
                "name": name,
                "params": int(model.count_params()),
                "flops": count_flops(model),
                "description": _REGISTRY[name].description,
            }
        )
    return records
