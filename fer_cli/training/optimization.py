"""How a run optimises its loss: the optimizer, its learning-rate schedule and per-class loss weights."""

from __future__ import annotations

import numpy as np

from fer_cli.config import TrainConfig


def learning_rate(config: TrainConfig, steps_per_epoch: int):
    """The learning rate or schedule the config asks for."""
    from fer_cli.tf_env import keras as _keras

    keras = _keras()

    if config.schedule in ("constant", "plateau"):
        return config.learning_rate
    total = config.epochs * steps_per_epoch
    warmup = config.warmup_epochs * steps_per_epoch
    if config.time_budget:
        # Planned for `epochs`, the most the run may have; the TimeBudget callback moves the end to what fits.
        from fer_cli.training.schedules import ReplannableDecay

        start = config.learning_rate / 100 if warmup else config.learning_rate
        return ReplannableDecay(start, config.learning_rate, total_steps=total, warmup_steps=warmup, shape=config.schedule)
    if config.schedule == "linear":
        from fer_cli.training.schedules import WarmupLinearDecay

        start = config.learning_rate / 100 if warmup else config.learning_rate
        return WarmupLinearDecay(start, config.learning_rate, total_steps=total, warmup_steps=warmup)
    if warmup:
        return keras.optimizers.schedules.CosineDecay(
            config.learning_rate / 100, total - warmup, warmup_target=config.learning_rate, warmup_steps=warmup
        )
    return keras.optimizers.schedules.CosineDecay(config.learning_rate, total)


def make_optimizer(config: TrainConfig, steps_per_epoch: int):
    from fer_cli.tf_env import keras as _keras

    keras = _keras()

    lr = learning_rate(config, steps_per_epoch)
    ema = {"use_ema": True, "ema_momentum": config.ema} if config.ema else {}
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(lr, weight_decay=config.weight_decay, **ema)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=0.9, nesterov=True, weight_decay=config.weight_decay or None, **ema)
    return keras.optimizers.Adam(lr, weight_decay=config.weight_decay or None, **ema)


def limit_weight_decay(optimizer, model, config: TrainConfig) -> None:
    """Exempt batch-norm scales and offsets and biases (the 1-D weights) from decay, if the config says so.

    Keras keeps this choice out of the saved optimizer, so a resumed run calls it again.
    """
    if config.weight_decay and not config.decay_norms_and_biases:
        optimizer.exclude_from_weight_decay(var_list=[v for v in model.trainable_variables if len(v.shape) <= 1])


def class_weights(counts: np.ndarray, mode: str) -> dict[int, float] | None:
    """Per-class loss weights from images per class: ``balanced`` (n / (classes × count)), its square root ``sqrt``, or `None`.

    Weights are scaled to average 1 over the samples, so the learning rate keeps its meaning.
    """
    if mode == "none":
        return None
    counts = np.asarray(counts, dtype=np.float64)
    total, num_classes = counts.sum(), len(counts)
    weights = np.where(counts > 0, total / (num_classes * np.maximum(counts, 1)), 0.0)
    if mode == "sqrt":
        weights = np.sqrt(weights)
    weights /= float(np.sum(weights * counts) / total)
    return {i: float(w) for i, w in enumerate(weights)}
