"""Fits a run into a budget of training minutes: re-plans its epochs and learning-rate schedule after each one."""

from __future__ import annotations

import math
import time

from fer_cli import output
from fer_cli.tf_env import keras as _keras

keras = _keras()  # the TensorFlow backend, imported quietly; this module is only loaded by training

RECENT = 5  # epochs the cost estimate averages: enough to smooth noise, few enough to follow a machine that slows down


class TimeBudget(keras.callbacks.Callback):
    """Plans as many epochs as fit in `minutes` of training, and stops after the last of them.

    After each epoch it estimates what one costs, from the wall time between
    epoch ends (checkpoints and validation included): the mean of this
    sitting's last few epochs, leaving out its first once others exist, since
    the first also builds the graphs. The plan is then the epochs done plus
    those that fit in the time left, at most `max_epochs`; with a schedule,
    the learning rate decays to 0 at the plan's last step, as if the run had
    been planned that long from the start. Minutes count training time across
    `--resume` sittings, not the time between them.

    Run it before the checkpoint, so that the saved optimizer and
    ``state.json`` carry the new plan.

    Args:
        minutes: the budget of training time, all sittings together.
        max_epochs: the most epochs the run may have (the config's `epochs`).
        steps_per_epoch: batches per epoch, to turn epochs into schedule steps.
        schedule: the optimizer's `ReplannableDecay`, or `None` for a constant rate. Defaults to `None`.
        seconds_done: training time of earlier sittings. Defaults to `0.0`.
        planned: epochs planned by an earlier sitting. Defaults to `max_epochs`.
        quiet: no message when the plan changes. Defaults to `False`.
        clock: returns seconds, for differences. Defaults to `time.perf_counter`.
    """

    def __init__(self, minutes: float, max_epochs: int, steps_per_epoch: int, schedule=None, seconds_done: float = 0.0,
                 planned: int | None = None, quiet: bool = False, clock=time.perf_counter):
        super().__init__()
        self.budget = float(minutes) * 60.0
        self.max_epochs = int(max_epochs)
        self.steps_per_epoch = int(steps_per_epoch)
        self.schedule = schedule
        self.seconds_done = float(seconds_done)
        self.planned = int(planned or max_epochs)
        self.quiet = quiet
        self.clock = clock
        self._start = 0.0
        self._last_end = 0.0
        self._cycles: list[float] = []

    def on_train_begin(self, logs=None) -> None:
        self._start = self._last_end = self.clock()
        self._cycles = []

    def elapsed(self) -> float:
        """Training seconds so far, earlier sittings included."""
        return self.seconds_done + self.clock() - self._start

    def epoch_cost(self) -> float:
        """Seconds one more epoch is expected to take."""
        recent = self._cycles[1:] if len(self._cycles) > 1 else self._cycles
        recent = recent[-RECENT:]
        return sum(recent) / len(recent)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        now = self.clock()
        self._cycles.append(now - self._last_end)
        self._last_end = now
        done = epoch + 1
        left = self.budget - self.elapsed()
        fits = max(0, math.floor(left / self.epoch_cost())) if left > 0 else 0
        planned = max(done, min(self.max_epochs, done + fits))
        if planned != self.planned:
            if not self.quiet:
                output.info(f"time budget: {left / 60:.1f} of {self.budget / 60:g} min left, "
                            f"{self.epoch_cost():.0f}s an epoch: {planned} epochs planned (was {self.planned})")
            self.planned = planned
            if self.schedule is not None and planned * self.steps_per_epoch > self.schedule.warmup_steps:
                self.schedule.replan(planned * self.steps_per_epoch)
        if done >= self.planned:
            self.model.stop_training = True
