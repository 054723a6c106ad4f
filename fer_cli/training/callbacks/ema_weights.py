"""Puts the optimizer's moving average of the weights (EMA) in the model wherever the model is judged."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from fer_cli.tf_env import keras as _keras

keras = _keras()  # the TensorFlow backend, imported quietly; this module is only loaded by training


class EMAWeights(keras.callbacks.Callback):
    """Validation, the epoch-end callbacks after this one, and the finished model see the EMA weights;
    training steps see the raw ones.

    Keras' own `SwapEMAWeights(swap_on_epoch=True)` leaves the EMA weights in
    the model when later callbacks save it, so a checkpoint holds the average
    as the weights and the raw weights in the optimizer's average slots; a run
    resumed from it trains on with the two exchanged. Here `raw_weights()`
    lets a checkpoint save the raw ones, and each swap exchanges values
    exactly (Keras' in-place ``a+b, a-b`` arithmetic rounds), so a resumed run
    continues bit for bit.

    Use it with an optimizer built with ``use_ema=True``, first in the callback list.
    """

    def __init__(self):
        super().__init__()
        self.ema_in_model = False

    def _pairs(self):
        optimizer = self.model.optimizer
        return zip(optimizer._trainable_variables, optimizer._model_variables_moving_average, strict=True)

    def _swap(self) -> None:
        for variable, average in self._pairs():
            raw = keras.ops.convert_to_numpy(variable)
            variable.assign(average)
            average.assign(raw)
        self.ema_in_model = not self.ema_in_model

    def _show(self, ema: bool) -> None:
        if self.ema_in_model != ema:
            self._swap()

    @contextlib.contextmanager
    def raw_weights(self) -> Iterator[None]:
        """The raw weights in the model (the EMA ones in the optimizer) for the duration, as a resumable checkpoint needs."""
        was = self.ema_in_model
        self._show(False)
        try:
            yield
        finally:
            self._show(was)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._show(False)

    def on_test_begin(self, logs: dict | None = None) -> None:
        self._show(True)

    def on_test_end(self, logs: dict | None = None) -> None:
        self._show(False)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._show(True)

    def on_train_end(self, logs: dict | None = None) -> None:
        # The trained model is the averaged one.
        self._show(True)
