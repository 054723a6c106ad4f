"""The training loop behind ``fer train``: data, model, optimizer, callbacks, run folder."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_cli import output
from fer_cli.atomic import write_text
from fer_cli.config import TrainConfig, dump_config, load_config
from fer_cli.errors import ConfigError, DataError, UsageError
from fer_cli.training.optimization import class_weights, limit_weight_decay, make_optimizer
from fer_cli.training.run_dir import (
    CLASSES_FILE,
    CONFIG_FILE,
    DATA_FILE,
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


def make_callbacks(config: TrainConfig, run_dir: Path, has_val: bool, steps: int, history: list, state: dict,
                   quiet: bool, measure_split, chief: bool = True, schedule=None) -> list:
    """The callbacks of a run, in the order they must run at each epoch end.

    With a time budget, its re-planning comes first, so that everything after it
    (the checkpoint's saved optimizer and ``state.json`` above all) sees the new plan.
    EMA weights are swapped in next, so validation, the extra-split report and
    ``best.keras`` see the averaged weights (``last.keras`` keeps the raw ones,
    to resume from); the checkpoint writes the history that the curves are drawn from. Only the chief draws curves and logs TensorBoard;
    other workers of a multi-worker run only checkpoint, into their own folder.

    Args:
        measure_split: returns a `SplitReport` measure for a split name.
        chief: this process writes the run folder. Defaults to `True`.
        schedule: the optimizer's `ReplannableDecay`, which a time budget re-plans. Defaults to `None`.
    """
    from fer_cli.tf_env import keras as _keras
    from fer_cli.training.callbacks import (
        EMAWeights,
        GracefulStop,
        RichProgress,
        RunCheckpoint,
        SplitReport,
        TimeBudget,
        TrainingCurves,
    )
    from fer_cli.training.run_dir import TENSORBOARD_DIR

    keras = _keras()
    monitor = "val_accuracy" if has_val else "accuracy"
    callbacks: list = []
    planned = lambda: config.epochs  # noqa: E731
    if config.time_budget:
        seconds_done = float(history[-1].get("seconds", 0.0)) if history else 0.0
        budget = TimeBudget(config.time_budget, config.epochs, steps, schedule, seconds_done,
                            state.get("planned_epochs"), quiet)
        callbacks.append(budget)
        planned = lambda: budget.planned  # noqa: E731
    ema = EMAWeights() if config.ema else None
    if ema:
        callbacks.append(ema)
    if config.report_split:
        callbacks.append(SplitReport(config.report_split, measure_split(config.report_split)))
    callbacks.append(RunCheckpoint(run_dir, monitor=monitor, history=history, best=state.get("best"), ema=ema,
                                   planned=planned))
    if chief:
        callbacks.append(TrainingCurves(run_dir))
    callbacks += [GracefulStop(), RichProgress(planned, steps, quiet)]
    if config.tensorboard and chief:
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / TENSORBOARD_DIR), write_graph=False, profile_batch=0))
    if config.patience:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=config.patience, mode="max"))
    if config.schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode="max", factor=0.5,
                                                           patience=max(2, config.patience // 3), min_lr=1e-6))
    return callbacks


def _fit_measure(inputs):
    """`SplitReport` measures for the `model.fit` path."""

    def for_split(name: str):
        def measure(model) -> float:
            correct = total = 0
            for images, targets in inputs.report(name, 256):
                predicted = model.predict_on_batch(images).argmax(axis=1)
                correct += int(np.sum(predicted == targets.numpy().argmax(axis=1)))
                total += len(predicted)
            return correct / max(total, 1)

        return measure

    return for_split


def _replannable(optimizer):
    """The optimizer's learning-rate schedule if a time budget can re-plan it, else `None`."""
    from fer_cli.training.schedules import ReplannableDecay

    # Keras keeps the schedule object only in a private attribute; `learning_rate` gives its current value.
    schedule = getattr(optimizer, "_learning_rate", None)
    return schedule if isinstance(schedule, ReplannableDecay) else None


def _resume_state(run_dir: Path) -> tuple[TrainConfig, Path, list, dict]:
    """A run's config, this process's state folder, history and state, read without TensorFlow."""
    from fer_cli.training.run_dir import read_history, worker_dir
    from fer_cli.training.strategy import read_tf_config

    cluster = read_tf_config()
    state_dir = run_dir
    if cluster is not None and cluster.tasks > 1 and not cluster.is_chief:
        # On its own machine a worker may have only its own folder, not the chief's.
        state_dir = worker_dir(run_dir, cluster.worker_id)
    if not is_run_dir(state_dir):
        raise UsageError(f"{state_dir} is not a run folder (no {CONFIG_FILE})")
    if not (state_dir / LAST_MODEL).is_file():
        raise UsageError(f"{state_dir} has no {LAST_MODEL} to resume from (it finished no epoch)")
    config = load_config(state_dir / CONFIG_FILE)
    history = read_history(state_dir / HISTORY_FILE)
    state = json.loads((state_dir / STATE_FILE).read_text()) if (state_dir / STATE_FILE).is_file() else {}
    return config, state_dir, history, state


def _check_same_data(state_dir: Path, inputs) -> None:
    """Refuse to resume on other classes or other data than the run started with.

    Raises:
        DataError: naming what changed.
    """
    from fer_cli.training.run_dir import DATA_FILE

    classes_file = state_dir / CLASSES_FILE
    if classes_file.is_file():
        then = json.loads(classes_file.read_text())
        now = list(inputs.class_names)
        if then != now:
            raise DataError(f"the run was trained on classes {', '.join(then)}; the data now has {', '.join(now)}")
    data_file = state_dir / DATA_FILE
    if data_file.is_file():
        then = json.loads(data_file.read_text())
        if then.get("fingerprint") != inputs.fingerprint():
            raise DataError(
                f"the data changed since the run started ({then.get('train_images')} training and {then.get('val_images')} "
                f"validation images then, {inputs.train_count} and {inputs.val_count} now, or the same counts with other "
                f"images or labels); resume on the data it started with, or start a new run"
            )


def _data_record(inputs) -> str:
    return json.dumps({"fingerprint": inputs.fingerprint(), "class_names": list(inputs.class_names),
                       "train_images": inputs.train_count, "val_images": inputs.val_count}, indent=2) + "\n"


def _new_run(config: TrainConfig, placement, inputs) -> tuple[Path, Path]:
    """Create the run folder (the chief) or this worker's own folder in it; return (run folder, state folder)."""
    from fer_cli.training.run_dir import cluster_run_dir, worker_dir

    if placement.workers == 1:
        run_dir = new_run_dir(Path(config.runs_dir), config.name)
        state_dir = run_dir
    else:
        run_dir = cluster_run_dir(Path(config.runs_dir), config.name)
        state_dir = run_dir if placement.is_chief else worker_dir(run_dir, placement.worker_id)
        if is_run_dir(state_dir):
            raise UsageError(f"{state_dir} already holds a run; continue it with --resume {run_dir} or pick another --name")
        state_dir.mkdir(parents=True, exist_ok=True)
    write_text(state_dir / CONFIG_FILE, dump_config(config))
    write_text(state_dir / CLASSES_FILE, json.dumps(list(inputs.class_names)) + "\n")
    write_text(state_dir / DATA_FILE, _data_record(inputs))
    return run_dir, state_dir


def fit(config: TrainConfig | None, dataset_loader, resume: Path | None = None, quiet: bool = False) -> TrainResult:
    """Train a model as `config` says, or resume the run in `resume`.

    Args:
        config: the resolved config (ignored when resuming: the run's own is used).
        dataset_loader: called with the config's data path, returns the `Dataset`
            (a shard folder is streamed instead).
        resume: a run folder to continue to its planned number of epochs. Defaults to `None`.
        quiet: no progress output. Defaults to `False`.

    Returns:
        Where the run is and how it ended.
    """
    history: list = []
    state: dict = {}
    state_dir = None
    if resume is not None:
        config, state_dir, history, state = _resume_state(Path(resume))
        run_dir = Path(resume)
    elif config is None:
        raise UsageError("nothing to train: give a config or a run folder to resume")
    if not config.data:
        raise UsageError("no training data: pass DATA or set `data:` in the config")

    from fer_cli.training.strategy import make_placement

    # First of all TensorFlow work: a multi-worker strategy must exist before any op runs.
    placement = make_placement(config.strategy)
    from fer_cli.training.precision import resolve_precision

    # `auto` is settled here, so config.yaml records the precision the run trained in.
    precision, warning = resolve_precision(config.precision)
    config = dataclasses.replace(config, precision=precision)
    if warning and not quiet:
        output.warn(warning)
    if config.batch_size % placement.replicas:
        raise ConfigError(f"batch_size {config.batch_size} must be a multiple of the {placement.replicas} replicas")
    from fer_cli.training.inputs import open_inputs

    inputs = open_inputs(config.data, config, dataset_loader)
    if state_dir is not None:
        _check_same_data(state_dir, inputs)
        planned = state.get("planned_epochs")
        if planned and planned != config.epochs and config.schedule in ("cosine", "linear") and not config.time_budget:
            # The saved optimizer carries a schedule built for the planned epochs: past them it would train at ~0.
            raise UsageError(f"the run's {config.schedule} schedule was built for {planned} epochs, its config.yaml now says "
                             f"{config.epochs}; start a new run with --init-weights {run_dir} to train longer")
    if config.teacher:
        from fer_cli.training.distill import TEACHER_FILE, save_teacher_file, use_teacher

        teacher = use_teacher(config, inputs, state_dir / TEACHER_FILE if state_dir else None, quiet)

    from fer_cli.tf_env import keras as _keras

    keras = _keras()

    from fer_cli.training.callbacks import GracefulStop, RunCheckpoint

    done = len(history)
    # The same seeds whether the run started now or is resumed: every epoch's data
    # order and augmentation derive from (seed, epoch), the model's own random
    # state comes back from state.json, so a resumed run continues exactly.
    keras.utils.set_random_seed(config.seed)
    num_classes = len(inputs.class_names)
    steps = math.ceil(inputs.train_count / config.batch_size)

    from fer_cli.training.precision import dtype_policy

    # The policy is read when layers are built (a resumed model's layers keep theirs from last.keras).
    with placement.strategy.scope(), dtype_policy(config.precision):
        if state_dir is not None:
            import fer_cli.training.schedules  # noqa: F401  registers the schedule a saved optimizer may hold
            from fer_cli.runtimes.keras_runtime import load_keras_model
            from fer_cli.training.rng_state import restore_rng_states

            model = load_keras_model(state_dir / LAST_MODEL, compile=True)
            if model.output_shape[-1] != num_classes:
                raise DataError(f"the run was trained on {model.output_shape[-1]} classes, the data has {num_classes}")
            restore_rng_states(model, state.get("rng", {}))
            limit_weight_decay(model.optimizer, model, config)
        else:
            from fer_cli.models import build_model

            model = build_model(config.model, num_classes)
            if config.init_weights:
                from fer_cli.training.warm_start import load_initial_weights

                started_from = load_initial_weights(model, config.init_weights, list(inputs.class_names))
                if not quiet:
                    output.info(started_from)
            optimizer = make_optimizer(config, steps)
            limit_weight_decay(optimizer, model, config)
            model.compile(
                optimizer=optimizer,
                loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
                metrics=["accuracy"],
            )
    if state_dir is None:
        run_dir, state_dir = _new_run(config, placement, inputs)
    if config.teacher:
        save_teacher_file(state_dir / TEACHER_FILE, teacher)  # what `--resume` trains on

    # A time-budgeted run ends where its last plan did; its epochs are only a ceiling.
    target = min(config.epochs, state.get("planned_epochs") or config.epochs) if config.time_budget else config.epochs
    if done >= target:
        output.info(f"{run_dir} already finished its {target} epochs")
        return TrainResult(run_dir, done, False, state.get("best"), 0.0)

    if not quiet:
        where = f"; {placement.replicas} replicas ({placement.name}"
        where += f", {placement.worker_id} of {placement.workers} workers)" if placement.workers > 1 else ")"
        output.info(
            f"training {config.model} on {inputs.train_count} images"
            + (f" in {config.precision}" if config.precision != "float32" else "")
            + (f", validating on {inputs.val_count}" if inputs.val_count else "")
            + (where if placement.distributed else "")
            + (", streamed from shards" if inputs.streamed else "")
            + f"; run folder {run_dir}"
        )
    weights = class_weights(inputs.train_class_counts, config.class_weight)
    start = time.perf_counter()
    if placement.distributed:
        from fer_cli.training.distributed_loop import DistributedLoop

        loop = DistributedLoop(placement, model, inputs, config, done, weights)
        callbacks = make_callbacks(config, state_dir, inputs.val_count > 0, loop.steps, history, state, quiet,
                                   loop.split_measure, chief=placement.is_chief, schedule=_replannable(model.optimizer))
        loop.run(callbacks)
    else:
        from fer_cli.training.pipeline import epochs_of

        callbacks = make_callbacks(config, state_dir, inputs.val_count > 0, steps, history, state, quiet, _fit_measure(inputs),
                                   schedule=_replannable(model.optimizer))
        # One dataset for the remaining epochs, epoch e being a function of (seed, e) only;
        # class weights ride along as sample weights (see pipeline.sample_weights).
        train_batches = epochs_of(lambda e: inputs.train(config.batch_size, config.seed, None, e, steps, weights),
                                  done, config.epochs)
        model.fit(
            train_batches,
            steps_per_epoch=steps,
            validation_data=inputs.val(256),
            epochs=config.epochs,
            initial_epoch=done,
            callbacks=callbacks,
            verbose=0,
            shuffle=False,
        )
    seconds = time.perf_counter() - start
    checkpoint = next(c for c in callbacks if isinstance(c, RunCheckpoint))
    stopper = next(c for c in callbacks if isinstance(c, GracefulStop))
    finished = len(checkpoint.history) >= config.epochs or not stopper.stopped
    if state_dir != run_dir and finished:
        # A worker's own checkpoints only serve to resume; the chief's run folder is the result.
        import shutil

        shutil.rmtree(state_dir, ignore_errors=True)
        with contextlib.suppress(OSError):  # other workers may still be finishing theirs
            state_dir.parent.rmdir()
    return TrainResult(run_dir, len(checkpoint.history), stopper.stopped, checkpoint.best, seconds)
