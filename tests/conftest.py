"""Shared fixtures: tiny generated data sets, a CLI runner, a tiny trained model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import write_class_folders

# TensorFlow's C++ logs stay out of test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep default caches out of the user's home during tests."""
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


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
    """A run folder trained for 2 epochs on the tiny data (the model behind most tests)."""
    from fer_cli.cli import app

    runs = tmp_path_factory.mktemp("runs")
    result = CliRunner().invoke(
        app, ["train", str(tiny_data), "--model", "resnet_s", "--epochs", "2", "--batch-size", "16", "--runs-dir", str(runs), "-q"]
    )
    assert result.exit_code == 0, result.stderr
    return Path(result.stdout.strip().splitlines()[-1])
