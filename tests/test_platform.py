"""The platform under every command: the TensorFlow environment, layering and lint rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO


def _python(code: str, env: dict[str, str], timeout: int = 180) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter from the repository root."""
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def _env(**changes: str | None) -> dict[str, str]:
    """This process's environment with `changes` applied (`None` removes a variable)."""
    env = dict(os.environ)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@pytest.fixture
def jax_keras_home(tmp_path) -> Path:
    """A KERAS_HOME whose keras.json picks the JAX backend, as a JAX user's would."""
    home = tmp_path / "keras_home"
    home.mkdir()
    (home / "keras.json").write_text(
        json.dumps({"backend": "jax", "floatx": "float32", "epsilon": 1e-07, "image_data_format": "channels_last"})
    )
    return home


# --- KERAS_BACKEND (issue 12, item 12) ---------------------------------------------------------


@pytest.mark.parametrize("asked", [None, "jax"], ids=["keras.json says jax", "KERAS_BACKEND=jax"])
def test_keras_from_tf_env_uses_tensorflow_whatever_the_user_configured(jax_keras_home, asked):
    result = _python(
        "from fer_cli.tf_env import keras; print(keras().backend.backend())",
        _env(KERAS_HOME=str(jax_keras_home), KERAS_BACKEND=asked),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "tensorflow"
    # Overriding the user's own KERAS_BACKEND is said on stderr; keras.json alone needs no warning.
    assert ("KERAS_BACKEND" in result.stderr and "jax" in result.stderr) == (asked == "jax")


def test_plain_import_keras_after_the_cli_uses_tensorflow(jax_keras_home):
    # Modules that `import keras` at their top still get TensorFlow once the CLI is loaded.
    result = _python(
        "import fer_cli.cli, keras; print(keras.backend.backend())",
        _env(KERAS_HOME=str(jax_keras_home), KERAS_BACKEND=None),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "tensorflow"


def test_keras_imported_with_another_backend_before_fer_is_a_clear_error(tmp_path):
    # A fake `keras` stands in for one already imported with JAX (JAX itself is not installed).
    fake = tmp_path / "fake"
    (fake / "keras" / "backend").mkdir(parents=True)
    (fake / "keras" / "__init__.py").write_text("from keras import backend\n")
    (fake / "keras" / "backend" / "__init__.py").write_text("def backend():\n    return 'jax'\n")
    result = _python(
        "import keras\nfrom fer_cli.tf_env import keras as k\nk()",
        _env(PYTHONPATH=str(fake)),
    )
    assert result.returncode != 0
    assert "jax" in result.stderr and "tensorflow" in result.stderr.lower()


# --- fd 2 during the TensorFlow import (issue 12, item 13) -------------------------------------


def _fake_tensorflow(root: Path, body: str, on_listing_devices: str = "pass") -> Path:
    """A `tensorflow` package under `root` whose import runs `body`, and `tf.config.list_physical_devices` runs
    `on_listing_devices` (one statement)."""
    package = root / "tensorflow"
    package.mkdir(parents=True)
    config = f"class config:\n    @staticmethod\n    def list_physical_devices(device_type=None):\n        {on_listing_devices}\n        return []\n"
    (package / "__init__.py").write_text("import os\n" + config + body)
    return root


def test_message_of_a_failing_tensorflow_import_reaches_stderr(tmp_path):
    fake = _fake_tensorflow(tmp_path, "os.write(2, b'libtensorflow: undefined symbol _ZN3xla\\n')\nraise ImportError('ABI mismatch')\n")
    result = _python("from fer_cli.tf_env import tensorflow; tensorflow()", _env(PYTHONPATH=str(fake), FER_DEBUG=None))
    assert result.returncode != 0
    assert "undefined symbol _ZN3xla" in result.stderr
    assert "ABI mismatch" in result.stderr


def test_message_of_a_tensorflow_import_that_aborts_reaches_stderr(tmp_path):
    # TensorFlow's CPU check logs, then abort()s: no Python code runs after it.
    fake = _fake_tensorflow(
        tmp_path,
        "os.write(2, b'F cpu_feature_guard.cc] The TensorFlow library was compiled to use AVX instructions\\n')\nos.abort()\n",
    )
    result = _python("from fer_cli.tf_env import tensorflow; tensorflow()", _env(PYTHONPATH=str(fake), FER_DEBUG=None))
    assert result.returncode != 0
    assert "compiled to use AVX instructions" in result.stderr


def test_known_start_up_noise_is_dropped_and_other_lines_kept(tmp_path):
    noise = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1795611755.080029    4435 port.cc:153] oneDNN custom operations are on. "
        "You may see slightly different numerical results.\n"
        # The `tensorflow` wheel (the [train] extra's, CUDA-enabled) on a machine without a GPU driver.
        "I0000 00:00:1795611755.812345    4435 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
        "GPU will not be used.\n"
    )
    # The CUDA wheel with the CUDA libraries but no GPU, when the devices are listed.
    no_gpu = b"E0000 00:00:1796351613.051037   22074 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error\n"
    fake = _fake_tensorflow(
        tmp_path,
        f"os.write(2, {noise.encode()!r})\nos.write(2, b'W something people should see\\n')\n",
        on_listing_devices=f"os.write(2, {no_gpu!r})",
    )
    result = _python("from fer_cli.tf_env import tensorflow; tensorflow(); print('ok')", _env(PYTHONPATH=str(fake), FER_DEBUG=None))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert "something people should see" in result.stderr
    assert "oneDNN" not in result.stderr and "absl::InitializeLog" not in result.stderr
    assert "cuda drivers" not in result.stderr and "cuInit" not in result.stderr


def test_real_tensorflow_import_leaves_stderr_empty():
    # Devices listed and an op run after the import: where CUDA is installed without a GPU, they log too.
    code = "from fer_cli.tf_env import keras; k = keras(); k.ops.add(1.0, 1.0); print('ok')"
    result = _python(code, _env(FER_DEBUG=None, TF_CPP_MIN_LOG_LEVEL=None))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


# --- The light install: optional packages through fer_cli/optional.py (issue 13) ------------------

# What `pip install fer-cli` leaves out: the [train] extra's packages, by import name.
TRAIN_EXTRA = ("tensorflow", "keras", "tf2onnx", "onnx", "sklearn", "tensorboard", "matplotlib")


def _without_train_extra(tmp_path: Path) -> dict[str, str]:
    """An environment whose Pythons import none of the [train] extra, as in the light install.

    A ``sitecustomize`` sets ``sys.modules[name] = None`` for each, which makes
    ``import name`` raise ModuleNotFoundError just as an absent package does.
    """
    site = tmp_path / "no_train_extra"
    site.mkdir()
    (site / "sitecustomize.py").write_text(f"import sys\nsys.modules.update(dict.fromkeys({TRAIN_EXTRA!r}))\n")
    return _env(PYTHONPATH=str(site), FER_DEBUG=None)


def _fer(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fer_cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
    )


def test_require_names_the_package_and_the_extra(monkeypatch):
    from fer_cli import optional, tf_env
    from fer_cli.errors import UsageError

    monkeypatch.setitem(sys.modules, "tensorflow", None)
    with pytest.raises(optional.MissingExtra) as missing:
        tf_env.keras()
    assert isinstance(missing.value, UsageError) and missing.value.exit_code == 2
    assert str(missing.value) == "this command needs TensorFlow: pip install 'fer-cli[train]'"
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.model_selection", None)  # as if never imported by an earlier test
    with pytest.raises(optional.MissingExtra, match=r"^fer train needs scikit-learn: pip install 'fer-cli\[train\]'$"):
        optional.require("sklearn.model_selection", feature="fer train")
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(optional.MissingExtra, match=r"^fer export needs ONNX: "):
        optional.check("numpy", "onnx", "tf2onnx", feature="fer export")  # the first that is missing


def test_require_lets_a_broken_package_speak_for_itself(tmp_path, monkeypatch):
    # Installed but failing inside (a dependency of its own missing): reinstalling the extra is not the fix.
    (tmp_path / "half_installed").mkdir()
    (tmp_path / "half_installed" / "__init__.py").write_text("import a_dependency_it_lacks\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from fer_cli import optional

    with pytest.raises(ModuleNotFoundError) as error:
        optional.require("half_installed")
    assert not isinstance(error.value, optional.MissingExtra) and error.value.name == "a_dependency_it_lacks"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["train", "{data}"], "fer train needs TensorFlow"),
        (["export", "--format", "onnx"], "fer export needs TensorFlow"),
        (["export", "--format", "keras", "-o", "{tmp}/m.keras"], "fer export needs TensorFlow"),
        (["prepare", "{data}", "--shard-size", "10", "-o", "{tmp}/s.shards"], "fer prepare --shard-size needs TensorFlow"),
    ],
    ids=["train", "export-onnx", "export-keras", "prepare-shards"],
)
def test_commands_of_the_train_extra_without_it_exit_2_with_one_line(tmp_path, tiny_data, args, line):
    env = _without_train_extra(tmp_path)
    result = _fer([a.format(data=tiny_data, tmp=tmp_path) for a in args], env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [f"Error: {line}: pip install 'fer-cli[train]'"]
    assert result.stdout == ""
    assert not list(tmp_path.glob("s.shards*")) and not (tmp_path / "m.keras").exists()


def test_light_install_lists_every_command_and_predicts(tmp_path):
    env = _without_train_extra(tmp_path)
    helped = _fer(["--help"], env)
    assert helped.returncode == 0, helped.stderr
    for command in ("prepare", "train", "evaluate", "predict", "export"):
        assert f" {command} " in helped.stdout
    predicted = _fer(["predict", "samples/astronaut_face.png"], env)
    assert predicted.returncode == 0, predicted.stderr
    assert json.loads(predicted.stdout.splitlines()[0])["label"]


def test_light_install_prepares_and_evaluates(tmp_path, tiny_data):
    # A .npz cache needs no TensorFlow (only shards do); evaluate runs the shipped ONNX model and draws with Pillow.
    env = _without_train_extra(tmp_path)
    cached = _fer(["prepare", str(tiny_data), "-o", str(tmp_path / "tiny.npz"), "--quiet"], env)
    assert cached.returncode == 0, cached.stderr
    png = tmp_path / "confusion.png"
    evaluated = _fer(["evaluate", str(tmp_path / "tiny.npz"), "-f", "json", "--confusion-png", str(png)], env)
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["n"] == 28 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


CI_LOCK = REPO / "requirements" / "ci-py311-linux-x86_64.txt"


def test_ci_lock_pins_every_dependency_within_its_range():
    # .ci/run installs the lock, then fer with --no-deps: a requirement the lock misses or pins outside
    # pyproject.toml's range would go untested. Regenerate with the command in the lock's header.
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lines = CI_LOCK.read_text().splitlines()
    pins = dict(line.split(" ")[0].split("==") for line in lines if line[:1].isalnum())
    pins = {canonicalize_name(name): version for name, version in pins.items()}
    assert all(line.strip().startswith(("#", "--hash")) or line[:1].isalnum() or not line.strip() for line in lines)
    lock_environment = {"python_version": "3.11", "sys_platform": "linux", "platform_machine": "x86_64", "extra": ""}
    wanted = [*project["dependencies"], *project["optional-dependencies"]["train"], *project["optional-dependencies"]["test"]]
    for text in wanted:
        requirement = Requirement(text)
        if requirement.marker and not requirement.marker.evaluate(lock_environment):
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in {CI_LOCK.name}"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {requirement.specifier}"
    assert "tensorflow-cpu" not in pins  # one TensorFlow: the `tensorflow` that [and-cuda] extends
    # Hashes for every pin: `pip install --require-hashes` refuses a lock without them.
    assert all(after.strip().startswith("--hash=sha256:") for line, after in zip(lines, lines[1:]) if line[:1].isalnum())


# --- Layering -----------------------------------------------------------------------------------


def test_config_does_not_load_training():
    # Core config is read by every command; it must not drag the training package in.
    result = _python("import sys, fer_cli.config; print(sorted(m for m in sys.modules if m.startswith('fer_cli.training')))", _env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_worker_lost_is_an_error_kind_beside_the_others():
    from fer_cli import errors
    from fer_cli.training import distributed_loop

    assert issubclass(errors.WorkerLost, errors.FerError)
    assert distributed_loop.WorkerLost is errors.WorkerLost


def test_import_contracts_hold():
    # The layers, the prediction-never-loads-TensorFlow rule and acyclicity: [tool.importlinter] in pyproject.toml.
    result = _python("from importlinter.cli import lint_imports_command; lint_imports_command(['--no-cache'])", _env())
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_ruff_finds_nothing():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "fer_cli", "tests", "benchmarks"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
