"""The training loop behind ``fer train``: data, model, optimizer, callbacks, run folder."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_cli import output
from fer_cli.atomic import write_text
from fer_cli.config import TrainConfig, dump_config, load_config
from fer_cli.data import Dataset
from fer_cli.errors import DataError, UsageError
from fer_cli.training.run_dir import (
    CLASSES_FILE,
    CONFIG_FILE,
    HISTORY_FILE,
    LAST_MODEL,
    STATE_FILE,
    is_run_dir,
    new_run_dir,
)


@dataclass
class TrainResult:
    """What a training run produced.

    Attributes:
        run_dir: the run folder.
        epochs_done: epochs finished in total (resumed ones included).
        interrupted: a signal stopped the run early.
        best: best validation accuracy, if there was validation.
        seconds: wall time of this invocation's training.
    """

    run_dir: Path
    epochs_done: int
    interrupted: bool
    best: float | None
    seconds: float


def split_for_training(dataset: Dataset, config: TrainConfig) -> tuple[tuple, tuple | None]:
    """The (images, labels) to train on and to validate on.

    A ``val`` split in the data is used as is; otherwise a seeded, stratified
    `config.val_split` share of train is held out (none when it is 0).
    """
    from fer_cli.training.pipeline import stratified_split

    train_name = "train" if "train" in dataset.splits else "all"
    if train_name not in dataset.splits:
        raise DataError(f"no training split in the data (it has: {', '.join(sorted(dataset.splits))})")
    train = dataset.splits[train_name]
    if "val" in dataset.splits:
        val = dataset.splits["val"]
        return (train.images, train.labels), (val.images, val.labels)
    if config.val_split == 0:
        return (train.images, train.labels), None
    train_idx, val_idx = stratified_split(train.labels, config.val_split, config.seed)
    return (train.images[train_idx], train.labels[train_idx]), (train.images[val_idx], train.labels[val_idx])


def learning_rate(config: TrainConfig, steps_per_epoch: int):
    """The learning rate or schedule the config asks for."""
    from fer_cli.tf_env import keras as _keras

    keras = _keras()

    if config.schedule in ("constant", "plateau"):
        return config.learning_rate
    total = config.epochs * steps_per_epoch
    warmup = config.warmup_epochs * steps_per_epoch
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


def class_weights(labels: np.ndarray, num_classes: int, mode: str) -> dict[int, float] | None:
    """Per-class loss weights: ``balanced`` (n / (classes × count)), its square root ``sqrt``, or `None`.

    Weights are scaled to average 1 over the samples, so the learning rate keeps its meaning.
    """
    if mode == "none":
        return None
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    weights = np.where(counts > 0, len(labels) / (num_classes * np.maximum(counts, 1)), 0.0)
    if mode == "sqrt":
        weights = np.sqrt(weights)
    weights /= float(np.sum(weights * counts) / len(labels))
    return {i: float(w) for i, w in enumerate(weights)}


def make_callbacks(config: TrainConfig, run_dir: Path, dataset: Dataset, has_val: bool, steps: int,
                   history: list, state: dict, quiet: bool) -> list:
    """The callbacks of a run, in the order they must run at each epoch end.

    EMA weights are swapped in first, so the extra-split report, checkpoints and
    curves all see the averaged weights; the checkpoint writes the history that
    the curves are drawn from.
    """
    from fer_cli.tf_env import keras as _keras
    from fer_cli.training.callbacks import GracefulStop, RichProgress, RunCheckpoint, SplitReport, TrainingCurves
    from fer_cli.training.run_dir import TENSORBOARD_DIR

    keras = _keras()
    monitor = "val_accuracy" if has_val else "accuracy"
    callbacks: list = []
    if config.ema:
        callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    if config.report_split:
        split = dataset.split(config.report_split)
        callbacks.append(SplitReport(config.report_split, split.images, split.labels))
    callbacks += [
        RunCheckpoint(run_dir, monitor=monitor, history=history, best=state.get("best")),
        TrainingCurves(run_dir),
        GracefulStop(),
        RichProgress(config.epochs, steps, quiet),
    ]
    if config.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / TENSORBOARD_DIR), write_graph=False, profile_batch=0))
    if config.patience:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=config.patience, mode="max"))
    if config.schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode="max", factor=0.5,
                                                           patience=max(2, config.patience // 3), min_lr=1e-6))
    return callbacks


def _load_resume(run_dir: Path):
    from fer_cli.runtimes.keras_runtime import load_keras_model
    from fer_cli.training.run_dir import read_history

    if not is_run_dir(run_dir):
        raise UsageError(f"{run_dir} is not a run folder (no {CONFIG_FILE})")
    if not (run_dir / LAST_MODEL).is_file():
        raise UsageError(f"{run_dir} has no {LAST_MODEL} to resume from (it finished no epoch)")
    config = load_config(run_dir / CONFIG_FILE)
    model = load_keras_model(run_dir / LAST_MODEL, compile=True)
    history = read_history(run_dir / HISTORY_FILE)
    state = json.loads((run_dir / STATE_FILE).read_text()) if (run_dir / STATE_FILE).is_file() else {}
    return config, model, history, state


def fit(config: TrainConfig | None, dataset_loader, resume: Path | None = None, quiet: bool = False) -> TrainResult:
    """Train a model as `config` says, or resume the run in `resume`.

    Args:
        config: the resolved config (ignored when resuming: the run's own is used).
        dataset_loader: called with the config's data path, returns the `Dataset`.
        resume: a run folder to continue to its planned number of epochs. Defaults to `None`.
        quiet: no progress output. Defaults to `False`.

    Returns:
        Where the run is and how it ended.
    """
    history: list = []
    state: dict = {}
    model = None
    if resume is not None:
        config, model, history, state = _load_resume(Path(resume))
        run_dir = Path(resume)
    elif config is None:
        raise UsageError("nothing to train: give a config or a run folder to resume")
    if not config.data:
        raise UsageError("no training data: pass DATA or set `data:` in the config")
    dataset = dataset_loader(Path(config.data))

    from fer_cli.tf_env import keras as _keras

    keras = _keras()

    from fer_cli.training.callbacks import GracefulStop, RunCheckpoint
    from fer_cli.training.pipeline import make_dataset

    done = len(history)
    keras.utils.set_random_seed(config.seed + done)
    (x_train, y_train), val = split_for_training(dataset, config)
    num_classes = len(dataset.class_names)
    steps = math.ceil(len(y_train) / config.batch_size)
    train_ds = make_dataset(x_train, y_train, num_classes, config.batch_size, True, config.seed + done, config.augment)
    val_ds = make_dataset(*val, num_classes, 256, False, config.seed) if val else None

    if model is None:
        from fer_cli.models import build_model

        model = build_model(config.model, num_classes)
        model.compile(
            optimizer=make_optimizer(config, steps),
            loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
            metrics=["accuracy"],
        )
        run_dir = new_run_dir(Path(config.runs_dir), config.name)
        write_text(run_dir / CONFIG_FILE, dump_config(config))
        write_text(run_dir / CLASSES_FILE, json.dumps(list(dataset.class_names)) + "\n")
    elif model.output_shape[-1] != num_classes:
        raise DataError(f"the run was trained on {model.output_shape[-1]} classes, the data has {num_classes}")

    if done >= config.epochs:
        output.info(f"{run_dir} already finished its {config.epochs} epochs")
        return TrainResult(run_dir, done, False, state.get("best"), 0.0)

    if not quiet:
        output.info(
            f"training {config.model} on {len(y_train)} images"
            + (f", validating on {len(val[1])}" if val else "")
            + f"; run folder {run_dir}"
        )
    callbacks = make_callbacks(config, run_dir, dataset, val is not None, steps, history, state, quiet)
    start = time.perf_counter()
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=config.epochs,
        initial_epoch=done,
        callbacks=callbacks,
        class_weight=class_weights(y_train, num_classes, config.class_weight),
        verbose=0,
        shuffle=False,
    )
    seconds = time.perf_counter() - start
    checkpoint = next(c for c in callbacks if isinstance(c, RunCheckpoint))
    stopper = next(c for c in callbacks if isinstance(c, GracefulStop))
    return TrainResult(run_dir, len(checkpoint.history), stopper.stopped, checkpoint.best, seconds)

