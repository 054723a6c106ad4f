"""Model files and the runtimes that run them (Keras, ONNX Runtime, TFLite).

Every runtime takes float32 images (N, 48, 48, 1) with raw 0..255 values and
returns class probabilities (N, num_classes).
"""

from fer_cli.runtimes.resolve import ModelRef, open_runtime, resolve_model

__all__ = ["ModelRef", "open_runtime", "resolve_model"]
