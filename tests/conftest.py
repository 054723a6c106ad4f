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
import subprocess
import sys
import threading
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


class BackgroundJob:
    """Commands run one after another in child processes while the tests go on.

    They run at a lower priority (nice 10), so that the tests in the foreground,
    some of them timed, come first; the suite uses about one of two cores, and
    the job takes the rest.

    Args:
        commands: argument lists, run in this order.
    """

    def __init__(self, commands: list[list[str]]):
        self._results: list[subprocess.CompletedProcess | None] = [None] * len(commands)
        self._finished = [threading.Event() for _ in commands]
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, args=(commands,), daemon=True)
        self._thread.start()

    def _run(self, commands: list[list[str]]) -> None:
        for index, command in enumerate(commands):
            with self._lock:
                if not self._stopped:
                    self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                                     preexec_fn=lambda: os.nice(10))
            if not self._stopped:
                out, err = self._process.communicate()
                self._results[index] = subprocess.CompletedProcess(command, self._process.returncode, out, err)
            self._finished[index].set()

    def result(self, index: int) -> subprocess.CompletedProcess:
        """Wait for command `index` and return how it ended."""
        self._finished[index].wait()
        result = self._results[index]
        assert result is not None, "the background job was stopped"
        return result

    def stop(self) -> None:
        """Kill what still runs (a session cut short) and wait for the thread."""
        with self._lock:
            self._stopped = True
            if self._process is not None and self._process.poll() is None:
                self._process.kill()
        self._thread.join()


def _fer_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "fer_cli", *args]


# The real-data job, when this session runs a test that needs the shipped model's PublicTest score.
_REAL_DATA_JOB: dict[str, BackgroundJob] = {}


@pytest.fixture(scope="session", autouse=True)
def _real_data_in_background(request, _isolated_cache):
    """Start `fer prepare` and `fer evaluate` on the real data as the session starts, when a selected test needs them.

    The PublicTest evaluation takes about two minutes of computing that no test
    can shorten (the >= 70% promise holds on the whole split); in the
    background it overlaps the rest of the suite instead of adding to it.
    """
    wanted = any("public_test_report" in getattr(item, "fixturenames", ()) for item in request.session.items)
    if not (wanted and FER_IMAGES.exists()):
        yield
        return
    job = BackgroundJob([_fer_command("prepare", str(FER_IMAGES), "-q"),
                         _fer_command("evaluate", str(FER_IMAGES), "-f", "json", "-q")])
    _REAL_DATA_JOB["job"] = job
    yield
    job.stop()
    _REAL_DATA_JOB.clear()


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
    if "job" in _REAL_DATA_JOB:
        prepared = _REAL_DATA_JOB["job"].result(0)
        code, stdout, stderr = prepared.returncode, prepared.stdout, prepared.stderr
    else:
        from fer_cli.cli import app

        prepared = CliRunner().invoke(app, ["prepare", str(FER_IMAGES), "-q"])
        code, stdout, stderr = prepared.exit_code, prepared.stdout, prepared.stderr
    assert code == 0, stderr
    cache = Path(stdout.strip().splitlines()[-1])
    assert cache.parent == tmp_path_factory.getbasetemp() / "cache"
    return cache


@pytest.fixture(scope="session")
def public_test_report(fer_cache) -> dict:
    """`fer evaluate` of the shipped model on the whole FER2013 PublicTest split (3,589 images), run once per session.

    About two minutes on 2 CPU cores, started in the background as the session
    starts (`_real_data_in_background`); tests that need the shipped model's
    real accuracy share this one result.
    """
    if "job" in _REAL_DATA_JOB:
        evaluated = _REAL_DATA_JOB["job"].result(1)
        code, stdout, stderr = evaluated.returncode, evaluated.stdout, evaluated.stderr
    else:
        from fer_cli.cli import app

        evaluated = CliRunner().invoke(app, ["evaluate", str(FER_IMAGES), "-f", "json", "-q"])
        code, stdout, stderr = evaluated.exit_code, evaluated.stdout, evaluated.stderr
    assert code == 0, stderr
    return json.loads(stdout)
