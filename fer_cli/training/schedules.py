"""Learning-rate schedules that Keras lacks, registered so that a resumed run's saved optimizer loads in safe mode.

`fer train` imports this module before it loads a run's `last.keras`, whose
optimizer carries the schedule in its config.
"""

from __future__ import annotations

from fer_cli.tf_env import keras as _keras

keras = _keras()  # imported quietly; only ever loaded inside functions that need Keras
ops = keras.ops


@keras.saving.register_keras_serializable(package="fer")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """A linear warm-up to the peak learning rate, then a straight line down to 0 at the last step.

    Li, Yumer and Ramanan ("Budgeted Training", ICLR 2020) found that under a
    fixed budget of steps, decaying linearly to zero trains better than cosine or
    step decay. On the fast recipe it did not beat cosine (docs/training.md).

    Args:
        initial_learning_rate: the rate at step 0, where the warm-up starts.
        peak_learning_rate: the rate at the end of the warm-up, where the decay starts.
        total_steps: the step at which the rate reaches 0, warm-up included.
        warmup_steps: steps of linear warm-up. Defaults to `0` (start at the peak).

    Returns:
        Called with the optimizer's step, the learning rate as a float32 scalar.
    """

    def __init__(self, initial_learning_rate: float, peak_learning_rate: float, total_steps: int,
                 warmup_steps: int = 0):
        if not 0 <= warmup_steps < total_steps:
            raise ValueError(f"warmup_steps must be in [0, total_steps), not {warmup_steps} of {total_steps}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.peak_learning_rate = float(peak_learning_rate)
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak = self.peak_learning_rate
        warmup = float(max(self.warmup_steps, 1))
        warming = self.initial_learning_rate + (peak - self.initial_learning_rate) * step / warmup
        left = (self.total_steps - step) / float(self.total_steps - self.warmup_steps)
        decaying = peak * ops.clip(left, 0.0, 1.0)
        return ops.where(step < self.warmup_steps, warming, decaying)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "peak_learning_rate": self.peak_learning_rate,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
        }
