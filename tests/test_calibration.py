"""Calibrated scores: ECE, NLL and Brier in `fer evaluate`, the reliability diagram, and `fer export --calibrate`."""

import json
import math
import sys

import numpy as np
import pytest

from fer_cli.calibration import (
    apply_temperature,
    brier_score,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    reliability_bins,
    temperature_fit,
)


def _two_class(confidences, right):
    """Rows [c, 1 − c] (class 0 on top) and labels: 0 where the answer is right, 1 where not."""
    confidences = np.asarray(confidences, dtype=float)
    probabilities = np.stack([confidences, 1 - confidences], axis=1)
    return probabilities, np.where(np.asarray(right), 0, 1)


def _softmax(logits):
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


# --- The metrics, against numbers worked out by hand ----------------------------------------------


def test_ece_is_zero_when_each_bin_is_right_as_often_as_it_says():
    # 10 answers at 0.8, 8 of them right; 4 at 0.5, 2 right; 5 at 1.0, all right.
    probabilities, labels = _two_class([0.8] * 10 + [0.5] * 4 + [1.0] * 5, [1] * 8 + [0] * 2 + [1, 0, 1, 0] + [1] * 5)
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.0, abs=1e-12)


def test_ece_of_an_over_confident_model():
    # Half the images at 0.9 and all right (gap 0.1), half at 0.6 and 2 of 5 right (gap 0.2): 0.5·0.1 + 0.5·0.2.
    probabilities, labels = _two_class([0.9] * 5 + [0.6] * 5, [1] * 5 + [1, 1, 0, 0, 0])
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.15)
    # Says 0.95, right 60% of the time: ECE 0.35.
    probabilities, labels = _two_class([0.95] * 10, [1] * 6 + [0] * 4)
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.35)


def test_reliability_bins_are_fifteen_right_closed_bins_of_top_one_confidence():
    # The top score decides the bin, whichever class it is on.
    probabilities = np.array([[0.2, 0.7, 0.1, 0.0], [0.4, 0.3, 0.3, 0.0], [0.3, 0.25, 0.25, 0.2], [0.0, 0.0, 1.0, 0.0]])
    bins = reliability_bins(probabilities, np.array([1, 2, 0, 2]))
    assert len(bins.counts) == 15 and bins.edges[0] == 0 and bins.edges[-1] == 1
    filled = {int(b): int(c) for b, c in enumerate(bins.counts) if c}
    assert filled == {4: 1, 5: 1, 10: 1, 14: 1}  # 0.3 → (4/15, 5/15]; 0.4 → (5/15, 6/15]; 0.7 → (10/15, 11/15]; 1 → last
    assert bins.accuracy[10] == 1.0 and bins.accuracy[5] == 0.0 and bins.confidence[10] == pytest.approx(0.7)
    assert bins.to_list()[10] == {"lower": pytest.approx(10 / 15), "upper": pytest.approx(11 / 15), "count": 1,
                                  "accuracy": 1.0, "confidence": pytest.approx(0.7)}
    # On an edge: 0.6 = 9/15 belongs to the bin below it, (8/15, 9/15].
    edge = reliability_bins(*_two_class([9 / 15], [1]))
    assert int(np.argmax(edge.counts)) == 8


def test_nll_and_brier_by_hand():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.7, 0.2, 0.1], [0.5, 0.25, 0.25]])
    labels = np.array([0, 2, 1])
    assert negative_log_likelihood(probabilities, labels) == pytest.approx((-math.log(0.7) - math.log(0.1) - math.log(0.25)) / 3)
    # (0.3² + 0.2² + 0.1²) = 0.14; (0.7² + 0.2² + 0.9²) = 1.34; (0.5² + 0.75² + 0.25²) = 0.875.
    assert brier_score(probabilities, labels) == pytest.approx((0.14 + 1.34 + 0.875) / 3)
    # Certain and right: 0 on both; certain and wrong: Brier 2, NLL finite (clipped at 1e-12).
    assert negative_log_likelihood([[1.0, 0.0]], [0]) == 0.0 and brier_score([[1.0, 0.0]], [0]) == 0.0
    assert brier_score([[1.0, 0.0]], [1]) == 2.0
    assert negative_log_likelihood([[1.0, 0.0]], [1]) == pytest.approx(-math.log(1e-12))


def test_metrics_of_nothing_are_zero_and_bad_shapes_are_refused():
    empty = np.zeros((0, 7))
    none = np.zeros(0, dtype=int)
    assert expected_calibration_error(empty, none) == negative_log_likelihood(empty, none) == brier_score(empty, none) == 0.0
    with pytest.raises(ValueError):
        negative_log_likelihood(np.full((2, 3), 1 / 3), [0, 3])  # no class 3
    with pytest.raises(ValueError):
        brier_score(np.full((2, 3), 1 / 3), [0])


# --- Temperature scaling -------------------------------------------------------------------------


@pytest.mark.parametrize("true_temperature", [0.6, 1.8])
def test_fitted_temperature_recovers_a_known_one(true_temperature):
    # Labels drawn from softmax(z / T): the model's softmax(z) is miscalibrated by exactly T.
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2.5, (20_000, 7))
    truth = _softmax(logits / true_temperature)
    labels = (truth.cumsum(axis=1) > rng.uniform(size=(len(truth), 1))).argmax(axis=1)
    fitted = fit_temperature(_softmax(logits), labels)
    assert fitted == pytest.approx(true_temperature, rel=0.05)
    fit = temperature_fit(_softmax(logits), labels)
    assert fit.temperature == fitted and fit.nll_after < fit.nll_before and fit.ece_after < fit.ece_before / 3
    assert fit.accuracy_after == fit.accuracy_before


def test_temperature_keeps_the_top_class_and_one_changes_nothing():
    rng = np.random.default_rng(1)
    probabilities = _softmax(rng.normal(0, 3, (500, 7)))
    assert np.allclose(apply_temperature(probabilities, 1.0), probabilities, atol=1e-12)
    for temperature in (0.3, 2.5, 19.0):
        scaled = apply_temperature(probabilities, temperature)
        assert np.array_equal(scaled.argmax(axis=1), probabilities.argmax(axis=1))
        assert np.allclose(scaled.sum(axis=1), 1.0)
    # Above 1 the scores soften, below 1 they sharpen.
    assert apply_temperature(probabilities, 2.5).max(axis=1).mean() < probabilities.max(axis=1).mean()
    assert apply_temperature(probabilities, 0.3).max(axis=1).mean() > probabilities.max(axis=1).mean()


def test_temperature_fit_edge_cases():
    assert fit_temperature(np.zeros((0, 7)), np.zeros(0, int)) == 1.0
    assert fit_temperature(np.full((4, 3), 1 / 3), [0, 1, 2, 0]) == 1.0  # uniform scores: nothing to scale
    # All right: the NLL falls without end as T → 0, so the fit stops at the lowest temperature allowed.
    assert fit_temperature(np.array([[0.9, 0.1], [0.2, 0.8]]), [0, 1]) == 0.05
    with pytest.raises(ValueError):
        apply_temperature(np.full((1, 2), 0.5), 0.0)


def test_temperature_layer_matches_numpy_and_reloads_in_safe_mode(tmp_path):
    from fer_cli.models import build_model
    from fer_cli.models.temperature import Temperature, model_temperature, with_temperature, without_temperature
    from fer_cli.runtimes.keras_runtime import load_keras_model

    model = build_model("seed", 7)
    images = np.random.default_rng(0).uniform(0, 255, (8, 48, 48, 1)).astype(np.float32)
    plain = model.predict(images, verbose=0)
    hot = with_temperature(model, 0.25)  # sharpen, so the change is visible on an untrained model
    assert model_temperature(model) is None and model_temperature(hot) == 0.25
    assert np.allclose(hot.predict(images, verbose=0), apply_temperature(plain, 0.25), atol=1e-5)
    # Replaced, not stacked: one Temperature layer, the new T.
    again = with_temperature(hot, 0.5)
    assert sum(isinstance(layer, Temperature) for layer in again.layers) == 1 and model_temperature(again) == 0.5
    assert without_temperature(again).count_params() == model.count_params() and again.name == model.name
    again.save(tmp_path / "calibrated.keras")
    loaded = load_keras_model(tmp_path / "calibrated.keras")  # safe mode
    assert model_temperature(loaded) == 0.5
    assert np.allclose(loaded.predict(images, verbose=0), apply_temperature(plain, 0.5), atol=1e-5)
    with pytest.raises(ValueError):
        Temperature(-1.0)


# --- fer evaluate: the new figures and the reliability diagram -----------------------------------


def _test_faces(tiny_data):
    from PIL import Image

    from fer_cli.labels import EMOTIONS

    paths = sorted((tiny_data / "test").rglob("*.png"))
    images = np.stack([np.asarray(Image.open(p), np.float32) for p in paths])[..., None]
    return images, np.array([EMOTIONS.index(p.parent.name) for p in paths])


def test_evaluate_reports_calibration_of_the_model_scores(runner, app, tiny_data, tiny_run):
    from fer_cli.runtimes import open_runtime, resolve_model

    result = runner.invoke(app, ["evaluate", str(tiny_data), "--model", str(tiny_run), "-f", "json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    # The figures are those of the scores the model gives (its ONNX twin runs the same weights).
    images, labels = _test_faces(tiny_data)
    probabilities = open_runtime(resolve_model(str(tiny_run))).predict(images)
    assert report["ece"] == pytest.approx(expected_calibration_error(probabilities, labels), abs=1e-5)
    assert report["nll"] == pytest.approx(negative_log_likelihood(probabilities, labels), abs=1e-5)
    assert report["brier"] == pytest.approx(brier_score(probabilities, labels), abs=1e-5)
    assert report["mean_confidence"] == pytest.approx(probabilities.max(axis=1).mean(), abs=1e-5)
    assert report["temperature"] is None  # a model trained and not calibrated
    assert len(report["reliability"]) == 15 and sum(b["count"] for b in report["reliability"]) == 28
    table = runner.invoke(app, ["evaluate", str(tiny_data), "--model", str(tiny_run), "-f", "table"])
    assert "ECE (15 bins)" in table.stdout and "Brier" in table.stdout and "NLL" in table.stdout


def test_reliability_png_is_a_picture(runner, app, tiny_data, tiny_run, tmp_path):
    from PIL import Image

    png = tmp_path / "reliability.png"
    result = runner.invoke(app, ["evaluate", str(tiny_data), "--model", str(tiny_run), "-f", "json", "--reliability-png", str(png)])
    assert result.exit_code == 0, result.stderr
    with Image.open(png) as image:
        assert image.format == "PNG" and image.width > 400 and image.height > 400
        colours = np.asarray(image.convert("RGB")).reshape(-1, 3)
    assert len(np.unique(colours, axis=0)) > 10  # drawn on, not a blank canvas
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_reliability_png_without_matplotlib_is_one_line_before_any_data_is_read(runner, app, tiny_run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as in the light install
    # DATA does not exist: the check must come first, or this would be a data error.
    result = runner.invoke(app, ["evaluate", str(tmp_path / "nowhere"), "--model", str(tiny_run),
                                 "--reliability-png", str(tmp_path / "r.png")])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["Error: --reliability-png needs matplotlib: pip install 'fer-cli[plot]'"]
    assert result.stdout == "" and not (tmp_path / "r.png").exists()


# --- fer export --calibrate ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def calibrated_onnx(tiny_run, tmp_path_factory):
    """`fer export tiny_run --calibrate --format onnx`: (the export, its stderr)."""
    from typer.testing import CliRunner

    from fer_cli.cli import app

    out = tmp_path_factory.mktemp("calibrated") / "calibrated.onnx"
    result = CliRunner().invoke(app, ["export", str(tiny_run), "--calibrate", "--format", "onnx", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    return out, result.stderr


def _validation(tiny_run):
    from fer_cli.training.validation_split import runs_validation

    held_out = runs_validation([tiny_run])
    return held_out.images.astype(np.float32)[..., None], held_out.labels


def test_export_calibrate_fits_on_the_runs_validation_split(tiny_run, calibrated_onnx):
    from fer_cli.calibration import apply_temperature
    from fer_cli.runtimes import open_runtime, resolve_model
    from fer_cli.runtimes.onnx_metadata import read_metadata

    out, stderr = calibrated_onnx
    stamp = read_metadata(out)
    temperature = float(stamp["temperature"])
    assert "source_sha256" not in stamp  # not an exact copy of best.keras: never its twin
    assert f"temperature {temperature:.3f} fitted on 17 images" in stderr and "top-1 agreement 100.0%" in stderr
    images, labels = _validation(tiny_run)
    plain = open_runtime(resolve_model(str(tiny_run / "best.keras"))).predict(images)
    calibrated = open_runtime(resolve_model(str(out))).predict(images)
    # The ONNX export gives the Keras model's scores with the temperature, within the exact-export tolerance.
    assert np.abs(calibrated - apply_temperature(plain, temperature)).max() <= 1e-4
    assert negative_log_likelihood(calibrated, labels) <= negative_log_likelihood(plain, labels) + 1e-6
    assert temperature != pytest.approx(1.0, abs=1e-3)  # it did change the scores
    # Accuracy is what it was, on validation and on test.
    assert np.array_equal(calibrated.argmax(axis=1), plain.argmax(axis=1))


def test_calibrated_keras_reloads_and_recalibrating_replaces_the_temperature(runner, app, tiny_run, tiny_data, calibrated_onnx,
                                                                            tmp_path):
    from fer_cli.models.temperature import Temperature, model_temperature
    from fer_cli.runtimes import open_runtime, resolve_model
    from fer_cli.runtimes.keras_runtime import load_keras_model
    from fer_cli.runtimes.onnx_metadata import read_metadata

    temperature = float(read_metadata(calibrated_onnx[0])["temperature"])
    # The model file's route to the same images: the data, with the share and seed the run held out.
    first = tmp_path / "calibrated.keras"
    result = runner.invoke(app, ["export", str(tiny_run / "best.keras"), "--calibrate", "--calibration-data", str(tiny_data),
                                 "--val-split", "0.2", "--split-seed", "0", "-f", "keras", "-o", str(first)])
    assert result.exit_code == 0, result.stderr
    loaded = load_keras_model(first)  # safe mode
    assert model_temperature(loaded) == pytest.approx(temperature, rel=1e-9)
    # Again, from the calibrated file, on the run's split: the temperature is refitted on the plain scores, not stacked.
    second = tmp_path / "recalibrated.keras"
    result = runner.invoke(app, ["export", str(first), "--calibrate", "--calibration-data", str(tiny_run), "-f", "keras",
                                 "-o", str(second)])
    assert result.exit_code == 0, result.stderr
    reloaded = load_keras_model(second)
    assert sum(isinstance(layer, Temperature) for layer in reloaded.layers) == 1
    assert model_temperature(reloaded) == pytest.approx(temperature, rel=1e-9)
    # Accuracy on the test images unchanged; the evaluate report shows the temperature.
    images, labels = _test_faces(tiny_data)
    plain = open_runtime(resolve_model(str(tiny_run / "best.keras"))).predict(images)
    assert np.array_equal(reloaded.predict(images, verbose=0).argmax(axis=1), plain.argmax(axis=1))
    report = json.loads(runner.invoke(app, ["evaluate", str(tiny_data), "--model", str(second), "-f", "json"]).stdout)
    assert report["temperature"] == pytest.approx(temperature) and report["accuracy"] == pytest.approx(np.mean(plain.argmax(1) == labels))


def test_export_calibrate_usage_errors(runner, app, tiny_run, tiny_data, tmp_path):
    def fails(*args, message, code=2):
        result = runner.invoke(app, ["export", *map(str, args), "-f", "keras", "-o", str(tmp_path / "m.keras")])
        assert result.exit_code == code, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr, result.stderr
        assert not (tmp_path / "m.keras").exists()

    fails(tiny_run / "best.keras", "--calibrate", message="--calibrate needs validation images for")
    fails("--calibrate", message="--calibrate needs validation images for the shipped model")
    fails(tiny_run, "--val-split", "0.2", message="go with --calibrate")
    fails(tiny_run, "--calibrate", "--calibration-data", tiny_data, message="no split 'val'")
    fails(tiny_run, "--calibrate", "--calibration-data", tiny_data, "--split-seed", "1", message="--split-seed goes with --val-split")
    fails(tiny_run, "--calibrate", "--calibration-data", tiny_run, "--val-split", "0.1", message="is a run folder")


def test_runs_validation_refuses_other_data_than_the_run_trained_on(tiny_run_copy, tmp_path):
    from fer_cli.errors import DataError
    from fer_cli.training.validation_split import runs_validation

    record = tiny_run_copy / "data.json"
    stamp = json.loads(record.read_text())
    assert len(runs_validation([tiny_run_copy]).labels) == stamp["val_images"]
    record.write_text(json.dumps({**stamp, "fingerprint": "0" * 16}))
    with pytest.raises(DataError, match="is not the data"):
        runs_validation([tiny_run_copy])


def test_calibrate_scales_the_averaged_views_and_keeps_them_built_in(runner, app, tiny_run, tiny_data, tmp_path):
    from fer_cli.models.ensemble import built_in_views
    from fer_cli.models.temperature import model_temperature
    from fer_cli.runtimes import open_runtime, resolve_model
    from fer_cli.runtimes.keras_runtime import load_keras_model

    out = tmp_path / "flip.keras"
    result = runner.invoke(app, ["export", str(tiny_run), "--tta", "flip", "--calibrate", "-f", "keras", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    model = load_keras_model(out)
    temperature = model_temperature(model)
    assert built_in_views(model).value == "flip" and temperature is not None
    # The temperature acts on the probabilities averaged over the views, after them.
    images, _ = _validation(tiny_run)
    averaged = open_runtime(resolve_model(str(tiny_run)), "flip").predict(images)
    assert np.abs(model.predict(images, verbose=0) - apply_temperature(averaged, temperature)).max() <= 1e-4
    refused = runner.invoke(app, ["evaluate", str(tiny_data), "--model", str(out), "--tta", "flip"])
    assert refused.exit_code == 2 and "already averages" in refused.stderr


def test_calibrated_model_exports_to_tflite(runner, app, tiny_run, tmp_path):
    out = tmp_path / "calibrated.tflite"
    result = runner.invoke(app, ["export", str(tiny_run), "--calibrate", "-f", "tflite", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert "top-1 agreement 100.0%" in result.stderr and out.stat().st_size > 0
