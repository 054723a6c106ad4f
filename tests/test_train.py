"""fer train: run folders, history, resume, the model registry."""

import csv
import json

import yaml

from fer_cli.config import load_config
from fer_cli.models import build_model, list_models


def test_run_folder_holds_everything(tiny_run):
    for name in ("config.yaml", "history.csv", "best.keras", "last.keras", "classes.json", "state.json"):
        assert (tiny_run / name).is_file(), name
    config = yaml.safe_load((tiny_run / "config.yaml").read_text())
    assert config["model"] == "resnet_s" and config["epochs"] == 2 and config["data"].endswith("images")
    rows = list(csv.DictReader((tiny_run / "history.csv").open()))
    assert [int(float(r["epoch"])) for r in rows] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    assert json.loads((tiny_run / "classes.json").read_text())[3] == "happy"


def test_runs_are_numbered_and_path_is_last_stdout_line(runner, app, tiny_data, tmp_path):
    args = ["train", str(tiny_data), "--model", "resnet_s", "--epochs", "1", "--runs-dir", str(tmp_path), "--name", "exp", "-q"]
    first = runner.invoke(app, args)
    second = runner.invoke(app, args)
    assert first.exit_code == 0 and second.exit_code == 0, second.stderr
    assert first.stdout.strip().splitlines()[-1] == str(tmp_path / "exp")
    assert second.stdout.strip().splitlines()[-1] == str(tmp_path / "exp2")


def test_resume_continues_to_planned_epochs(runner, app, tiny_data, tmp_path):
    result = runner.invoke(app, ["train", str(tiny_data), "--model", "resnet_s", "--epochs", "1", "--runs-dir", str(tmp_path), "-q"])
    run = tmp_path / "train"
    # Pretend the run had planned 3 epochs and was stopped after the first.
    config = load_config(run / "config.yaml", {"epochs": 3})
    (run / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    result = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader((run / "history.csv").open()))
    assert [int(float(r["epoch"])) for r in rows] == [1, 2, 3]
    assert json.loads((run / "state.json").read_text())["epochs_done"] == 3
    again = runner.invoke(app, ["train", "--resume", str(run)])
    assert again.exit_code == 0 and "already finished" in again.stderr


def test_resume_rejects_other_flags_and_non_runs(runner, app, tiny_run, tmp_path):
    assert runner.invoke(app, ["train", "--resume", str(tiny_run), "--epochs", "5"]).exit_code == 2
    result = runner.invoke(app, ["train", "--resume", str(tmp_path)])
    assert result.exit_code == 2 and "not a run folder" in result.stderr


def test_same_seed_same_split_and_weights(runner, app, tiny_data, tmp_path):
    import numpy as np

    from fer_cli.runtimes.keras_runtime import load_keras_model

    paths = []
    for name in ("a", "b"):
        result = runner.invoke(app, ["train", str(tiny_data), "--model", "seed", "--epochs", "1", "--batch-size", "32",
                                     "--seed", "3", "--runs-dir", str(tmp_path), "--name", name, "-q"])
        assert result.exit_code == 0, result.stderr
        paths.append(tmp_path / name / "last.keras")
    a, b = (load_keras_model(p).get_weights() for p in paths)
    assert all(np.allclose(x, y, atol=1e-5) for x, y in zip(a, b))


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
    result = runner.invoke(app, ["train", "--list-models", "--format", "json"] if False else ["train", "--list-models"])
    assert result.exit_code == 0
    names = [json.loads(line)["name"] for line in result.stdout.splitlines()]
    assert "resnet_s" in names


def test_sigint_stops_after_saving_and_resume_finishes(tiny_data, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    command = [sys.executable, "-m", "fer_cli", "train", str(tiny_data), "--model", "resnet_s", "--epochs", "40",
               "--batch-size", "16", "--runs-dir", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    history = tmp_path / "train" / "history.csv"
    deadline = time.time() + 180
    while time.time() < deadline and not (history.is_file() and len(history.read_text().splitlines()) >= 2):
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=180)
    assert process.returncode == 0, stderr
    assert "stopping after this epoch" in stderr and "stopped early" in stderr
    assert stdout.strip().splitlines()[-1] == str(tmp_path / "train")
    rows = list(csv.DictReader(history.open()))
    done = json.loads((tmp_path / "train" / "state.json").read_text())["epochs_done"]
    assert len(rows) == done < 40
    assert [int(float(r["epoch"])) for r in rows] == list(range(1, done + 1))
