"""The public Python API: the same answers as the commands, every kind of image, a light import, model cards."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import REPO, jsonl

ASTRONAUT = REPO / "samples" / "astronaut.png"


@pytest.fixture(scope="module")
def recognizer():
    import fer_cli

    return fer_cli.Recognizer()


def test_every_kind_of_image_gives_the_scores_fer_predict_prints(runner, app, recognizer):
    printed = jsonl(runner.invoke(app, ["predict", str(ASTRONAUT), "-f", "jsonl", "-q"]).stdout)[0]
    picture = Image.open(ASTRONAUT)
    for image in (str(ASTRONAUT), ASTRONAUT, picture, np.asarray(picture.convert("RGB")), ASTRONAUT.read_bytes()):
        faces = recognizer.predict(image)
        assert len(faces) == 1 and faces[0].label == printed["label"] and faces[0].box == tuple(printed["box"])
        for name, score in printed["scores"].items():
            assert abs(faces[0].scores[name] - score) < 1e-5, (type(image).__name__, name)
    assert recognizer.predict(str(ASTRONAUT))[0].to_dict() == printed  # a path's record is the command's, field for field
    assert "path" not in recognizer.predict(picture)[0].to_dict()


def test_gray_arrays_and_crops(recognizer, tiny_data):
    path = next((tiny_data / "test" / "happy").iterdir())
    gray = np.asarray(Image.open(path).convert("L"))
    for image in (gray, gray[..., None], path):
        faces = recognizer.predict(image)
        assert faces[0].box == (0, 0, 48, 48)  # a 48 px picture is a face crop, used whole
    assert recognizer.predict(gray)[0].scores == recognizer.predict(path)[0].scores


@pytest.mark.parametrize("image, message", [
    (np.zeros((48, 48), np.float32), "must be uint8"),
    (np.zeros((2, 48, 48, 3), np.uint8), "must be H x W"),
    (12, "cannot take a int as an image"),
    (b"not an image", "not a readable image"),
    ("nowhere.png", "no such file"),
    ("clip.mp4", "a video; use Recognizer.predict_video"),
])
def test_bad_images_are_one_line_data_errors(recognizer, image, message):
    from fer_cli.errors import DataError

    with pytest.raises(DataError, match=message) as raised:
        recognizer.predict(image)
    assert "\n" not in str(raised.value)


def test_predict_many_batches_across_images(recognizer, tiny_data):
    paths = sorted((tiny_data / "test").glob("*/*.png"))[:10]
    calls = []
    runtime = recognizer.model.runtime
    original = runtime.predict
    runtime.predict = lambda images, *a, **k: calls.append(len(images)) or original(images, *a, **k)
    try:
        many = recognizer.predict_many(paths)
        assert calls == [10]
        calls.clear()
        assert [f.to_dicts() for f in recognizer.predict_many(paths, batch_size=4)] == [f.to_dicts() for f in many]
        assert calls == [4, 4, 2]
    finally:
        del runtime.predict
    assert [faces[0].scores for faces in many] == [recognizer.predict(p)[0].scores for p in paths]


def test_evaluate_gives_what_fer_evaluate_prints(runner, app, tiny_run, tiny_data):
    import fer_cli

    printed = json.loads(runner.invoke(app, ["evaluate", str(tiny_data), "--model", str(tiny_run), "-f", "json", "-q"]).stdout)
    report = fer_cli.evaluate(tiny_data, model=tiny_run)
    got = report.to_dict()
    assert got["accuracy"] == printed["accuracy"] and got["confusion"] == printed["confusion"]
    assert got["model"] == printed["model"] == str(tiny_run / "best.keras") and got["split"] == "test"


def test_video_frames_tracks_and_summary(recognizer, tmp_path, runner, app):
    from video_clips import write_crossing_clip

    write_crossing_clip(tmp_path / "clip.mp4")
    video = recognizer.predict_video(tmp_path / "clip.mp4", fps=5)
    frames = list(video)
    assert [f.frame for f in frames][:3] == [0, 2, 4] and all(f.path == str(tmp_path / "clip.mp4") for f in frames)
    assert {face.track for f in frames for face in f} == {0, 1}
    printed = jsonl(runner.invoke(app, ["predict", str(tmp_path / "clip.mp4"), "--fps", "5", "--summary", "-q"]).stdout)
    assert video.summary() == printed


def test_import_is_light():
    code = ("import sys, fer_cli; fer_cli.Recognizer, fer_cli.evaluate, fer_cli.train, fer_cli.export, fer_cli.ModelCard; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'onnxruntime', 'matplotlib', 'torch') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_public_names_are_the_api_functions():
    import fer_cli
    from fer_cli.api.exporter import export
    from fer_cli.exporting import exporter  # the stage module loaded: fer_cli.export must stay the function

    assert exporter.FORMATS and fer_cli.export is export and callable(fer_cli.evaluate)
    with pytest.raises(AttributeError):
        fer_cli.no_such_name  # noqa: B018


def test_light_install_says_at_once_that_a_keras_model_needs_tensorflow(runner, app, tiny_run, tmp_path, monkeypatch):
    import shutil

    import fer_cli.optional

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("*.onnx*"))
    real = fer_cli.optional.available
    monkeypatch.setattr(fer_cli.optional, "available", lambda module: module != "tensorflow" and real(module))
    result = runner.invoke(app, ["predict", str(ASTRONAUT), "--model", str(run)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "needs TensorFlow: pip install 'fer-cli[train]'" in result.stderr and "exporting" not in result.stderr


def test_tta_on_a_model_with_views_is_refused_before_any_data_is_read(runner, app, tmp_path):
    result = runner.invoke(app, ["evaluate", str(tmp_path / "no-such-data"), "--tta", "flip"])
    assert result.exit_code == 2 and "already averages 10 built-in views" in result.stderr


def test_tflite_export_with_views_refuses_run_time_views(runner, app, tiny_run, tmp_path):
    out = tmp_path / "flip.tflite"
    assert runner.invoke(app, ["export", str(tiny_run), "--tta", "flip", "-f", "tflite", "-o", str(out), "-q"]).exit_code == 0
    stacked = runner.invoke(app, ["predict", str(ASTRONAUT), "--model", str(out), "--tta", "flip"])
    assert stacked.exit_code == 2 and "already averages 2 built-in views" in stacked.stderr


def _tiny_colour_model(path: Path, classes: list[str], size: int):
    """A small Keras classifier of `size` x `size` RGB faces with a card inside, as `fer train` would write it."""
    from fer_cli.runtimes.card import ModelCard, embed_in_keras
    from fer_cli.tf_env import keras as _keras

    keras = _keras()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((size, size, 3), name="image")  # as fer's own models name it
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 3, strides=4, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(len(classes), activation="softmax")(x)
    keras.Model(inputs, outputs).save(path)
    embed_in_keras(path, ModelCard(class_names=tuple(classes), input_size=size, channels=3))
    return path


EIGHT = ["angry", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise"]


def test_a_112_rgb_eight_class_model_works_end_to_end(tmp_path, runner, app, tiny_data):
    import fer_cli

    keras_file = _tiny_colour_model(tmp_path / "rgb.keras", EIGHT, 112)
    onnx_file = fer_cli.export(keras_file, "onnx", out=tmp_path / "rgb.onnx").path
    for model in (keras_file, onnx_file):
        recognizer = fer_cli.Recognizer(model)
        assert recognizer.card.input_shape == (112, 112, 3) and recognizer.class_names == tuple(EIGHT)
        faces = recognizer.predict(ASTRONAUT)
        assert len(faces) == 1 and set(faces[0].scores) == set(EIGHT)
    printed = jsonl(runner.invoke(app, ["predict", str(ASTRONAUT), "--model", str(onnx_file), "-q"]).stdout)[0]
    assert printed["scores"] == faces[0].to_dict()["scores"]
    report = fer_cli.evaluate(tiny_data, model=onnx_file)
    assert report.to_dict()["classes"] == EIGHT and report.to_dict()["n"] == 28
    assert any("copied to 3 channels" in note for note in report.notes)


def test_an_onnx_without_a_card_is_told_how_to_get_one(tmp_path, runner, app):
    import onnx

    import fer_cli

    keras_file = _tiny_colour_model(tmp_path / "rgb.keras", EIGHT, 64)
    exported = fer_cli.export(keras_file, "onnx", out=tmp_path / "rgb.onnx").path
    foreign = onnx.load(str(exported))
    del foreign.metadata_props[:]
    onnx.save(foreign, str(tmp_path / "foreign.onnx"))
    refused = runner.invoke(app, ["predict", str(ASTRONAUT), "--model", str(tmp_path / "foreign.onnx")])
    assert refused.exit_code == 1 and "has no fer model card" in refused.stderr and "save_beside" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    fer_cli.ModelCard(class_names=EIGHT, input_size=64, channels=3).save_beside(tmp_path / "foreign.onnx")
    given = runner.invoke(app, ["predict", str(ASTRONAUT), "--model", str(tmp_path / "foreign.onnx"), "-q"])
    assert given.exit_code == 0 and set(jsonl(given.stdout)[0]["scores"]) == set(EIGHT)


def test_a_card_that_disagrees_with_its_model_is_refused(tmp_path):
    import fer_cli
    from fer_cli.errors import ModelError

    keras_file = _tiny_colour_model(tmp_path / "rgb.keras", EIGHT, 64)
    exported = fer_cli.export(keras_file, "onnx", out=tmp_path / "rgb.onnx").path
    fer_cli.ModelCard(class_names=EIGHT, input_size=96, channels=3).save_beside(exported)
    import onnx

    foreign = onnx.load(str(exported))
    del foreign.metadata_props[:]
    onnx.save(foreign, str(exported))
    with pytest.raises(ModelError, match="its card says input_size 96, but the model takes 64"):
        fer_cli.Recognizer(exported)
