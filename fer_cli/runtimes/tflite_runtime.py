"""Running an exported .tflite model with TensorFlow Lite's interpreter."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_cli.errors import ModelError
from fer_cli.runtimes.shapes import input_facts


class TfliteRuntime:
    """Predicts with the TFLite interpreter, one resized batch at a time.

    Args:
        path: a .tflite file.
    """

    name = "tflite"

    def __init__(self, path: Path):
        import warnings

        from fer_cli.tf_env import quiet_stderr, tensorflow

        tf = tensorflow()
        try:
            # Quiet: a deprecation warning (LiteRT is the successor) and an XNNPACK notice on fd 2.
            with warnings.catch_warnings(), quiet_stderr():
                warnings.simplefilter("ignore")
                self.interpreter = tf.lite.Interpreter(model_path=str(path), num_threads=None)
                self.interpreter.allocate_tensors()
        except Exception as exc:  # the interpreter raises ValueError/RuntimeError for bad files
            raise ModelError(f"cannot load {path}: {str(exc).strip().splitlines()[0]}") from exc
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.num_classes = int(self.output["shape"][-1])

    def facts(self) -> dict:
        """What the flatbuffer says of its input (a .tflite file has no room for a card: `fer export` writes it beside)."""
        return input_facts(list(self.input["shape"]))

    def _run(self, batch: np.ndarray) -> np.ndarray:
        self.interpreter.resize_tensor_input(self.input["index"], batch.shape)
        self.interpreter.allocate_tensors()
        self.interpreter.set_tensor(self.input["index"], batch)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output["index"]).astype(np.float32)

    def predict(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Class probabilities for float32 images (N, H, W, C) in 0..255, H, W and C as its card says."""
        out = [self._run(images[i : i + batch_size].astype(np.float32)) for i in range(0, len(images), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, self.num_classes), np.float32)
