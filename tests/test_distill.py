"""Knowledge distillation: `fer train --teacher MODEL` trains on the teacher's blended probabilities."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml


def test_blended_targets_are_distributions():
    from fer_cli.training.distill import blend_targets

    teacher = np.array([[0.2, 0.8, 0.0], [0.5, 0.25, 0.25]], dtype=np.float32)
    targets = blend_targets(np.array([0, 2]), teacher, 0.75)
    assert np.allclose(targets, [[0.4, 0.6, 0.0], [0.375, 0.1875, 0.4375]])
    assert np.allclose(blend_targets(np.array([0, 2]), teacher, 1.0), teacher)


def test_soft_targets_stay_with_their_images_through_shuffling(tiny_data):
    from fer_cli.config import TrainConfig
    from fer_cli.data import load_dataset
    from fer_cli.training.inputs import MemoryInputs

    inputs = MemoryInputs(load_dataset(tiny_data), TrainConfig(val_split=0.25))
    classes = len(inputs.class_names)
    # A target that names each image: row i puts its mass on class i % classes, with a second share by i // classes.
    rows = np.zeros((inputs.train_count, classes), np.float32)
    index = np.arange(inputs.train_count)
    rows[index, index % classes] = 0.6
    rows[index, (index // classes) % classes] += 0.4
    inputs.set_targets(rows)
    by_image = {image.tobytes(): i for i, image in enumerate(inputs.train_images)}
    seen = 0
    for images, targets in inputs.train(batch_size=16, seed=3):
        for image, target in zip(images.numpy(), targets.numpy()):
            i = by_image[image[..., 0].astype(np.uint8).tobytes()]
            assert np.allclose(target, rows[i])
            seen += 1
    assert seen == inputs.train_count
    with pytest.raises(ValueError):
        inputs.set_targets(rows[:-1])


def test_teacher_columns_follow_the_data_classes(tiny_run):
    from fer_cli.runtimes import open_runtime, resolve_model
    from fer_cli.training.distill import teacher_probabilities

    classes = json.loads((tiny_run / "classes.json").read_text())
    images = np.random.default_rng(0).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    direct = open_runtime(resolve_model(str(tiny_run))).predict(images.astype(np.float32)[..., None])
    reordered = teacher_probabilities(str(tiny_run), images, classes[::-1])
    assert np.allclose(reordered, direct[:, ::-1], atol=1e-6)


def test_train_with_a_teacher_and_resume_without_it(runner, app, tiny_data, tiny_run, tmp_path):
    import shutil

    from fer_cli.config import load_config

    teacher = Path(shutil.copytree(tiny_run, tmp_path / "teacher_run"))  # removed below: a copy, not the shared run
    first = runner.invoke(app, ["train", str(tiny_data), "--model", "resnet_s", "--epochs", "1", "-b", "16", "--mixup", "0.2",
                                "--teacher", str(teacher), "--teacher-weight", "0.7", "--runs-dir", str(tmp_path), "--name", "student"])
    assert first.exit_code == 0, first.stderr
    assert f"teacher {teacher.resolve()} agrees with" in first.stderr
    run = tmp_path / "student"
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["teacher"] == str(teacher.resolve()) and config["teacher_weight"] == 0.7
    saved = np.load(run / "teacher.npy", allow_pickle=False)
    assert saved.shape == (67, 7) and np.allclose(saved.sum(axis=1), 1, atol=1e-5)

    # Resuming trains on the saved teacher probabilities: the teacher may be gone.
    config = load_config(run / "config.yaml", {"epochs": 2})  # as if stopped after 1 of 2 epochs
    (run / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    shutil.rmtree(teacher)
    resumed = runner.invoke(app, ["train", "--resume", str(run)])
    assert resumed.exit_code == 0, resumed.stderr
    assert "agrees with" not in resumed.stderr  # the teacher did not run again
    assert np.array_equal(np.load(run / "teacher.npy", allow_pickle=False), saved)
    assert len((run / "history.csv").read_text().splitlines()) == 1 + 2


def test_saved_teacher_probabilities_are_reused_only_when_they_fit(tmp_path):
    from fer_cli.training.distill import load_teacher_file, save_teacher_file

    path = tmp_path / "teacher.npy"
    assert load_teacher_file(path, 3, 2) is None
    save_teacher_file(path, np.full((3, 2), 0.5, np.float32))
    assert load_teacher_file(path, 3, 2).shape == (3, 2)
    assert load_teacher_file(path, 4, 2) is None
    path.write_bytes(b"not numpy")
    assert load_teacher_file(path, 3, 2) is None


def test_a_teacher_of_other_classes_is_refused(runner, app, tiny_run, tmp_path):
    from helpers import write_class_folders

    write_class_folders(tmp_path / "data3" / "train", 6, seed=3, classes=("happy", "sad", "surprise"))
    result = runner.invoke(app, ["train", str(tmp_path / "data3"), "--model", "resnet_s", "--epochs", "1",
                                 "--teacher", str(tiny_run), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 1 and "a teacher must know the same classes" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "runs").exists()
    bad_weight = runner.invoke(app, ["train", str(tmp_path / "data3"), "--teacher", str(tiny_run), "--teacher-weight", "0"])
    assert bad_weight.exit_code != 0 and "teacher_weight" in bad_weight.stderr
