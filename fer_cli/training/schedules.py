"""Learning-rate schedules that Keras lacks, registered so that a resumed run's saved optimizer loads in safe mode.

`fer train` imports this module before it loads a run's `last.keras`, whose
optimizer carries the schedule in its config.
"""

from __future__ import annotations

from fer_cli.tf_env import keras as _keras

keras = _keras()  # imported quietly; only ever loaded inside functions that need Keras
ops = keras.ops


@keras.saving.register_keras_serializable(package="fer")
class ReplannableDecay(keras.optimizers.schedules.LearningRateSchedule):
    """A linear warm-up, then a cosine or linear decay to 0 at a last step that may move while training runs.

    A time-budgeted run (`time_budget`) does not know at the start how many
    epochs fit in its budget; after each epoch it re-plans and calls
    `replan`. The last step lives in a variable, so the compiled training step
    sees the new plan without retracing; `get_config` saves the plan of the
    moment, so a resumed run continues it.

    Args:
        initial_learning_rate: the rate at step 0, where the warm-up starts.
        peak_learning_rate: the rate at the end of the warm-up, where the decay starts.
        total_steps: the step at which the rate reaches 0, warm-up included, as planned now.
        warmup_steps: steps of linear warm-up. Defaults to `0` (start at the peak).
        shape: `"cosine"` (half a cosine, as Keras' `CosineDecay`) or `"linear"`. Defaults to `"cosine"`.

    Returns:
        Called with the optimizer's step, the learning rate as a float32 scalar.
    """

    SHAPES = ("cosine", "linear")

    def __init__(self, initial_learning_rate: float, peak_learning_rate: float, total_steps: int,
                 warmup_steps: int = 0, shape: str = "cosine"):
        if shape not in self.SHAPES:
            raise ValueError(f"shape must be one of {', '.join(self.SHAPES)}, not {shape!r}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.peak_learning_rate = float(peak_learning_rate)
        self.warmup_steps = int(warmup_steps)
        self.shape = shape
        self._total = keras.Variable(float(self._checked(total_steps)), dtype="float32", trainable=False,
                                     name="planned_steps")

    def _checked(self, total_steps: int) -> int:
        if not 0 <= self.warmup_steps < total_steps:
            raise ValueError(f"warmup_steps must be in [0, total_steps), not {self.warmup_steps} of {total_steps}")
        return int(total_steps)

    @property
    def total_steps(self) -> int:
        """The step at which the rate reaches 0, as planned now."""
        return int(round(float(keras.ops.convert_to_numpy(self._total))))

    def replan(self, total_steps: int) -> None:
        """Move the last step to `total_steps` (more than the warm-up); later steps follow the new plan."""
        self._total.assign(float(self._checked(total_steps)))

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak = self.peak_learning_rate
        warming = self.initial_learning_rate + (peak - self.initial_learning_rate) * step / float(max(self.warmup_steps, 1))
        done = ops.clip((step - self.warmup_steps) / (self._total - self.warmup_steps), 0.0, 1.0)
        if self.shape == "cosine":
            decaying = peak * 0.5 * (1.0 + ops.cos(3.141592653589793 * done))
        else:
            decaying = peak * (1.0 - done)
        return ops.where(step < self.warmup_steps, warming, decaying)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "peak_learning_rate": self.peak_learning_rate,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "shape": self.shape,
        }


@keras.saving.register_keras_serializable(package="fer")
class WarmupLinearDecay(ReplannableDecay):
    """A linear warm-up to the peak learning rate, then a straight line down to 0 at the last step.

    Li, Yumer and Ramanan ("Budgeted Training", ICLR 2020) found that under a
    fixed budget of steps, decaying linearly to zero trains better than cosine or
    step decay. On the fast recipe it did not beat cosine (docs/training.md).
    The `linear` shape of `ReplannableDecay`, under the name and config keys
    that the saved optimizers of `schedule: linear` runs hold.

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
        super().__init__(initial_learning_rate, peak_learning_rate, total_steps, warmup_steps, shape="linear")

    def get_config(self) -> dict:
        config = super().get_config()
        del config["shape"]
        return config
