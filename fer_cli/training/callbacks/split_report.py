"""Measures accuracy on an extra split after each epoch, for reporting only."""

from __future__ import annotations

import numpy as np
import keras


class SplitReport(keras.callbacks.Callback):
    """Adds ``<name>_accuracy`` to each epoch's logs (and so to ``history.csv``).

    Used for time-to-accuracy curves on the test split. It never selects a
    model: checkpoints and early stopping look at validation metrics only.

    Args:
        name: the split's name, e.g. ``test``.
        images: uint8 images (N, 48, 48).
        labels: class indices (N,), in the model's class order.
    """

    def __init__(self, name: str, images: np.ndarray, labels: np.ndarray):
        super().__init__()
        self.name = name
        self.images = images.astype(np.float32)[..., None]
        self.labels = labels

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        probabilities = self.model.predict(self.images, batch_size=256, verbose=0)
        if logs is not None:
            logs[f"{self.name}_accuracy"] = float(np.mean(probabilities.argmax(axis=1) == self.labels))
