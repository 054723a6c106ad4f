"""Measures accuracy on an extra split after each epoch, for reporting only."""

from __future__ import annotations

from collections.abc import Callable

from fer_cli.tf_env import keras as _keras

keras = _keras()  # the TensorFlow backend, imported quietly; this module is only loaded by training


class SplitReport(keras.callbacks.Callback):
    """Adds ``<name>_accuracy`` to each epoch's logs (and so to ``history.csv``).

    Used for time-to-accuracy curves on the test split. It never selects a
    model: checkpoints and early stopping look at validation metrics only.

    Args:
        name: the split's name, e.g. ``test``.
        measure: returns the model's accuracy on that split; it runs on every
            worker of a distributed run, which is what its collective ops need.
    """

    def __init__(self, name: str, measure: Callable[[keras.Model], float]):
        super().__init__()
        self.name = name
        self.measure = measure

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        accuracy = float(self.measure(self.model))
        if logs is not None:
            logs[f"{self.name}_accuracy"] = accuracy
