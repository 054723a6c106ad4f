"""Issue 12, runtimes: built-in views refuse --tta, the ONNX twin's stamp, class names from ONNX metadata, layering."""

from __future__ import annotations

import ast
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from fer_cli.labels import EMOTIONS
from helpers import REPO, jsonl


def _face(folder: Path, name: str = "face.png") -> Path:
    """One 48x48 grey picture, small enough to be taken as a face crop."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 48), dtype=np.uint8)).save(path)
    return path


def _tiny_onnx(path: Path, metadata: dict[str, str], best: int = 6) -> Path:
    """An ONNX model that ignores the image and always scores class `best` highest, with `metadata`."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.zeros((48 * 48, 7), np.float32), "weights")
    bias = numpy_helper.from_array(np.eye(7, dtype=np.float32)[best] * 3, "bias")
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["image"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "weights"], ["logits0"]),
            helper.make_node("Add", ["logits0", "bias"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        ],
        "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [None, 48, 48, 1])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 7])],
        initializer=[weights, bias],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def _fake_run_with_twin(folder: Path) -> Path:
    """A run folder whose best.keras is opaque bytes and whose best.onnx is stamped as its exact twin.

    Prediction must never open the Keras file itself, so no TensorFlow is needed.
    """
    import hashlib

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "best.keras").write_bytes(b"PK not really a keras file " * 1000)
    stamp = {"class_names": json.dumps(list(EMOTIONS)), "source_sha256": hashlib.sha256((folder / "best.keras").read_bytes()).hexdigest(), "quantize": "none"}
    _tiny_onnx(folder / "best.onnx", stamp)
    return folder


def _tiny_keras_run(folder: Path) -> Path:
    """A run folder holding a tiny (pooling + dense) Keras model as best.keras."""
    from fer_cli.tf_env import keras as _keras

    keras = _keras()
    keras.utils.set_random_seed(0)
    image = keras.Input((48, 48, 1), name="image")  # the input name fer's exports expect
    pooled = keras.layers.AveragePooling2D(8)(keras.layers.Rescaling(1 / 255)(image))
    probabilities = keras.layers.Dense(7, activation="softmax")(keras.layers.Flatten()(pooled))
    model = keras.Model(image, probabilities, name="tiny")
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "best.keras")
    return folder


# --- 8. --tta on a model with built-in views -------------------------------------------------------------


def test_predict_refuses_tta_on_the_shipped_model_with_built_in_views(runner, app, tmp_path):
    result = runner.invoke(app, ["predict", str(_face(tmp_path)), "--tta", "flip"])
    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert "already averages 10 built-in views" in lines[0] and lines[0].endswith("drop --tta")


def test_evaluate_refuses_tta_on_the_shipped_keras_model(runner, app, tiny_data):
    result = runner.invoke(app, ["evaluate", str(tiny_data), "--tta", "crops", "--format", "json", "-q"])
    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""
    assert "already averages 10 built-in views" in result.stderr and "drop --tta" in result.stderr


def test_predict_and_evaluate_refuse_tta_on_an_onnx_model_with_built_in_views(runner, app, tmp_path, tiny_data):
    model = _tiny_onnx(tmp_path / "views.onnx", {"class_names": json.dumps(list(EMOTIONS)), "built_in_views": "flip"})
    face = _face(tmp_path)
    predicted = runner.invoke(app, ["predict", str(face), "--model", str(model), "--tta", "crops"])
    assert predicted.exit_code == 2 and "already averages 2 built-in views" in predicted.stderr
    evaluated = runner.invoke(app, ["evaluate", str(tiny_data), "--model", str(model), "--tta", "flip", "-q"])
    assert evaluated.exit_code == 2 and "already averages 2 built-in views" in evaluated.stderr
    # Without --tta the same model predicts, and a model without built-in views still takes --tta.
    assert runner.invoke(app, ["predict", str(face), "--model", str(model)]).exit_code == 0
    plain = _tiny_onnx(tmp_path / "plain.onnx", {"class_names": json.dumps(list(EMOTIONS))})
    assert runner.invoke(app, ["predict", str(face), "--model", str(plain), "--tta", "flip"]).exit_code == 0


def test_export_stamps_built_in_views_so_the_onnx_model_refuses_tta(runner, app, tmp_path):
    from fer_cli.runtimes.onnx_metadata import read_metadata

    run = _tiny_keras_run(tmp_path / "run")
    views = tmp_path / "views.onnx"
    exported = runner.invoke(app, ["export", str(run), "--format", "onnx", "--tta", "flip", "-o", str(views), "-q"])
    assert exported.exit_code == 0, exported.stderr
    stamp = read_metadata(views)
    assert stamp["built_in_views"] == "flip" and stamp["quantize"] == "none"
    assert "source_sha256" not in stamp  # a model with views added is not the twin of its source
    refused = runner.invoke(app, ["predict", str(_face(tmp_path)), "--model", str(views), "--tta", "flip"])
    assert refused.exit_code == 2 and "already averages 2 built-in views (flip)" in refused.stderr


# --- 9. The ONNX twin ---------------------------------------------------------------------------------------


def test_int8_export_to_best_onnx_is_not_used_as_the_twin(runner, app, tmp_path):
    run = _tiny_keras_run(tmp_path / "run")
    exported = runner.invoke(app, ["export", str(run), "--format", "onnx", "--quantize", "int8", "-o", str(run / "best.onnx"), "-q"])
    assert exported.exit_code == 0, exported.stderr
    int8_bytes = (run / "best.onnx").read_bytes()
    face = _face(tmp_path / "faces")
    result = runner.invoke(app, ["predict", str(face), "--model", str(run), "--no-detect"])
    assert result.exit_code == 0, result.stderr
    assert "exporting" in result.stderr  # an exact twin was made, the int8 file was not taken for one
    assert (run / "best.onnx").read_bytes() == int8_bytes  # and the user's int8 export was not overwritten
    from fer_cli.runtimes.keras_runtime import KerasRuntime

    image = np.asarray(Image.open(face), np.float32)[None, ..., None]
    expected = KerasRuntime(run / "best.keras").predict(image)[0]
    record = jsonl(result.stdout)[0]
    assert np.allclose([record["scores"][name] for name in EMOTIONS], expected, atol=1e-5)


def test_unchanged_model_is_not_hashed_again_on_each_predict(runner, app, tmp_path, monkeypatch):
    run = _fake_run_with_twin(tmp_path / "run")
    face = _face(tmp_path / "faces")
    first = runner.invoke(app, ["predict", str(face), "--model", str(run)])
    assert first.exit_code == 0, first.stderr
    opened: list[str] = []
    real_open = io.open

    def counting_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", counting_open)
    second = runner.invoke(app, ["predict", str(face), "--model", str(run)])
    monkeypatch.undo()
    assert second.exit_code == 0, second.stderr
    assert str(run / "best.keras") not in opened  # the stamp cache knew its digest
    assert jsonl(second.stdout)[0]["label"] == EMOTIONS[6]  # and the twin was still used


def test_digest_cache_hashes_only_new_or_changed_files(tmp_path, monkeypatch):
    import os

    from fer_cli.runtimes import digest

    calls: list[Path] = []
    real = digest.file_digest
    monkeypatch.setattr(digest, "file_digest", lambda path: calls.append(Path(path)) or real(path))
    model = tmp_path / "m.keras"
    model.write_bytes(b"a" * 100)
    first = digest.cached_digest(model)
    assert digest.cached_digest(model) == first and len(calls) == 1
    model.write_bytes(b"b" * 100)  # same size, new content
    os.utime(model, ns=(model.stat().st_atime_ns, model.stat().st_mtime_ns + 1_000_000))
    assert digest.cached_digest(model) == real(model) != first and len(calls) == 2


def test_stale_twin_is_not_used(tmp_path):
    from fer_cli.runtimes.resolve import ModelRef
    from fer_cli.runtimes.twin import find_twin

    run = _fake_run_with_twin(tmp_path / "run")
    ref = ModelRef(run / "best.keras", "keras")
    assert find_twin(ref) == ModelRef(run / "best.onnx", "onnx")
    (run / "best.keras").write_bytes(b"PK changed")
    assert find_twin(ref) is None


def test_onnx_metadata_is_read_without_parsing_the_graph():
    import onnx

    from fer_cli.runtimes.onnx_metadata import read_metadata
    from fer_cli.runtimes.resolve import DEFAULT_MODEL

    shipped = DEFAULT_MODEL.with_suffix(".onnx")
    expected = {p.key: p.value for p in onnx.load(str(shipped), load_external_data=False).metadata_props}
    assert read_metadata(shipped) == expected
    assert expected["built_in_views"] == "crops" and expected["quantize"] == "none"


def test_metadata_of_a_file_that_is_not_onnx_is_an_error(tmp_path):
    import pytest

    from fer_cli.errors import ModelError
    from fer_cli.runtimes.onnx_metadata import read_metadata

    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\xff" * 64)
    with pytest.raises(ModelError):
        read_metadata(bad)


# --- 10. Class names from ONNX metadata ---------------------------------------------------------------------


def test_onnx_metadata_class_names_beat_a_nearby_classes_json(runner, app, tmp_path):
    reordered = list(reversed(EMOTIONS))
    model = _tiny_onnx(tmp_path / "m" / "model.onnx", {"class_names": json.dumps(reordered)}, best=6)
    (tmp_path / "m" / "classes.json").write_text(json.dumps(list(EMOTIONS)))
    result = runner.invoke(app, ["predict", str(_face(tmp_path)), "--model", str(model)])
    assert result.exit_code == 0, result.stderr
    record = jsonl(result.stdout)[0]
    assert record["label"] == reordered[6] == "angry"
    assert list(record["scores"]) == reordered


# --- Layering -------------------------------------------------------------------------------------------------


def _imports(folder: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(folder.glob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        found[path.name] = names
    return found


def test_runtimes_and_inference_never_reach_the_exporter_or_training():
    for folder in (REPO / "fer_cli" / "runtimes", REPO / "fer_cli" / "inference"):
        for name, modules in _imports(folder).items():
            bad = {m for m in modules if m.startswith(("fer_cli.exporting.exporter", "fer_cli.training", "fer_cli.cli"))}
            assert not bad, f"{folder.name}/{name} imports {bad}"


def test_inference_does_not_depend_on_the_data_layer():
    for name, modules in _imports(REPO / "fer_cli" / "inference").items():
        assert not {m for m in modules if m.startswith("fer_cli.data")}, f"inference/{name} imports the data layer"


def test_a_bad_picture_is_described_without_loading_the_data_layer(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a picture")
    code = (
        "import sys, numpy as np\n"
        "from fer_cli.inference.inputs import InputItem\n"
        "from fer_cli.inference.predictor import Predictor, Failure\n"
        "class Runtime:\n"
        "    num_classes = 7\n"
        "    def predict(self, images, batch_size=256): return np.full((len(images), 7), 1 / 7, np.float32)\n"
        f"out = list(Predictor(Runtime(), tuple('abcdefg')).run([InputItem({str(bad)!r})]))\n"
        "assert isinstance(out[0], Failure), out\n"
        "print(out[0].reason)\n"
        "print(sorted(m for m in sys.modules if m.startswith('fer_cli.data')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    reason, modules = done.stdout.strip().splitlines()
    assert reason == "not a readable image (unknown or corrupt format)"
    assert modules == "[]"
