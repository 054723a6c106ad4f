"""Training features on tiny data: augmentation, class weights, schedules, EMA, reports, curves, TTA."""

import csv
import json

import numpy as np
import pytest
import yaml

from fer_cli.config import AugmentConfig
from fer_cli.runtimes.tta import TTA, TtaRuntime, views
from fer_cli.training.optimization import class_weights


def _batch(images, config, seed=0):
    from fer_cli.training.pipeline import make_dataset

    labels = np.arange(len(images)) % 7
    x, y = next(iter(make_dataset(images, labels, 7, len(images), False, seed, config)))
    return x.numpy(), y.numpy()


@pytest.fixture(scope="module")
def faces():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (16, 48, 48), dtype=np.uint8)


def test_no_augmentation_is_identity(faces):
    x, y = _batch(faces, AugmentConfig())
    assert np.array_equal(x[..., 0], faces.astype(np.float32))
    assert np.array_equal(y.argmax(1), np.arange(16) % 7) and np.allclose(y.sum(1), 1)


@pytest.mark.parametrize("option", [{"flip": True}, {"rotate": 0.05}, {"zoom": 0.1}, {"translate": 0.1},
                                    {"contrast": 0.3}, {"brightness": 0.2}, {"erasing": 1.0}])
def test_each_image_augmentation_changes_images_but_keeps_range_and_labels(faces, option):
    x, y = _batch(faces, AugmentConfig(**option))
    assert x.shape == (16, 48, 48, 1) and 0 <= x.min() and x.max() <= 255.0001
    assert not np.array_equal(x[..., 0], faces.astype(np.float32))
    assert np.array_equal(y.argmax(1), np.arange(16) % 7)


def test_augmentation_is_seeded(faces):
    config = AugmentConfig(flip=True, rotate=0.05, zoom=0.1, translate=0.1, erasing=0.5)
    assert np.array_equal(_batch(faces, config, seed=1)[0], _batch(faces, config, seed=1)[0])


def test_erasing_blanks_a_rectangle(faces):
    flat = np.full((4, 48, 48), 128, np.uint8)
    x, _ = _batch(flat, AugmentConfig(erasing=1.0))
    for image in x[..., 0]:
        rows, cols = np.nonzero(image != 128)
        assert len(rows) > 0
        # The changed pixels fill their bounding box: one rectangle.
        box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        assert len(rows) > 0.9 * box


@pytest.mark.parametrize("option", [{"mixup": 0.4}, {"cutmix": 1.0}])
def test_mixing_keeps_targets_a_distribution(faces, option):
    x, y = _batch(faces, AugmentConfig(**option))
    assert np.allclose(y.sum(1), 1, atol=1e-5) and y.min() >= 0
    assert (y.max(1) < 1).any()  # some targets are mixed


def test_class_weights():
    counts = np.array([90, 10])
    assert class_weights(counts, "none") is None
    balanced = class_weights(counts, "balanced")
    assert balanced[1] / balanced[0] == pytest.approx(9)
    sqrt = class_weights(counts, "sqrt")
    assert sqrt[1] / sqrt[0] == pytest.approx(3)
    # Scaled so the average weight over samples is 1.
    assert (90 * balanced[0] + 10 * balanced[1]) / 100 == pytest.approx(1)


def test_tta_views():
    images = np.arange(2 * 48 * 48, dtype=np.float32).reshape(2, 48, 48, 1)
    assert len(views(images, TTA.none)) == 1
    flip = views(images, TTA.flip)
    assert len(flip) == 2 and np.array_equal(flip[1], images[:, :, ::-1])
    assert len(views(images, TTA.crops)) == 10


def test_tta_runtime_averages():
    class Probe:
        name, num_classes = "probe", 2

        def predict(self, images, batch_size=256):
            left = images[:, :, :24].mean(axis=(1, 2, 3))
            right = images[:, :, 24:].mean(axis=(1, 2, 3))
            p = left / (left + right)
            return np.stack([p, 1 - p], axis=1)

    image = np.concatenate([np.full((1, 48, 24, 1), 3.0), np.full((1, 48, 24, 1), 1.0)], axis=2)
    assert np.allclose(Probe().predict(image), [[0.75, 0.25]])
    assert np.allclose(TtaRuntime(Probe(), TTA.flip).predict(image), [[0.5, 0.5]])


def test_full_recipe_trains_and_writes_reports(runner, app, tiny_data, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({
        "model": "resnet_s", "epochs": 2, "batch_size": 16, "optimizer": "sgd", "schedule": "plateau",
        "class_weight": "balanced", "ema": 0.99, "report_split": "test", "label_smoothing": 0.1,
        "augment": {"flip": True, "translate": 0.1, "rotate": 0.05, "zoom": 0.1, "contrast": 0.2,
                    "brightness": 0.2, "erasing": 0.5, "mixup": 0.2, "cutmix": 1.0},
    }))
    result = runner.invoke(app, ["train", str(tiny_data), "--config", str(config), "--runs-dir", str(tmp_path / "runs"), "-q"])
    assert result.exit_code == 0, result.stderr
    run = tmp_path / "runs" / "train"
    rows = list(csv.DictReader((run / "history.csv").open()))
    assert len(rows) == 2 and {"test_accuracy", "seconds", "lr"} <= set(rows[0])
    assert float(rows[1]["seconds"]) > float(rows[0]["seconds"]) > 0
    assert (run / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert any((run / "tensorboard").rglob("events.out.tfevents.*"))


def test_tta_in_evaluate_and_predict(runner, app, tiny_data, tiny_run):
    from PIL import Image

    from fer_cli.runtimes import open_runtime, resolve_model

    paths = sorted((tiny_data / "test").rglob("*.png"))
    images = np.stack([np.asarray(Image.open(p), np.float32) for p in paths])[..., None]
    model = open_runtime(resolve_model(str(tiny_run)))
    plain_p = model.predict(images)
    crops_p = np.mean([model.predict(view) for view in views(images, TTA.crops)], axis=0)
    assert not np.allclose(plain_p, crops_p, atol=1e-3)  # the views change the answer, so the checks below can fail

    plain = json.loads(runner.invoke(app, ["evaluate", str(tiny_data), "-m", str(tiny_run), "-f", "json"]).stdout)
    crops = json.loads(runner.invoke(app, ["evaluate", str(tiny_data), "-m", str(tiny_run), "-f", "json", "--tta", "crops"]).stdout)
    assert plain["tta"] == "none" and crops["tta"] == "crops"
    truth = [plain["classes"].index(p.parent.name) for p in paths]

    def confusion(probabilities):
        matrix = np.zeros((7, 7), int)
        for true, guess in zip(truth, probabilities.argmax(axis=1), strict=True):
            matrix[true, guess] += 1
        return matrix.tolist()

    # Each report counts the argmax of its own probabilities: plain ones, or the average over the 10 crops views.
    assert plain["confusion"] == confusion(plain_p) and crops["confusion"] == confusion(crops_p)

    image = paths[[p.parent.name for p in paths].index("happy")]
    a = json.loads(runner.invoke(app, ["predict", str(image), "-m", str(tiny_run)]).stdout)
    b = json.loads(runner.invoke(app, ["predict", str(image), "-m", str(tiny_run), "--tta", "flip"]).stdout)
    assert a["path"] == b["path"] and a["scores"] != b["scores"]
    picture = images[paths.index(image)][None]
    flipped = np.mean([model.predict(view) for view in views(picture, TTA.flip)], axis=0)[0]
    assert [b["scores"][name] for name in plain["classes"]] == pytest.approx(flipped.tolist(), abs=1e-4)


def _kernels(path):
    from fer_cli.runtimes.keras_runtime import load_keras_model

    model = load_keras_model(path)
    return [w.numpy() for w in model.weights if w.path.endswith("kernel")]


def test_init_weights_starts_from_a_trained_model(runner, app, tiny_data, tiny_run, tmp_path):
    # A learning rate too small to move the weights: the new run ends where the old one was.
    config = tmp_path / "c.yaml"
    config.write_text(f"model: resnet_s\nepochs: 1\nbatch_size: 16\nlearning_rate: 1.0e-9\ninit_weights: {tiny_run}\n")
    result = runner.invoke(app, ["train", str(tiny_data), "--config", str(config), "--runs-dir", str(tmp_path), "--name", "warm"])
    assert result.exit_code == 0, result.stderr
    assert f"started from the weights of {tiny_run / 'best.keras'}" in result.stderr
    source, warm = _kernels(tiny_run / "best.keras"), _kernels(tmp_path / "warm" / "last.keras")
    assert all(np.allclose(a, b, atol=1e-5) for a, b in zip(source, warm))
    # The run folder records where it started, as an absolute path.
    assert yaml.safe_load((tmp_path / "warm" / "config.yaml").read_text())["init_weights"] == str(tiny_run.resolve())
    missing = runner.invoke(app, ["train", str(tiny_data), "--config", str(config), "--runs-dir", str(tmp_path),
                                  "--init-weights", str(tmp_path / "missing.keras")])
    assert missing.exit_code == 1 and missing.stderr.startswith("Error: no such model")


def test_init_weights_default_is_the_shipped_model(runner, app, tiny_data, tmp_path):
    result = runner.invoke(app, ["train", str(tiny_data), "--model", "resnet_m", "--epochs", "1", "-b", "32",
                                 "--init-weights", "default", "--runs-dir", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.stderr
    assert yaml.safe_load((tmp_path / "train" / "config.yaml").read_text())["init_weights"] == "default"


def test_init_weights_keeps_the_body_for_other_classes(runner, app, tiny_run, tmp_path):
    from fer_cli.runtimes.keras_runtime import load_keras_model
    from helpers import write_class_folders

    write_class_folders(tmp_path / "data3" / "train", 8, seed=3, classes=("happy", "sad", "surprise"))
    config = tmp_path / "c.yaml"
    config.write_text("model: resnet_s\nepochs: 1\nbatch_size: 8\nlearning_rate: 1.0e-9\n")
    result = runner.invoke(app, ["train", str(tmp_path / "data3"), "--config", str(config), "--init-weights",
                                 str(tiny_run / "best.keras"), "--runs-dir", str(tmp_path), "--name", "three"])
    assert result.exit_code == 0, result.stderr
    assert "all but the classifier head (trained on 7 other classes)" in result.stderr
    assert load_keras_model(tmp_path / "three" / "best.keras").output_shape[-1] == 3
    source, tuned = _kernels(tiny_run / "best.keras"), _kernels(tmp_path / "three" / "last.keras")
    assert all(np.allclose(a, b, atol=1e-5) for a, b in zip(source[:-1], tuned[:-1]))


def test_init_weights_reorders_the_head_to_the_data_classes(tiny_run, tmp_path):
    from fer_cli.models import build_model
    from fer_cli.runtimes.keras_runtime import load_keras_model
    from fer_cli.training.warm_start import load_initial_weights

    classes = json.loads((tiny_run / "classes.json").read_text())
    model = build_model("resnet_s", 7)
    line = load_initial_weights(model, str(tiny_run), classes[::-1])
    assert line.endswith("(head reordered to the data's classes)")
    image = np.random.default_rng(0).uniform(0, 255, (2, 48, 48, 1)).astype(np.float32)
    source = load_keras_model(tiny_run / "best.keras").predict(image, verbose=0)
    assert np.allclose(model.predict(image, verbose=0), source[:, ::-1], atol=1e-5)


def test_init_weights_refuses_another_architecture(runner, app, tiny_data, tiny_run, tmp_path):
    other = runner.invoke(app, ["train", str(tiny_data), "--model", "seed", "--epochs", "1",
                                "--init-weights", str(tiny_run), "--runs-dir", str(tmp_path)])
    assert other.exit_code == 1 and other.stderr.startswith("Error: ")
    assert "does not fit seed; train with --model resnet_s" in other.stderr
    assert len(other.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "train").exists()  # refused before any run folder is made


def test_join_histories_carries_epochs_and_seconds_on():
    from fer_cli.training.run_dir import join_histories

    first = [{"epoch": 1.0, "seconds": 10.0, "val_accuracy": 0.5}, {"epoch": 2.0, "seconds": 25.0, "val_accuracy": 0.6}]
    second = [{"epoch": 1.0, "seconds": 7.0, "val_accuracy": 0.65}]
    joined = join_histories([first, second])
    assert [(r["epoch"], r["seconds"]) for r in joined] == [(1, 10), (2, 25), (3, 32)]
    assert joined[-1]["val_accuracy"] == 0.65 and join_histories([]) == []
