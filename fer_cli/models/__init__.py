"""The registry of architectures: a name maps to a builder function.

Adding an architecture is one decorated function in a module of this package::

    @register_model("mynet", "what it is")
    def mynet(x, num_classes):
        ...  # x is the scaled input tensor (N, 48, 48, 1) in [0, 1]
        return features  # build_model adds the Dense + softmax head

Every model built here takes raw pixel values (0..255, float32, shape
(N, 48, 48, 1)) and scales them itself, so exported models need no
preprocessing beyond decoding and resizing.
"""

from fer_cli.models.registry import ModelSpec, build_model, describe_models, get_model_spec, list_models, register_model

# Importing the modules registers their architectures.
from fer_cli.models import resnet, seed  # noqa: E402,F401  isort: skip

__all__ = ["ModelSpec", "build_model", "describe_models", "get_model_spec", "list_models", "register_model"]
