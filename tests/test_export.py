"""fer export: every format in the table, parity, quantization, bad requests."""


import numpy as np
import pytest

from fer_cli.cli.export import ExportFormatChoice
from fer_cli.exporting.exporter import FORMATS, synthetic_batch


def test_cli_choices_match_the_format_table():
    assert [c.value for c in ExportFormatChoice] == list(FORMATS)


def test_quantize_help_lists_what_the_table_allows():
    import inspect
    import typing

    from fer_cli.cli.export import export

    option = typing.get_type_hints(inspect.unwrap(export), include_extras=True)["quantize"].__metadata__[0]
    listed = [f"{fmt.name}: {', '.join(fmt.quantize)}" for fmt in FORMATS.values() if fmt.quantize != ("none",)]
    assert all(entry in option.help for entry in listed), (listed, option.help)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_exports_and_matches(runner, app, tiny_run, tmp_path, fmt):
    out = tmp_path / f"model{FORMATS[fmt].suffix}"
    result = runner.invoke(app, ["export", str(tiny_run), "--format", fmt, "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out) and out.exists()
    assert "top-1 agreement 100.0%" in result.stderr
    from fer_cli.runtimes.card import read_card

    card = read_card(out if fmt != "savedmodel" else out.with_name(out.name))
    assert card is not None and card.class_names[3] == "happy" and card.input_shape == (48, 48, 1) and not card.legacy
    # Inside the file where the format has room for it, else beside it.
    assert (tmp_path / f"{out.name}.card.json").exists() == (fmt in ("savedmodel", "tflite"))
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]  # nothing half-written left behind


@pytest.fixture(scope="module")
def test_faces(tiny_data):
    """The tiny data's 28 test images as the runtimes take them, and the Keras model's answers on them."""
    from PIL import Image

    paths = sorted((tiny_data / "test").rglob("*.png"))
    return np.stack([np.asarray(Image.open(p), np.float32) for p in paths])[..., None]


@pytest.mark.parametrize(("fmt", "quantize"), [("tflite", "float16"), ("tflite", "int8"), ("onnx", "float16"), ("onnx", "int8")])
def test_quantized_exports_stay_close(runner, app, tiny_run, tiny_data, test_faces, tmp_path, fmt, quantize):
    from fer_cli.exporting.exporter import TOLERANCES
    from fer_cli.runtimes import open_runtime, resolve_model

    out = tmp_path / f"q{FORMATS[fmt].suffix}"
    result = runner.invoke(app, ["export", str(tiny_run), "-f", fmt, "--quantize", quantize, "-o", str(out), "--data", str(tiny_data)])
    assert result.exit_code == 0, result.stderr
    # On the test images (not the export's own parity batch), the smaller model's probabilities stay
    # within the tolerance the format table promises for this quantization.
    reference = open_runtime(resolve_model(str(tiny_run))).predict(test_faces)
    quantized = open_runtime(resolve_model(str(out))).predict(test_faces)
    assert quantized.shape == reference.shape == (28, 7)
    tolerance = TOLERANCES[quantize]
    assert np.abs(quantized - reference).max() <= tolerance.max_abs_diff
    assert (quantized.argmax(1) == reference.argmax(1)).mean() >= tolerance.min_top1_agreement
    # The model is sure enough of its answers that a broken export (say, flat probabilities) would fail the check above.
    assert reference.max(axis=1).mean() - 1 / 7 > 2 * tolerance.max_abs_diff


def test_onnx_float16_stores_half_and_computes_in_float32(runner, app, tiny_run, tmp_path):
    import onnx

    out = tmp_path / "half.onnx"
    result = runner.invoke(app, ["export", str(tiny_run), "-f", "onnx", "--quantize", "float16", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    plain, half = onnx.load(str(tiny_run / "best.onnx")), onnx.load(str(out))  # best.onnx: the run's exact twin
    from fer_cli.exporting.onnx_float16 import SMALLEST

    def weights(model, dtype):
        return sum(t.data_type == dtype and np.prod(t.dims) >= SMALLEST for t in model.graph.initializer)

    assert weights(plain, onnx.TensorProto.FLOAT) > 0 and weights(half, onnx.TensorProto.FLOAT) == 0
    assert weights(half, onnx.TensorProto.FLOAT16) == weights(plain, onnx.TensorProto.FLOAT)
    assert out.stat().st_size < 0.6 * (tiny_run / "best.onnx").stat().st_size
    # The input and output stay float32, so every runtime and `fer predict` take it as they take the plain one.
    assert {v.type.tensor_type.elem_type for v in [*half.graph.input, *half.graph.output]} == {onnx.TensorProto.FLOAT}
    assert {p.key: p.value for p in half.metadata_props}["quantize"] == "float16"


def test_default_output_is_beside_the_run(runner, app, tiny_run_copy):
    (tiny_run_copy / "best.onnx").unlink()  # the shared run holds its twin already
    result = runner.invoke(app, ["export", str(tiny_run_copy), "--format", "onnx", "-q"])
    assert result.exit_code == 0 and result.stdout.strip() == str(tiny_run_copy / "best.onnx")
    assert (tiny_run_copy / "best.onnx").is_file()


def test_bad_requests(runner, app, tiny_run, tmp_path):
    unsupported = runner.invoke(app, ["export", str(tiny_run), "-f", "keras", "--quantize", "int8"])
    assert unsupported.exit_code == 2 and "supports --quantize none" in unsupported.stderr
    assert runner.invoke(app, ["export", str(tiny_run), "-f", "caffe"]).exit_code == 2
    assert runner.invoke(app, ["export", str(tiny_run)]).exit_code == 2  # --format is required
    onnx = tiny_run / "best.onnx"  # the run's ONNX twin, an export like any other
    again = runner.invoke(app, ["export", str(onnx), "-f", "tflite", "-o", str(tmp_path / "m.tflite")])
    assert again.exit_code == 2 and "already exported" in again.stderr


def test_synthetic_batch_is_deterministic():
    a, b = synthetic_batch(8), synthetic_batch(8)
    assert a.shape == (8, 48, 48, 1) and np.array_equal(a, b) and 0 <= a.min() and a.max() <= 255
