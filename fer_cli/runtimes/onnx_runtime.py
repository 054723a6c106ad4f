"""Running an exported .onnx model with ONNX Runtime (no TensorFlow import)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_cli.errors import ModelError
from fer_cli.runtimes.shapes import input_facts


class OnnxRuntime:
    """Predicts with ONNX Runtime on the CPU.

    What the model expects and its views come from its card (`fer_cli.runtimes.card`),
    read from the file's metadata without loading the graph.

    Args:
        path: a .onnx file.
    """

    name = "onnxruntime"

    def __init__(self, path: Path):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own types for bad files
            raise ModelError(f"cannot load {path}: {str(exc).strip().splitlines()[0]}") from exc
        self.input = self.session.get_inputs()[0].name
        self.num_classes = int(self.session.get_outputs()[0].shape[-1])
        self._shape = self.session.get_inputs()[0].shape

    def facts(self) -> dict:
        """What the graph says of its input: size and channels, where fixed."""
        return input_facts(self._shape)

    def predict(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Class probabilities for float32 images (N, H, W, C) in 0..255, H, W and C as its card says."""
        out = [
            self.session.run(None, {self.input: images[i : i + batch_size].astype(np.float32)})[0]
            for i in range(0, len(images), batch_size)
        ]
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, self.num_classes), np.float32)
