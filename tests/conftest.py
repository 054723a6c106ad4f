"""Shared fixtures: tiny generated data sets, a CLI runner, models trained once per session, real-data results.

Session fixtures that hand a folder to many tests (`tiny_run`) are read-only in
spirit: a test that changes one would make every later test's result depend on
the order they ran in. `helpers.share_read_only` records such a folder, and after every
test `_shared_folders_stay_unchanged` fails the test that changed it. (The suite
often runs as root, where chmod stops nobody, so the check compares the folder.)
A test that needs to change a run copies it first (`tiny_run_copy`).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import FER_IMAGES, SHARED_FOLDERS, folder_snapshot, share_read_only, write_class_folders

# TensorFlow's C++ logs stay out of test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(autouse=True)
def _shared_folders_stay_unchanged(request):
    """After each test: the shared folders hold what they held before it."""
    yield
    for folder, before in SHARED_FOLDERS.items():
        after = folder_snapshot(folder)
        if after != before:
            SHARED_FOLDERS[folder] = after  # blame this test only, not every test after it
            changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
            pytest.fail(f"{request.node.nodeid} changed the shared folder {folder} ({', '.join(changed)}); "
                        "copy it to tmp_path first (tiny_run_copy)", pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Keep default caches out of the user's home: one cache folder for the whole session.

    Session-scoped so that session fixtures see it too, and data decoded once
    (the 32k real images) is found again by every later test.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FER_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
        yield


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """images/{train,test}/<emotion>/*.png: 12 train and 4 test images per class."""
    root = tmp_path_factory.mktemp("tiny") / "images"
    write_class_folders(root / "train", 12, seed=1)
    write_class_folders(root / "test", 4, seed=2)
    return root


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def app():
    from fer_cli.cli import app

    return app


@pytest.fixture(scope="session")
def tiny_run(tiny_data, tmp_path_factory) -> Path:
    """A run folder trained once per session for 2 epochs on the tiny data (the model behind most tests).

    It holds its ONNX twin (``best.onnx``) already, so `fer predict --model tiny_run`
    only reads it. Shared: copy it (`tiny_run_copy`) before changing anything in it.
    """
    from fer_cli.cli import app

    runs = tmp_path_factory.mktemp("runs")
    result = CliRunner().invoke(
        app, ["train", str(tiny_data), "--model", "resnet_s", "--epochs", "2", "--batch-size", "16", "--runs-dir", str(runs), "-q"]
    )
    assert result.exit_code == 0, result.stderr
    run = Path(result.stdout.strip().splitlines()[-1])
    # The first `fer predict` with a run exports its twin beside best.keras; do it now, while the folder may change.
    image = next((tiny_data / "test" / "happy").iterdir())
    predicted = CliRunner().invoke(app, ["predict", str(image), "--model", str(run), "-q"])
    assert predicted.exit_code == 0 and (run / "best.onnx").is_file(), predicted.stderr
    return share_read_only(run)


@pytest.fixture
def tiny_run_copy(tiny_run, tmp_path) -> Path:
    """A private copy of `tiny_run` in tmp_path, for tests that write into a run."""
    return Path(shutil.copytree(tiny_run, tmp_path / "run"))


@pytest.fixture(scope="session")
def fer_cache(tmp_path_factory) -> Path:
    """The real FER2013 folder (../shared) prepared once per session into the session's cache folder.

    `fer evaluate`, `fer train` and `fer prepare` on FER_IMAGES find this cache
    again instead of decoding the 32k images each time.

    Returns:
        The .npz cache; its manifest is beside it (same name, .json).
    """
    if not FER_IMAGES.exists():
        pytest.skip(f"{FER_IMAGES} is not here (only CI and developers have ../shared)")
    from fer_cli.cli import app

    result = CliRunner().invoke(app, ["prepare", str(FER_IMAGES), "-q"])
    assert result.exit_code == 0, result.stderr
    cache = Path(result.stdout.strip().splitlines()[-1])
    assert cache.parent == tmp_path_factory.getbasetemp() / "cache"
    return cache


@pytest.fixture(scope="session")
def public_test_report(fer_cache) -> dict:
    """`fer evaluate` of the shipped model on the whole FER2013 PublicTest split (3,589 images), run once per session.

    About two minutes on 2 CPU cores: tests that need the shipped model's real
    accuracy share this one result.
    """
    from fer_cli.cli import app

    result = CliRunner().invoke(app, ["evaluate", str(FER_IMAGES), "-f", "json", "-q"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)
