"""Saves a run's state after every epoch: last and best model, history, epoch count."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import time
from pathlib import Path

from fer_cli.atomic import atomic_path, write_text
from fer_cli.runtimes.card import ModelCard, embed_in_keras
from fer_cli.tf_env import keras as _keras
from fer_cli.training.precision import float32_copy
from fer_cli.training.rng_state import rng_states
from fer_cli.training.run_dir import BEST_MODEL, CLASSES_FILE, HISTORY_FILE, LAST_MODEL, STATE_FILE

keras = _keras()  # the TensorFlow backend, imported quietly; this module is only loaded by training


class RunCheckpoint(keras.callbacks.Callback):
    """Writes the run folder at the end of each epoch, every file atomically.

    In order: ``last.keras`` (with optimizer state, for `--resume`), ``best.keras``
    when the monitored metric improved, then ``history.csv`` and ``state.json``.
    A crash between two writes leaves the previous epoch's state intact, and
    the history never holds an epoch whose weights were not saved.

    ``last.keras`` holds the raw weights (and, with EMA, the averaged ones in
    the optimizer) and ``state.json`` the layers' random state, so that
    `--resume` continues exactly; ``best.keras`` holds the weights the metric
    was measured on (the averaged ones, with EMA), without optimizer and in
    float32 even when the run trains in mixed precision. Both carry the model's
    card (`fer_cli.runtimes.card`: input size, channels, class names), so each
    file says what it expects wherever it is copied.

    Args:
        run_dir: the run folder.
        monitor: metric that picks the best model. Defaults to `"val_accuracy"`.
        history: rows of epochs already done (when resuming). Defaults to `None`.
        best: best monitored value so far (when resuming). Defaults to `None`.
        ema: the run's `EMAWeights` callback, if it averages weights. Defaults to `None`.
        planned: returns the epochs planned now, which a `TimeBudget` re-plans. Defaults to the epochs Keras trains to.
    """

    def __init__(self, run_dir: Path, monitor: str = "val_accuracy", history: list | None = None, best: float | None = None,
                 ema=None, planned=None):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.monitor = monitor
        self.history = list(history or [])
        self.best = best
        self.ema = ema
        self.planned = planned or (lambda: self.params.get("epochs"))
        self._start = 0.0
        self._card: ModelCard | None = None
        self._offset = float(self.history[-1].get("seconds", 0.0)) if self.history else 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._start = time.perf_counter()
        shape = self.model.input_shape
        self._card = ModelCard(class_names=tuple(json.loads((self.run_dir / CLASSES_FILE).read_text(encoding="utf-8"))),
                               input_size=int(shape[1]), channels=int(shape[-1]))

    def _save(self, model, target: Path) -> None:
        with atomic_path(target) as tmp:
            model.save(tmp)
            embed_in_keras(tmp, self._card)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = dict(logs or {})
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in logs.items()}}
        row["lr"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        # Wall-clock training time so far, resumed sessions included (for time-to-accuracy curves).
        row["seconds"] = round(self._offset + time.perf_counter() - self._start, 1)
        with self.ema.raw_weights() if self.ema else contextlib.nullcontext():
            self._save(self.model, self.run_dir / LAST_MODEL)
        value = logs.get(self.monitor, logs.get(self.monitor.removeprefix("val_")))
        improved = value is not None and not math.isnan(value) and (self.best is None or value > self.best)
        if improved:
            self.best = float(value)
            # For inference: no optimizer (a third the size) and float32 whatever precision trained it.
            self._save(float32_copy(self.model), self.run_dir / BEST_MODEL)
        self.history.append(row)
        self._write_history()
        state = {"epochs_done": epoch + 1, "planned_epochs": self.planned(), "best": self.best,
                 "monitor": self.monitor, "rng": rng_states(self.model)}
        write_text(self.run_dir / STATE_FILE, json.dumps(state, indent=2) + "\n")

    def _write_history(self) -> None:
        fields: list[str] = []
        for row in self.history:
            fields.extend(k for k in row if k not in fields)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.history)
        write_text(self.run_dir / HISTORY_FILE, buffer.getvalue())

