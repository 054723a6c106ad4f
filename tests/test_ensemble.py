"""Combined models: `fer export A B --tta ...` averages members over views built into the graph."""

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def second_model(tmp_path_factory):
    """An untrained resnet_s (other weights than tiny_run's), saved with the 7 emotions."""
    from fer_cli.models import build_model

    path = tmp_path_factory.mktemp("second") / "other.keras"
    build_model("resnet_s", 7).save(path)
    return path


def _images(n=6, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, 48, 48, 1)).astype(np.float32)


@pytest.mark.parametrize("tta", ["flip", "crops"])
def test_built_in_views_match_run_time_tta(tta):
    from fer_cli.models import build_model
    from fer_cli.models.ensemble import combine
    from fer_cli.runtimes.tta import TtaRuntime

    class Runtime:
        name, num_classes = "keras", 7

        def __init__(self, model):
            self.model = model

        def predict(self, images, batch_size=256):
            return self.model.predict(images, verbose=0)

    model = build_model("resnet_s", 7)
    images = _images()
    built_in = combine([model], tta).predict(images, verbose=0)
    assert np.allclose(built_in, TtaRuntime(Runtime(model), tta).predict(images), atol=1e-5)
    # The views change the answer (so the check above can fail).
    assert not np.allclose(built_in, model.predict(images, verbose=0), atol=1e-5)


def test_exported_ensemble_averages_its_members(runner, app, tiny_run, second_model, tmp_path):
    from fer_cli.runtimes import open_runtime, resolve_model

    out = tmp_path / "ensemble.keras"
    result = runner.invoke(app, ["export", str(tiny_run), str(second_model), "--tta", "flip", "-f", "keras", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out) and "top-1 agreement 100.0%" in result.stderr
    card = resolve_model(str(out)).card
    assert card.class_names[3] == "happy" and card.views == "flip" and not card.legacy
    images = _images()
    members = [open_runtime(resolve_model(str(m)), "flip").predict(images) for m in (tiny_run, second_model)]
    assert np.allclose(open_runtime(resolve_model(str(out))).predict(images), np.mean(members, axis=0), atol=1e-5)


@pytest.mark.slow
def test_ensemble_exports_to_onnx_and_predicts(runner, app, tiny_run, second_model, tiny_data, tmp_path):
    out = tmp_path / "ensemble.onnx"
    result = runner.invoke(app, ["export", str(tiny_run), str(second_model), "--tta", "crops", "-f", "onnx", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert "max |Δp|" in result.stderr and "top-1 agreement 100.0%" in result.stderr
    from fer_cli.runtimes import open_runtime, resolve_model

    # On ONNX Runtime, the file averages its members over the 10 crops views, as run-time TTA on Keras does.
    images = _images()
    members = [open_runtime(resolve_model(str(m)), "crops").predict(images) for m in (tiny_run, second_model)]
    combined = open_runtime(resolve_model(str(out))).predict(images)
    assert np.allclose(combined, np.mean(members, axis=0), atol=1e-4)
    assert not np.allclose(members[0], members[1], atol=1e-3)  # two different members: the average is a real check
    evaluation = runner.invoke(app, ["evaluate", str(tiny_data), "--model", str(out), "-f", "json"])
    assert evaluation.exit_code == 0, evaluation.stderr
    assert json.loads(evaluation.stdout)["n"] == 28


def test_single_model_with_views_goes_beside_the_run(runner, app, tiny_run_copy):
    result = runner.invoke(app, ["export", str(tiny_run_copy), "--tta", "flip", "-f", "onnx", "-q"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(tiny_run_copy / "best-flip.onnx") and (tiny_run_copy / "best-flip.onnx").is_file()


def test_combining_refuses_what_cannot_be_averaged(runner, app, tiny_run, second_model, tmp_path):
    no_out = runner.invoke(app, ["export", str(tiny_run), str(second_model), "-f", "keras"])
    assert no_out.exit_code == 2 and "needs an output path" in no_out.stderr
    three = tmp_path / "three.keras"
    three.write_bytes(second_model.read_bytes())
    (tmp_path / "three.keras.classes.json").write_text(json.dumps(["happy", "sad", "surprise", "a", "b", "c", "d"]))
    other = runner.invoke(app, ["export", str(tiny_run), str(three), "-f", "keras", "-o", str(tmp_path / "x.keras")])
    assert other.exit_code == 2 and "only models of the same classes can be combined" in other.stderr
    assert len(other.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.keras").exists()


def test_warm_start_from_an_ensemble_takes_its_first_fitting_member(tiny_run, second_model, tmp_path):
    from fer_cli.errors import ModelError
    from fer_cli.exporting.exporter import export_model
    from fer_cli.models import build_model
    from fer_cli.runtimes.keras_runtime import load_keras_model
    from fer_cli.training.warm_start import load_initial_weights

    classes = json.loads((tiny_run / "classes.json").read_text())
    ensemble = tmp_path / "ensemble.keras"
    export_model([second_model, tiny_run / "best.keras"], tuple(classes), "keras", out=ensemble, tta="flip")
    model = build_model("resnet_s", 7)
    line = load_initial_weights(model, str(ensemble), classes)
    assert "(member 0 of 2)" in line
    images = _images()
    assert np.allclose(model.predict(images, verbose=0), load_keras_model(second_model).predict(images, verbose=0), atol=1e-5)
    with pytest.raises(ModelError, match="holds a resnet_s model, which does not fit seed"):
        load_initial_weights(build_model("seed", 7), str(ensemble), classes)


def test_new_views_replace_a_models_own_and_members_count_once(runner, app, tiny_run, second_model, tmp_path):
    """Exporting from a model with views, members or a temperature of its own combines its networks afresh."""
    from fer_cli.models.ensemble import built_in_views, face_flops, members
    from fer_cli.models.registry import count_flops
    from fer_cli.runtimes import open_runtime, resolve_model
    from fer_cli.runtimes.keras_runtime import load_keras_model

    crops = tmp_path / "crops.keras"
    assert runner.invoke(app, ["export", str(tiny_run), "--tta", "crops", "--calibrate", "-f", "keras", "-o", str(crops), "-q"]).exit_code == 0
    flip = tmp_path / "flip.keras"
    result = runner.invoke(app, ["export", str(crops), "--tta", "flip", "-f", "keras", "-o", str(flip)])
    assert result.exit_code == 0, result.stderr
    assert f"{crops}: its own views, averaging and temperature are left out" in result.stderr
    model = load_keras_model(flip)
    assert built_in_views(model).value == "flip" and len(members(model)) == 1
    network = load_keras_model(tiny_run / "best.keras")
    assert face_flops(model) == 2 * count_flops(network)  # 2 views, not 10 x 2
    images = _images()
    expected = open_runtime(resolve_model(str(tiny_run)), "flip").predict(images)
    assert np.allclose(model.predict(images, verbose=0), expected, atol=1e-5)

    # An ensemble given to a new ensemble gives its members: three networks, each counted once.
    pair = tmp_path / "pair.keras"
    assert runner.invoke(app, ["export", str(tiny_run), str(second_model), "-f", "keras", "-o", str(pair), "-q"]).exit_code == 0
    three = tmp_path / "three.keras"
    assert runner.invoke(app, ["export", str(pair), str(flip), "-f", "keras", "-o", str(three), "-q"]).exit_code == 0
    combined = load_keras_model(three)
    assert [m.name for m in members(combined)] == ["member0_resnet_s", "member1_resnet_s", "member2_resnet_s"]
    assert built_in_views(combined).value == "none" and face_flops(combined) == 3 * count_flops(network)
    # Without new views or members, a model exports as it is (its views and temperature kept).
    same = tmp_path / "same.keras"
    assert runner.invoke(app, ["export", str(crops), "-f", "keras", "-o", str(same), "-q"]).exit_code == 0
    assert face_flops(load_keras_model(same)) == 10 * count_flops(network)
