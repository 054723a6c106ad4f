"""Importing TensorFlow quietly, on demand.

TensorFlow prints C++ start-up logs (oneDNN notices, absl warnings) straight to
file descriptor 2, below Python, where ``TF_CPP_MIN_LOG_LEVEL`` no longer hides
all of them. stderr is for messages people need, so the import runs with fd 2
pointed at /dev/null (unless ``FER_DEBUG`` is set). Callers import TensorFlow
or Keras through here, inside the functions that need them, so that
``fer --help`` never pays for it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    if os.environ.get("FER_DEBUG", "") not in ("", "0"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _quiet_import(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with quiet_stderr():
        import tensorflow  # noqa: F401  the noisy part; keras rides on it

        return importlib.import_module(name)


def tensorflow() -> ModuleType:
    """The `tensorflow` module, imported quietly."""
    return _quiet_import("tensorflow")


def keras() -> ModuleType:
    """The `keras` module (TensorFlow backend), imported quietly."""
    return _quiet_import("keras")
