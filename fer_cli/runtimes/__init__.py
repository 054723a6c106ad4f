"""Model files and the runtimes that run them (Keras, ONNX Runtime, TFLite).

Every runtime takes float32 images (N, H, W, C) with raw 0..255 values, H, W and
C as the model's card says (`fer_cli.runtimes.card`), and returns class
probabilities (N, num_classes).
"""

from fer_cli.runtimes.card import ModelCard, read_card
from fer_cli.runtimes.resolve import ModelRef, open_runtime, resolve_model

__all__ = ["ModelCard", "ModelRef", "open_runtime", "read_card", "resolve_model"]
