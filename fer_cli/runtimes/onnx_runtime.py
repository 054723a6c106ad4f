"""Running an exported .onnx model with ONNX Runtime (no TensorFlow import)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_cli.errors import ModelError
from fer_cli.runtimes.onnx_metadata import VIEWS_KEY
from fer_cli.views import TTA


class OnnxRuntime:
    """Predicts with ONNX Runtime on the CPU.

    Args:
        path: a .onnx file.

    Attributes:
        built_in_views: the test-time views inside the graph, as stamped by `fer export`.
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
        stamped = self.session.get_modelmeta().custom_metadata_map.get(VIEWS_KEY, TTA.none.value)
        # An unknown value is from a newer fer: assume views, so --tta is refused rather than stacked.
        self.built_in_views = TTA(stamped) if stamped in TTA.__members__ else TTA.crops

    def predict(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Class probabilities for float32 images (N, 48, 48, 1) in 0..255."""
        out = [
            self.session.run(None, {self.input: images[i : i + batch_size].astype(np.float32)})[0]
            for i in range(0, len(images), batch_size)
        ]
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, self.num_classes), np.float32)
