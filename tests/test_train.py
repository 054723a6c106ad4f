"""fer train: run folders, history, resume, the model registry."""

import csv
import json

import pytest
import yaml

from fer_cli.config import load_config
from fer_cli.models import build_model, list_models
from helpers import share_read_only


def test_run_folder_holds_everything(tiny_run):
    for name in ("config.yaml", "history.csv", "best.keras", "last.keras", "classes.json", "state.json"):
        assert (tiny_run / name).is_file(), name
    config = yaml.safe_load((tiny_run / "config.yaml").read_text())
    assert config["model"] == "resnet_s" and config["epochs"] == 2 and config["data"].endswith("images")
    rows = list(csv.DictReader((tiny_run / "history.csv").open()))
    assert [int(float(r["epoch"])) for r in rows] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    assert json.loads((tiny_run / "classes.json").read_text())[3] == "happy"


def test_runs_are_numbered_and_resume_continues_to_planned_epochs(runner, app, tiny_data, tmp_path):
    args = ["train", str(tiny_data), "--model", "resnet_s", "--epochs", "1", "--runs-dir", str(tmp_path), "--name", "exp", "-q"]
    first = runner.invoke(app, args)
    second = runner.invoke(app, args)
    assert first.exit_code == 0 and second.exit_code == 0, second.stderr
    assert first.stdout.strip().splitlines()[-1] == str(tmp_path / "exp")
    assert second.stdout.strip().splitlines()[-1] == str(tmp_path / "exp2")

    run = tmp_path / "exp"
    # Pretend the run had planned 3 epochs and was stopped after the first.
    config = load_config(run / "config.yaml", {"epochs": 3})
    (run / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    result = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(run)
    rows = list(csv.DictReader((run / "history.csv").open()))
    assert [int(float(r["epoch"])) for r in rows] == [1, 2, 3]
    assert json.loads((run / "state.json").read_text())["epochs_done"] == 3
    again = runner.invoke(app, ["train", "--resume", str(run)])
    assert again.exit_code == 0 and "already finished" in again.stderr
    assert len(list(csv.DictReader((run / "history.csv").open()))) == 3  # nothing more was trained


def test_resume_rejects_other_flags_and_non_runs(runner, app, tiny_run, tmp_path):
    assert runner.invoke(app, ["train", "--resume", str(tiny_run), "--epochs", "5"]).exit_code == 2
    result = runner.invoke(app, ["train", "--resume", str(tmp_path)])
    assert result.exit_code == 2 and "not a run folder" in result.stderr


@pytest.mark.slow
def test_same_seed_gives_identical_models_and_predictions(runner, app, tiny_data, tmp_path):
    import numpy as np

    from fer_cli.runtimes.keras_runtime import load_keras_model

    config = tmp_path / "c.yaml"
    config.write_text("model: resnet_s\nepochs: 2\nbatch_size: 16\n"
                      "augment: {flip: true, rotate: 0.05, zoom: 0.1, translate: 0.1, erasing: 0.5, mixup: 0.2}\n")
    models = []
    for name in ("a", "b", "c"):
        seed = "7" if name != "c" else "8"
        result = runner.invoke(app, ["train", str(tiny_data), "--config", str(config), "--seed", seed,
                                     "--runs-dir", str(tmp_path), "--name", name, "-q"])
        assert result.exit_code == 0, result.stderr
        models.append(load_keras_model(tmp_path / name / "last.keras"))
    images = np.random.default_rng(0).uniform(0, 255, (32, 48, 48, 1)).astype(np.float32)
    a, b, c = (m.predict(images, verbose=0) for m in models)
    assert np.array_equal(a, b)  # same seed: bit-identical
    assert not np.array_equal(a, c)  # another seed: another model


def test_errors_are_one_line(runner, app, tmp_path):
    result = runner.invoke(app, ["train"])
    assert result.exit_code == 2 and result.stderr.startswith("Error:") and "DATA" in result.stderr
    result = runner.invoke(app, ["train", str(tmp_path / "missing")])
    assert result.exit_code == 1 and "no such file" in result.stderr
    result = runner.invoke(app, ["train", str(tmp_path), "--model", "nope"])
    assert result.exit_code == 2 and "unknown model" in result.stderr


def test_registry_builds_every_model():
    assert {"seed", "resnet_s", "resnet_m"} <= set(list_models())
    for name in list_models():
        model = build_model(name, 7)
        assert model.output_shape == (None, 7) and model.input_shape == (None, 48, 48, 1)


def test_seed_architecture_is_the_seed():
    model = build_model("seed", 7)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("Conv2D") == 4 and kinds.count("MaxPooling2D") == 3 and kinds.count("Dropout") == 3
    assert "Flatten" in kinds and model.count_params() == 2_345_607


def test_list_models(runner, app):
    result = runner.invoke(app, ["train", "--list-models"])  # piped: one JSON record per architecture
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["name"] for r in records] == list(list_models())
    assert all(set(r) == {"name", "params", "flops", "description"} and r["params"] > 0 for r in records)
    seed = next(r for r in records if r["name"] == "seed")
    assert seed["params"] == 2_345_607  # the same count test_seed_architecture_is_the_seed builds


# Warm-up, then cosine decay, with EMA weights: every part of the optimizer a resume must bring back.
SCHEDULED = "model: resnet_s\nepochs: 6\nbatch_size: 16\noptimizer: adamw\nschedule: cosine\nwarmup_epochs: 1\nema: 0.9\n"


@pytest.fixture(scope="module")
def straight_run(tiny_data, tmp_path_factory):
    """The SCHEDULED recipe trained for its 6 epochs without a stop: what a stopped and resumed run must match."""
    from typer.testing import CliRunner

    from fer_cli.cli import app

    runs = tmp_path_factory.mktemp("straight")
    (runs / "c.yaml").write_text(SCHEDULED)
    result = CliRunner().invoke(app, ["train", str(tiny_data), "--config", str(runs / "c.yaml"), "--runs-dir", str(runs),
                                      "--name", "straight", "-q"])
    assert result.exit_code == 0, result.stderr
    return share_read_only(runs / "straight")


@pytest.mark.slow
@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_signal_stops_after_saving_and_resume_keeps_optimizer_and_schedule(runner, app, tiny_data, straight_run, tmp_path, signum):
    """Ctrl-C (or a scheduler's SIGTERM) stops after the epoch is saved; --resume then trains as if it never stopped:
    the same warm-up and cosine learning rates, optimizer steps and EMA-averaged model as the straight run."""
    import signal
    import subprocess
    import sys
    import time

    import numpy as np

    from fer_cli.runtimes.keras_runtime import load_keras_model

    (tmp_path / "c.yaml").write_text(SCHEDULED)
    command = [sys.executable, "-m", "fer_cli", "train", str(tiny_data), "--config", str(tmp_path / "c.yaml"),
               "--runs-dir", str(tmp_path), "--name", "stopped"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run = tmp_path / "stopped"
    history = run / "history.csv"
    deadline = time.time() + 180
    while time.time() < deadline and not (history.is_file() and len(history.read_text().splitlines()) >= 2):
        time.sleep(0.1)
    process.send_signal(getattr(signal, signum))
    stdout, stderr = process.communicate(timeout=180)
    assert process.returncode == 0, stderr
    assert "stopping after this epoch" in stderr and "stopped early" in stderr and "Traceback" not in stderr
    assert stdout.strip().splitlines()[-1] == str(run)
    rows = list(csv.DictReader(history.open()))
    done = json.loads((run / "state.json").read_text())["epochs_done"]
    assert len(rows) == done and 1 <= done < 6
    assert [int(float(r["epoch"])) for r in rows] == list(range(1, done + 1))

    resumed = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert resumed.exit_code == 0, resumed.stderr
    rows = {name: list(csv.DictReader((folder / "history.csv").open())) for name, folder in (("straight", straight_run), ("stopped", run))}
    assert [int(float(r["epoch"])) for r in rows["stopped"]] == [1, 2, 3, 4, 5, 6]
    rates = [float(r["lr"]) for r in rows["straight"]]
    assert [float(r["lr"]) for r in rows["stopped"]] == pytest.approx(rates, rel=1e-6)
    # The curve itself: warmed up to the full rate by the end of epoch 1, then cosine decay to nothing.
    assert rates[0] == pytest.approx(1e-3, rel=1e-3) and rates == sorted(rates, reverse=True) and rates[-1] < 1e-6
    models = [load_keras_model(folder / "last.keras", compile=True) for folder in (straight_run, run)]
    steps = [int(m.optimizer.iterations) for m in models]
    assert steps[0] == steps[1] > 0 and all(m.optimizer.use_ema for m in models)
    # best.keras holds the EMA average (test_resume.py): the resumed run's equals the straight run's.
    images = np.random.default_rng(0).uniform(0, 255, (8, 48, 48, 1)).astype(np.float32)
    a, b = (load_keras_model(folder / "best.keras").predict(images, verbose=0) for folder in (straight_run, run))
    assert np.abs(a - b).max() <= 1e-4


def test_recipe_flags_override_the_config_file(runner, app, tiny_data, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("model: resnet_s\nepochs: 1\nbatch_size: 16\noptimizer: sgd\nlearning_rate: 0.1\naugment:\n  flip: true\n  erasing: 0.5\n")
    result = runner.invoke(app, [
        "train", str(tiny_data), "--config", str(config), "--runs-dir", str(tmp_path), "-q",
        "--optimizer", "adamw", "--lr", "0.003", "--weight-decay", "0.01", "--schedule", "cosine", "--label-smoothing", "0.1",
        "--class-weight", "sqrt", "--ema", "0.99", "--no-tensorboard", "--no-flip", "--rotate", "0.05", "--mixup", "0.2",
    ])
    assert result.exit_code == 0, result.stderr
    written = yaml.safe_load((tmp_path / "train" / "config.yaml").read_text())
    assert (written["optimizer"], written["learning_rate"], written["weight_decay"], written["schedule"]) == ("adamw", 0.003, 0.01, "cosine")
    assert (written["label_smoothing"], written["class_weight"], written["ema"], written["tensorboard"]) == (0.1, "sqrt", 0.99, False)
    # Flags change only their own augment key; the file's others stay.
    assert written["augment"] == {**written["augment"], "flip": False, "rotate": 0.05, "mixup": 0.2, "erasing": 0.5}
    assert not (tmp_path / "train" / "tensorboard").exists()


def test_bad_recipe_flags_are_one_line_usage_errors(runner, app, tiny_data, tiny_run, tmp_path):
    for flags, message in ((["--optimizer", "rmsprop"], "optimizer must be one of adam, adamw, sgd"),
                           (["--erasing", "2"], "augment.erasing is a probability"),
                           (["--ema", "0.5"], "ema must be 0")):
        result = runner.invoke(app, ["train", str(tiny_data), "--runs-dir", str(tmp_path), *flags])
        assert result.exit_code == 2 and result.stderr.startswith("Error: ")
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    resumed = runner.invoke(app, ["train", "--resume", str(tiny_run), "--lr", "0.1", "--flip"])
    assert resumed.exit_code == 2 and "drop --learning-rate, --flip" in resumed.stderr
    assert list(tmp_path.iterdir()) == []
