"""fer predict: records, formats, stdin, bad inputs."""

import csv
import io
import json

import numpy as np
from PIL import Image

from helpers import jsonl


def _faces(folder, n=3):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        path = folder / f"face{i}.png"
        Image.fromarray(rng.integers(0, 255, (60, 60), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def _predict(runner, app, run, *args, input=None):
    return runner.invoke(app, ["predict", *map(str, args), "--model", str(run)], input=input)


def test_jsonl_records_when_piped(runner, app, tiny_run, tmp_path):
    paths = _faces(tmp_path)
    result = _predict(runner, app, tiny_run, *paths)
    assert result.exit_code == 0, result.stderr
    records = jsonl(result.stdout)
    assert [r["path"] for r in records] == [str(p) for p in paths]
    for record in records:
        assert record["label"] in record["scores"] and len(record["scores"]) == 7
        assert abs(sum(record["scores"].values()) - 1) < 1e-3
        assert record["score"] == max(record["scores"].values())
        assert record["box"] == [0, 0, 60, 60] and record["face"] == 0


def test_folders_recurse_and_skip_non_images(runner, app, tiny_run, tmp_path):
    _faces(tmp_path / "a" / "b", 2)
    (tmp_path / "a" / "readme.txt").write_text("x")
    (tmp_path / "a" / ".hidden.png").write_bytes(b"x")
    result = _predict(runner, app, tiny_run, tmp_path / "a")
    assert result.exit_code == 0 and len(jsonl(result.stdout)) == 2


def test_stdin_paths_and_empty_input(runner, app, tiny_run, tmp_path):
    paths = _faces(tmp_path)
    result = _predict(runner, app, tiny_run, "-", input="\n".join(map(str, paths)) + "\n\n")
    assert result.exit_code == 0 and len(jsonl(result.stdout)) == 3
    empty = _predict(runner, app, tiny_run, "-", input="")
    assert empty.exit_code == 0 and empty.stdout == ""
    as_json = _predict(runner, app, tiny_run, "-", "--format", "json", input="")
    assert json.loads(as_json.stdout) == []


def test_bad_inputs_reported_rest_predicted(runner, app, tiny_run, tmp_path):
    good = _faces(tmp_path, 2)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xffnot really")
    result = _predict(runner, app, tiny_run, good[0], tmp_path / "missing.png", broken, good[1])
    assert result.exit_code == 1
    assert [r["path"] for r in jsonl(result.stdout)] == [str(good[0]), str(good[1])]
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and all(line.startswith("Error:") for line in errors)
    assert "missing.png" in errors[0] and "broken.jpg" in errors[1]


def test_formats(runner, app, tiny_run, tmp_path, monkeypatch):
    _faces(tmp_path, 2)
    monkeypatch.chdir(tmp_path)
    paths = ["face0.png", "face1.png"]
    rows = list(csv.DictReader(io.StringIO(_predict(runner, app, tiny_run, *paths, "--format", "csv").stdout)))
    assert len(rows) == 2 and {"path", "label", "score", "scores.happy"} <= set(rows[0])
    as_json = json.loads(_predict(runner, app, tiny_run, *paths, "-f", "json").stdout)
    assert len(as_json) == 2
    table = _predict(runner, app, tiny_run, *paths, "-f", "table").stdout
    assert "label" in table and "face0.png" in table


def test_top_k(runner, app, tiny_run, tmp_path):
    paths = _faces(tmp_path, 1)
    record = jsonl(_predict(runner, app, tiny_run, *paths, "--top-k", "3").stdout)[0]
    assert len(record["top_k"]) == 3 and record["top_k"][0]["label"] == record["label"]
    scores = [t["score"] for t in record["top_k"]]
    assert scores == sorted(scores, reverse=True)


def test_onnx_model_predicts_the_same(runner, app, tiny_run, tmp_path):
    from fer_cli.inference.inputs import InputItem
    from fer_cli.inference.predictor import Predictor
    from fer_cli.runtimes import open_runtime, resolve_model

    onnx = tmp_path / "m.onnx"
    assert runner.invoke(app, ["export", str(tiny_run), "--format", "onnx", "-o", str(onnx), "-q"]).exit_code == 0
    paths = _faces(tmp_path / "f", 3)
    # fer predict runs ONNX even for a run folder (its twin); the Keras model itself, through the same
    # predictor, is the reference both ONNX files must match.
    keras = resolve_model(str(tiny_run))
    predictor = Predictor(open_runtime(keras), keras.class_names)
    keras_records = [r for path in paths for r in predictor.run([InputItem(str(path))])]
    twin_records = jsonl(_predict(runner, app, tiny_run, *paths).stdout)
    onnx_records = jsonl(_predict(runner, app, onnx, *paths).stdout)
    for records in (keras_records, twin_records, onnx_records):
        assert [r["path"] for r in records] == [str(p) for p in paths]
    for a, b, c in zip(keras_records, twin_records, onnx_records, strict=True):
        assert a["label"] == b["label"] == c["label"]
        for name in a["scores"]:
            assert abs(a["scores"][name] - b["scores"][name]) < 1e-4 and abs(a["scores"][name] - c["scores"][name]) < 1e-4


def test_predict_runs_an_onnx_twin_without_tensorflow(runner, app, tiny_run, tmp_path):
    import shutil
    import subprocess
    import sys

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("*.onnx", "*.onnx.classes.json"))
    paths = _faces(tmp_path / "f", 2)
    first = _predict(runner, app, run, *paths)
    assert first.exit_code == 0 and (run / "best.onnx").is_file()
    code = (
        "import sys\nfrom fer_cli.cli import app\ntry:\n app(sys.argv[1:])\nexcept SystemExit as e:\n code = e.code\n"
        "print('TF' if 'tensorflow' in sys.modules else 'NO-TF', file=sys.stderr)\nsys.exit(code)"
    )
    second = subprocess.run([sys.executable, "-c", code, "predict", *map(str, paths), "--model", str(run)],
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 0 and "NO-TF" in second.stderr
    assert [r["label"] for r in jsonl(second.stdout)] == [r["label"] for r in jsonl(first.stdout)]


def test_stale_twin_is_re_exported(runner, app, tiny_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    paths = _faces(tmp_path / "f", 1)
    _predict(runner, app, run, *paths)
    shutil.copyfile(run / "last.keras", run / "best.keras")  # the model changed under its twin
    result = _predict(runner, app, run, *paths)
    assert result.exit_code == 0 and "exporting" in result.stderr


def test_shipped_twin_matches_shipped_model():
    from fer_cli.runtimes.digest import file_digest
    from fer_cli.runtimes.resolve import DEFAULT_MODEL, resolve_model
    from fer_cli.runtimes.twin import find_twin, twin_stamp

    assert twin_stamp(DEFAULT_MODEL.with_suffix(".onnx")) == file_digest(DEFAULT_MODEL)
    assert find_twin(resolve_model(None)).path == DEFAULT_MODEL.with_suffix(".onnx")
