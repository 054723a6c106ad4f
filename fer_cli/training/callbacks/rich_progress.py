"""Progress of training on stderr: a rich bar per epoch on a terminal, a log line per epoch otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable

from fer_cli import output
from fer_cli.tf_env import keras as _keras

keras = _keras()  # the TensorFlow backend, imported quietly; this module is only loaded by training


def _metrics(logs: dict | None, keys: tuple[str, ...] = ("loss", "accuracy", "val_loss", "val_accuracy")) -> str:
    logs = logs or {}
    return "  ".join(f"{k} {float(logs[k]):.4f}" for k in keys if k in logs)


class RichProgress(keras.callbacks.Callback):
    """Shows each epoch's progress and metrics on stderr.

    Args:
        epochs: the planned number of epochs, or a callable returning it (a `TimeBudget` re-plans them).
        steps: batches per epoch.
        quiet: no bar and no per-epoch lines. Defaults to `False`.
    """

    def __init__(self, epochs: int | Callable[[], int], steps: int, quiet: bool = False):
        super().__init__()
        self._epochs = epochs
        self.steps = steps
        self.quiet = quiet
        self._bar = output.progress(quiet)
        self._task = None
        self._start = 0.0

    @property
    def epochs(self) -> int:
        return self._epochs() if callable(self._epochs) else self._epochs

    def on_train_begin(self, logs=None) -> None:
        self._bar.start()

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self._start = time.perf_counter()
        self._task = self._bar.add_task(f"epoch {epoch + 1}/{self.epochs}", total=self.steps, info="")

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        self._bar.update(self._task, completed=batch + 1, info=_metrics(logs, ("loss", "accuracy")))

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        seconds = time.perf_counter() - self._start
        self._bar.update(self._task, completed=self.steps, info=_metrics(logs))
        if not self._bar.disable:
            return
        if not self.quiet:
            output.info(f"epoch {epoch + 1}/{self.epochs}  {_metrics(logs)}  ({seconds:.0f}s)")

    def on_train_end(self, logs=None) -> None:
        self._bar.stop()
