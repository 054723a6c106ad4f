"""fer export: every format in the table, parity, quantization, bad requests."""

import json

import numpy as np
import pytest

from fer_cli.cli.export import ExportFormatChoice
from fer_cli.export import FORMATS, synthetic_batch


def test_cli_choices_match_the_format_table():
    assert [c.value for c in ExportFormatChoice] == list(FORMATS)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_exports_and_matches(runner, app, tiny_run, tmp_path, fmt):
    out = tmp_path / f"model{FORMATS[fmt].suffix}"
    result = runner.invoke(app, ["export", str(tiny_run), "--format", fmt, "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out) and out.exists()
    assert "top-1 agreement 100.0%" in result.stderr
    assert json.loads((tmp_path / f"{out.name}.classes.json").read_text())[3] == "happy"
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]  # nothing half-written left behind


@pytest.mark.parametrize(("fmt", "quantize"), [("tflite", "float16"), ("tflite", "int8"), ("onnx", "int8")])
def test_quantized_exports_stay_close(runner, app, tiny_run, tiny_data, tmp_path, fmt, quantize):
    out = tmp_path / f"q{FORMATS[fmt].suffix}"
    result = runner.invoke(app, ["export", str(tiny_run), "-f", fmt, "--quantize", quantize, "-o", str(out), "--data", str(tiny_data)])
    assert result.exit_code == 0, result.stderr
    evaluation = runner.invoke(app, ["evaluate", str(tiny_data), "--model", str(out), "-f", "json"])
    assert evaluation.exit_code == 0 and json.loads(evaluation.stdout)["n"] == 28


def test_default_output_is_beside_the_run(runner, app, tiny_run):
    result = runner.invoke(app, ["export", str(tiny_run), "--format", "onnx", "-q"])
    assert result.exit_code == 0 and result.stdout.strip() == str(tiny_run / "best.onnx")


def test_bad_requests(runner, app, tiny_run, tmp_path):
    unsupported = runner.invoke(app, ["export", str(tiny_run), "-f", "keras", "--quantize", "int8"])
    assert unsupported.exit_code == 2 and "supports --quantize none" in unsupported.stderr
    assert runner.invoke(app, ["export", str(tiny_run), "-f", "caffe"]).exit_code == 2
    assert runner.invoke(app, ["export", str(tiny_run)]).exit_code == 2  # --format is required
    onnx = tmp_path / "m.onnx"
    runner.invoke(app, ["export", str(tiny_run), "-f", "onnx", "-o", str(onnx), "-q"])
    again = runner.invoke(app, ["export", str(onnx), "-f", "tflite"])
    assert again.exit_code == 2 and "already exported" in again.stderr


def test_synthetic_batch_is_deterministic():
    a, b = synthetic_batch(8), synthetic_batch(8)
    assert a.shape == (8, 48, 48, 1) and np.array_equal(a, b) and 0 <= a.min() and a.max() <= 255
