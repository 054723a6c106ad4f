"""`fer train --resume` continues a run exactly, and refuses data it did not start with."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest

from helpers import write_class_folders

RECIPE = ["--model", "resnet_s", "--epochs", "4", "--batch-size", "16", "--seed", "3", "--ema", "0.9",
          "--optimizer", "adamw", "--schedule", "cosine", "--warmup-epochs", "1", "--class-weight", "balanced",
          "--flip", "--translate", "0.1", "--rotate", "0.05", "--contrast", "0.2", "--brightness", "0.1",
          "--erasing", "0.5", "--mixup", "0.2", "--cutmix", "1.0", "-q"]


def _interrupt_before_epoch(monkeypatch, epoch: int) -> None:
    """Send this process SIGINT as epoch `epoch` (0-based) begins, as Ctrl-C would; the run stops after it."""
    from fer_cli.tf_env import keras as _keras

    keras = _keras()

    from fer_cli.training import trainer

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_begin(self, index, logs=None):
            if index == epoch:
                os.kill(os.getpid(), signal.SIGINT)

    make = trainer.make_callbacks
    monkeypatch.setattr(trainer, "make_callbacks", lambda *a, **k: [*make(*a, **k), Interrupt()])


def _predict(model_file: Path, images: np.ndarray) -> np.ndarray:
    from fer_cli.runtimes.keras_runtime import load_keras_model

    return np.asarray(load_keras_model(model_file).predict(images, verbose=0))


@pytest.mark.slow
def test_resumed_run_predicts_what_the_uninterrupted_run_predicts(runner, app, tiny_data, tmp_path, monkeypatch):
    args = ["train", str(tiny_data), *RECIPE, "--runs-dir", str(tmp_path)]
    whole = runner.invoke(app, [*args, "--name", "whole"])
    assert whole.exit_code == 0, whole.stderr

    with monkeypatch.context() as patch:
        _interrupt_before_epoch(patch, 1)
        stopped = runner.invoke(app, [*args, "--name", "resumed"])
    assert stopped.exit_code == 0, stopped.stderr
    history = (tmp_path / "resumed" / "history.csv").read_text().splitlines()
    assert len(history) == 1 + 2, "SIGINT during epoch 2 stops the run after epoch 2"
    resumed = runner.invoke(app, ["train", "--resume", str(tmp_path / "resumed"), "-q"])
    assert resumed.exit_code == 0, resumed.stderr

    images = np.random.default_rng(0).integers(0, 256, (24, 48, 48, 1)).astype(np.float32)
    for name in ("last.keras", "best.keras"):
        a, b = _predict(tmp_path / "whole" / name, images), _predict(tmp_path / "resumed" / name, images)
        assert np.abs(a - b).max() <= 1e-4, name
    # The per-epoch record agrees too: same losses, same learning rates, same best epoch.
    rows = [(tmp_path / run / "history.csv").read_text().splitlines() for run in ("whole", "resumed")]
    header = rows[0][0].split(",")
    for line_a, line_b in zip(rows[0][1:], rows[1][1:], strict=True):
        for key, x, y in zip(header, line_a.split(","), line_b.split(","), strict=True):
            if key != "seconds":
                assert float(x) == pytest.approx(float(y), abs=1e-4), key


def test_ema_checkpoint_holds_raw_weights_and_best_holds_the_average(runner, app, tiny_data, tmp_path):
    result = runner.invoke(app, ["train", str(tiny_data), "--model", "resnet_s", "--epochs", "1", "-b", "32",
                                 "--ema", "0.9", "--val-split", "0.25", "--runs-dir", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.stderr
    from fer_cli.runtimes.keras_runtime import load_keras_model

    run = tmp_path / "train"
    last = load_keras_model(run / "last.keras", compile=True)
    best = load_keras_model(run / "best.keras")
    optimizer = last.optimizer
    raw = [np.asarray(v) for v in optimizer._trainable_variables]
    average = [np.asarray(v) for v in optimizer._model_variables_moving_average]
    by_path = {v.path: np.asarray(v) for v in best.trainable_variables}
    best_values = [by_path[v.path] for v in last.trainable_variables]
    assert any(not np.allclose(r, a) for r, a in zip(raw, average, strict=True)), "EMA differs from the raw weights"
    # best.keras is what validation measured: the average. last.keras trains on from the raw weights.
    assert all(np.array_equal(b, a) for b, a in zip(best_values, average, strict=True))
    assert all(np.array_equal(np.asarray(v), r) for v, r in zip(last.trainable_variables, raw, strict=True))


def _two_epoch_run(runner, app, data: Path, runs: Path) -> Path:
    result = runner.invoke(app, ["train", str(data), "--model", "resnet_s", "--epochs", "3", "-b", "32",
                                 "--runs-dir", str(runs), "-q"])
    assert result.exit_code == 0, result.stderr
    run = runs / "train"
    # Pretend it stopped after epoch 1: keep the first history row.
    lines = (run / "history.csv").read_text().splitlines()
    (run / "history.csv").write_text("\n".join(lines[:2]) + "\n")
    return run


def test_resume_refuses_changed_images(runner, app, tmp_path):
    data = tmp_path / "images"
    write_class_folders(data / "train", 6, seed=1)
    run = _two_epoch_run(runner, app, data, tmp_path / "runs")
    write_class_folders(data / "train", 7, seed=9)  # one more image per class, and the others redrawn
    result = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert result.exit_code != 0
    assert result.stderr.startswith("Error: the data changed since the run started") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_resume_refuses_other_class_names(runner, app, tmp_path):
    data = tmp_path / "images"
    write_class_folders(data / "train", 6, seed=1)
    run = _two_epoch_run(runner, app, data, tmp_path / "runs")
    shutil.move(data / "train" / "happy", data / "train" / "joy")
    result = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert result.exit_code != 0
    assert "the run was trained on classes" in result.stderr and "joy" in result.stderr


def test_report_split_missing_is_refused_before_a_run_folder_exists(runner, app, tmp_path):
    data = tmp_path / "images"
    write_class_folders(data / "train", 4, seed=1)
    result = runner.invoke(app, ["train", str(data), "--model", "resnet_s", "--epochs", "1", "--report-split", "test",
                                 "--runs-dir", str(tmp_path / "runs"), "-q"])
    assert result.exit_code != 0
    assert "report_split 'test' is not in the data" in result.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_seed_generator_state_survives_a_checkpoint(tmp_path):
    from fer_cli.models import build_model
    from fer_cli.training.rng_state import restore_rng_states, rng_states

    model = build_model("resnet_s", 7)
    states = rng_states(model)
    assert states, "resnet_s has dropout, so it has random state"
    bumped = {name: [[s[0], s[1] + 5] for s in values] for name, values in states.items()}
    restore_rng_states(model, bumped)
    assert rng_states(model) == bumped
    assert json.loads(json.dumps(bumped)) == bumped  # it fits in state.json


def _finished_run(runs: Path, name: str, epochs: int = 1, done: int = 1) -> Path:
    """A run folder as `fer train` leaves it, with `done` of `epochs` epochs in its history."""
    import time

    from fer_cli.config import TrainConfig, dump_config

    run = runs / name
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(dump_config(TrainConfig(model="resnet_s", epochs=epochs)))
    (run / "history.csv").write_text("epoch,accuracy\n" + "".join(f"{e + 1},0.5\n" for e in range(done)))
    (run / "best.keras").write_bytes(b"")
    time.sleep(0.02)  # distinct start times
    return run


def test_second_stage_refuses_a_superseded_first_stage(tmp_path):
    from fer_cli.errors import UsageError
    from fer_cli.training.warm_start import check_stage_source

    first = _finished_run(tmp_path, "accurate")
    check_stage_source(first / "best.keras")  # alone, it is the one
    again = _finished_run(tmp_path, "accurate2")
    with pytest.raises(UsageError, match=r"accurate is not the newest run named 'accurate': .*accurate2 started later"):
        check_stage_source(first / "best.keras")
    check_stage_source(again / "best.keras")
    # Runs named v1, v2 are separate names, not renumberings of a run `v`.
    _finished_run(tmp_path, "v1")
    check_stage_source(_finished_run(tmp_path, "v2") / "best.keras")
    check_stage_source(tmp_path / "v1" / "best.keras")


def test_second_stage_refuses_an_unfinished_first_stage(tmp_path):
    from fer_cli.errors import UsageError
    from fer_cli.training.warm_start import check_stage_source

    run = _finished_run(tmp_path, "accurate", epochs=60, done=12)
    with pytest.raises(UsageError, match="has finished 12 of its 60 epochs; finish it with `fer train --resume"):
        check_stage_source(run / "best.keras")


def test_class_weights_weigh_mixed_targets_by_their_mix(tiny_data):
    from fer_cli.config import AugmentConfig, TrainConfig
    from fer_cli.data import load_dataset
    from fer_cli.training.inputs import MemoryInputs

    config = TrainConfig(val_split=0.25, augment=AugmentConfig(mixup=0.4))
    inputs = MemoryInputs(load_dataset(tiny_data), config)
    weights = {i: float(i + 1) for i in range(len(inputs.class_names))}
    seen = 0
    for _, targets, sample_weights in inputs.train(16, 0, class_weight=weights):
        expected = targets.numpy() @ np.array([weights[i] for i in range(len(weights))])
        assert np.allclose(sample_weights.numpy(), expected, atol=1e-5)
        seen += len(expected)
    assert seen == inputs.train_count



@pytest.mark.parametrize("built_first", [False, True], ids=["new run", "resumed run"])
def test_norms_and_biases_can_be_exempt_from_weight_decay(built_first):
    from fer_cli.config import TrainConfig
    from fer_cli.models import build_model
    from fer_cli.tf_env import keras as _keras
    from fer_cli.training.optimization import limit_weight_decay, make_optimizer

    keras = _keras()
    model = build_model("resnet_s", 7)
    config = TrainConfig(optimizer="adamw", learning_rate=0.1, weight_decay=0.5, decay_norms_and_biases=False)
    optimizer = make_optimizer(config, 10)
    if built_first:  # a resumed run's optimizer comes back built from last.keras
        optimizer.build(model.trainable_variables)
    limit_weight_decay(optimizer, model, config)
    before = [np.asarray(v) for v in model.trainable_variables]
    # A zero gradient leaves only the decay: each decayed weight shrinks, the exempt ones stay.
    optimizer.apply_gradients([(keras.ops.zeros(v.shape), v) for v in model.trainable_variables])
    for variable, old in zip(model.trainable_variables, before, strict=True):
        changed = not np.allclose(np.asarray(variable), old)
        if len(variable.shape) <= 1:
            assert not changed, variable.path
        elif np.abs(old).max() > 0:
            assert changed, variable.path


def test_resume_refuses_a_cosine_run_whose_epochs_were_changed(runner, app, tiny_data, tmp_path):
    result = runner.invoke(app, ["train", str(tiny_data), "--model", "resnet_s", "--epochs", "1", "-b", "32",
                                 "--schedule", "cosine", "--runs-dir", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.stderr
    run = tmp_path / "train"
    assert json.loads((run / "state.json").read_text())["planned_epochs"] == 1
    config = run / "config.yaml"
    config.write_text(config.read_text().replace("epochs: 1\n", "epochs: 3\n"))
    result = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert result.exit_code == 2
    assert "cosine schedule was built for 1 epochs, its config.yaml now says 3" in result.stderr
    assert (run / "history.csv").read_text().splitlines()[1].startswith("1,")


def test_linear_schedule_decays_to_zero_and_survives_a_resume(runner, app, tiny_data, tmp_path, monkeypatch):
    args = ["train", str(tiny_data), "--model", "resnet_s", "--epochs", "3", "-b", "16", "--optimizer", "adamw",
            "--lr", "0.002", "--schedule", "linear", "--warmup-epochs", "1", "--runs-dir", str(tmp_path), "-q"]
    with monkeypatch.context() as patch:
        _interrupt_before_epoch(patch, 1)
        stopped = runner.invoke(app, args)
    assert stopped.exit_code == 0, stopped.stderr
    run = tmp_path / "train"
    resumed = runner.invoke(app, ["train", "--resume", str(run), "-q"])  # the saved optimizer's schedule loads
    assert resumed.exit_code == 0, resumed.stderr
    from fer_cli.training.run_dir import read_history

    rates = [row["lr"] for row in read_history(run / "history.csv")]
    # Warmed up to the peak by the end of epoch 1, then a straight line: half-way after epoch 2, nothing after 3.
    assert rates == pytest.approx([0.002, 0.001, 0.0], abs=1e-7)
