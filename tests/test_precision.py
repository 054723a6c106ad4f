"""`precision: mixed_bfloat16` trains in bfloat16 and leaves float32 models for everything after training."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from fer_cli.config import load_config
from fer_cli.errors import ConfigError


def _compute_dtypes(model_file: Path) -> set[str]:
    from fer_cli.runtimes.keras_runtime import load_keras_model

    model = load_keras_model(model_file)
    return {layer.compute_dtype for layer in model.layers if layer.weights}


def test_unknown_precision_is_refused():
    with pytest.raises(ConfigError, match="precision must be one of auto, float32, mixed_bfloat16"):
        load_config(overrides={"precision": "float16"})


X86_CPUINFO = """processor\t: 0
vendor_id\t: {vendor}
flags\t\t: fpu sse2 avx2 fma {extra}
bogomips\t: 4890.81
"""


@pytest.mark.parametrize(("flags", "gpus", "native"), [
    ({"avx2", "fma"}, [], False),  # an AVX2-only CPU (this project's AMD EPYC) emulates bfloat16
    ({"avx2", "avx512f", "avx512_bf16"}, [], True),  # Cooper Lake, Zen 4 and later
    ({"avx2", "amx_bf16", "amx_tile"}, [], True),  # Sapphire Rapids
    (None, [], False),  # flags unknown (macOS, Windows): float32, never slower
    ({"avx2"}, [(8, 0), (9, 0)], True),  # A100, H100: the GPUs decide, not the CPU
    ({"avx512_bf16"}, [(7, 5)], False),  # a T4 emulates bfloat16 whatever the CPU has
    ({"avx2"}, [(8, 6), (7, 0)], False),  # one old GPU among the replicas slows every step
])
def test_native_bfloat16_follows_the_hardware_that_trains(flags, gpus, native):
    from fer_cli.training.precision import native_bfloat16

    assert native_bfloat16(gpus, flags) is native


def test_cpu_flags_are_read_from_cpuinfo():
    from fer_cli.training.precision import cpu_flags

    assert "avx512_bf16" in cpu_flags(X86_CPUINFO.format(vendor="GenuineIntel", extra="avx512f avx512_bf16"))
    assert cpu_flags(X86_CPUINFO.format(vendor="AuthenticAMD", extra="")) == {"fpu", "sse2", "avx2", "fma"}
    assert cpu_flags("processor\t: 0\nFeatures\t: fp asimd bf16\n") == {"fp", "asimd", "bf16"}  # Arm's spelling
    assert cpu_flags("processor\t: 0\n") is None


def test_auto_precision_resolves_for_this_machine(monkeypatch):
    from fer_cli.training import precision

    monkeypatch.setattr(precision, "_gpu_capabilities", lambda: [])
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "fma"})
    assert precision.resolve_precision("auto") == ("float32", None)
    policy, warning = precision.resolve_precision("mixed_bfloat16")
    assert policy == "mixed_bfloat16", "an explicit choice stands"
    assert warning.startswith("this machine has no native bfloat16")
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "avx512_bf16"})
    assert precision.resolve_precision("auto") == ("mixed_bfloat16", None)
    assert precision.resolve_precision("mixed_bfloat16") == ("mixed_bfloat16", None)
    assert precision.resolve_precision("float32") == ("float32", None)


def test_auto_precision_is_written_resolved_into_the_run(runner, app, tiny_data, tmp_path, monkeypatch):
    from fer_cli.training import precision

    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "avx512_bf16"})  # as on a CPU with AVX512_BF16
    result = runner.invoke(app, ["train", str(tiny_data), "--model", "seed", "--epochs", "1", "--batch-size", "16",
                                      "--precision", "auto", "--runs-dir", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.stderr
    run = Path(result.stdout.strip().splitlines()[-1])
    assert yaml.safe_load((run / "config.yaml").read_text())["precision"] == "mixed_bfloat16"
    assert _compute_dtypes(run / "last.keras") == {"bfloat16"}


def test_emulated_bfloat16_is_a_warning_on_stderr(runner, app, tiny_data, tmp_path, monkeypatch):
    from fer_cli.training import precision

    monkeypatch.setattr(precision, "_gpu_capabilities", lambda: [])
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "fma"})
    result = runner.invoke(app, ["train", str(tiny_data), "--model", "seed", "--epochs", "1", "--batch-size", "16",
                                      "--precision", "mixed_bfloat16", "--runs-dir", str(tmp_path), "--no-tensorboard"])
    assert result.exit_code == 0, result.stderr
    assert "Warning: this machine has no native bfloat16" in " ".join(result.stderr.split())
    assert "no native bfloat16" not in result.stdout, "stdout stays data"


def test_float32_copy_has_the_same_weights_and_computes_in_float32():
    from fer_cli.models import build_model
    from fer_cli.tf_env import keras as _keras
    from fer_cli.training.precision import dtype_policy, float32_copy

    keras = _keras()
    with dtype_policy("mixed_bfloat16"):
        mixed = build_model("resnet_s", 7)
    assert keras.config.dtype_policy().name == "float32", "the global policy comes back"
    assert {layer.compute_dtype for layer in mixed.layers if layer.weights} == {"bfloat16"}
    mixed.compile(optimizer="adamw", loss="categorical_crossentropy")  # as in training

    copy = float32_copy(mixed)
    assert not copy.compiled
    assert {layer.compute_dtype for layer in copy.layers if layer.weights} == {"float32"}
    assert getattr(copy, "optimizer", None) is None
    for a, b in zip(mixed.get_weights(), copy.get_weights(), strict=True):
        assert a.dtype == b.dtype == np.float32 and np.array_equal(a, b)
    images = np.random.default_rng(0).integers(0, 256, (8, 48, 48, 1)).astype(np.float32)
    exact = np.asarray(copy(images, training=False))
    rounded = np.asarray(mixed(images, training=False))
    assert exact.dtype == np.float32 and np.allclose(exact.sum(1), 1, atol=1e-5)
    # The same network: bfloat16 keeps 8 bits of mantissa, so the two agree to about a percent, not exactly.
    assert np.abs(exact - rounded).max() < 0.05


def test_mixed_bfloat16_run_resumes_in_it_and_ships_float32(runner, app, tiny_data, tmp_path):
    import h5py  # Keras's own dependency, for reading its weights file

    args = ["train", str(tiny_data), "--model", "resnet_s", "--epochs", "2", "--batch-size", "16",
            "--precision", "mixed_bfloat16", "--runs-dir", str(tmp_path), "-q"]
    first = runner.invoke(app, [*args[:5], "1", *args[6:]])  # the same run planned for 1 epoch...
    assert first.exit_code == 0, first.stderr
    run = Path(first.stdout.strip().splitlines()[-1])
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["precision"] == "mixed_bfloat16"
    assert _compute_dtypes(run / "last.keras") == {"bfloat16"}, "last.keras resumes in the run's precision"
    assert _compute_dtypes(run / "best.keras") == {"float32"}, "best.keras is for inference: float32"
    with zipfile.ZipFile(run / "best.keras") as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as weights:
        assert "optimizer" not in weights, "best.keras holds no optimizer state"
    assert (run / "best.keras").stat().st_size < (run / "last.keras").stat().st_size / 2

    # ...then planned for 2 and resumed: it goes on in bfloat16.
    config["epochs"] = 2
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    resumed = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert resumed.exit_code == 0, resumed.stderr
    assert json.loads((run / "state.json").read_text())["epochs_done"] == 2
    assert _compute_dtypes(run / "last.keras") == {"bfloat16"}

    # Everything after training sees an ordinary float32 model: ONNX export and prediction.
    image = next((tiny_data / "test" / "happy").iterdir())
    predicted = runner.invoke(app, ["predict", str(image), "--model", str(run), "--format", "jsonl", "--no-detect"])
    assert predicted.exit_code == 0, predicted.stderr
    record = json.loads(predicted.stdout.splitlines()[0])
    assert sum(record["scores"].values()) == pytest.approx(1, abs=1e-3)
