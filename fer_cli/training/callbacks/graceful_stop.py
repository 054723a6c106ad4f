"""Stops training cleanly on Ctrl-C or SIGTERM, after the current epoch is saved."""

from __future__ import annotations

import signal
import threading

from fer_cli import output
from fer_cli.tf_env import keras as _keras

keras = _keras()  # the TensorFlow backend, imported quietly; this module is only loaded by training


class GracefulStop(keras.callbacks.Callback):
    """The first SIGINT/SIGTERM finishes the current epoch (so it is saved), then stops.

    A second signal aborts at once; the last finished epoch is already saved.
    `stopped` tells afterwards whether a signal ended the run.
    """

    def __init__(self):
        super().__init__()
        self.stopped = False
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        if self.stopped:
            raise KeyboardInterrupt
        self.stopped = True
        output.warn("stopping after this epoch (it will be saved); press Ctrl-C again to abort now")

    def on_train_begin(self, logs=None) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if self.stopped:
            self.model.stop_training = True

    def on_train_end(self, logs=None) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
