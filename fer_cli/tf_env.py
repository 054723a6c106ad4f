"""The one way into TensorFlow and Keras: the right backend, imported quietly, on demand.

fer's Keras is TensorFlow's: models are built, saved and exported with the
TensorFlow backend. Keras otherwise picks its backend from ``KERAS_BACKEND``
or ``~/.keras/keras.json``, so a JAX or PyTorch user would get baffling
failures; `use_tensorflow_backend` sets ``KERAS_BACKEND`` before Keras is
first imported. Importing this module does it, and so does importing
`fer_cli.cli`.

TensorFlow prints start-up notices (the oneDNN notice, absl's "before
InitializeLog" banner, CUDA's failure to find a GPU) straight to file
descriptor 2, below Python, where ``TF_CPP_MIN_LOG_LEVEL`` does not reach
them. stderr is for messages people need, so during the import fd 2 goes
through a filter that drops those known lines and passes everything else on,
at once: the last words of an import that fails or aborts (missing CPU
features, ABI mismatches) still reach the user. ``FER_DEBUG=1`` turns the
filter off.

Callers import TensorFlow or Keras through `tensorflow()` and `keras()`,
inside the functions that need them, so that ``fer --help`` never pays for it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType

from fer_cli import optional
from fer_cli.errors import FerError, debug

BACKEND = "tensorflow"

# Lines TensorFlow writes to fd 2 on every import whatever TF_CPP_MIN_LOG_LEVEL says.
START_UP_NOISE = (
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"^I\d{4} [\d:.]+ +\d+ port\.cc:\d+\] oneDNN custom operations are on",
    # The `tensorflow` wheel (with CUDA support) on a machine without a GPU driver, before logging is set up.
    r"^I\d{4} [\d:.]+ +\d+ cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine",
    # The same wheel where the CUDA libraries are installed but no GPU is there, when devices are first listed.
    r"^E\d{4} [\d:.]+ +\d+ cuda_platform\.cc:\d+\] failed call to cuInit",
)

# Run by a child Python: copies stdin to stdout line by line, minus lines matching argv[1].
# A separate process, so that lines written just before the parent dies (abort) still get out.
_FILTER_PROGRAM = """
import re, sys
noise = re.compile(sys.argv[1])
for line in sys.stdin.buffer:
    if not noise.search(line.decode("utf-8", "replace")):
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()
"""


_replaced_backend: list[str] = []  # the user's other KERAS_BACKEND, until warned about


def use_tensorflow_backend() -> None:
    """Make Keras use TensorFlow, and keep TensorFlow's C++ logs to warnings and errors.

    Sets ``KERAS_BACKEND``. A different value set by the user is replaced; the
    warning about it waits until Keras is actually loaded, so that commands
    that never load it (``fer predict`` on ONNX) stay quiet. Keras reads the
    variable when it is first imported, so this must run before that; it is
    cheap and safe to call again.
    """
    asked = os.environ.get("KERAS_BACKEND", "")
    if asked and asked != BACKEND:
        _replaced_backend.append(asked)
    os.environ["KERAS_BACKEND"] = BACKEND
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _warn_replaced_backend() -> None:
    if _replaced_backend:
        from fer_cli import output

        output.warn(f"KERAS_BACKEND={_replaced_backend[0]} ignored: fer's models run on the {BACKEND} backend")
        _replaced_backend.clear()


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Point fd 2 at /dev/null for the block (unless ``FER_DEBUG`` is set).

    Only for calls that report their failures as Python exceptions and print
    nothing else worth reading on fd 2, such as loading a LiteRT interpreter.
    """
    if debug():
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


@contextlib.contextmanager
def filtered_stderr(noise: tuple[str, ...] = START_UP_NOISE) -> Iterator[None]:
    """Drop lines matching `noise` from what is written to fd 2 in the block; pass on the rest.

    The filter is a child process reading a pipe, so it forwards what a crashing
    block wrote even when this process dies without running any more code. If
    the child cannot start, fd 2 is left alone (noise beats losing an error).

    Args:
        noise: regular expressions of lines to drop. Defaults to `START_UP_NOISE`.
    """
    if debug() or not sys.executable:  # no interpreter to run the filter with (embedded Python)
        yield
        return
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    try:
        child = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _FILTER_PROGRAM, "|".join(noise)],
            stdin=read_end,
            stdout=2,
            stderr=2,
        )
    except (OSError, ValueError):
        os.close(read_end)
        os.close(write_end)
        yield
        return
    os.close(read_end)
    saved = os.dup(2)
    try:
        os.dup2(write_end, 2)
        os.close(write_end)
        yield
    finally:
        os.dup2(saved, 2)  # closes the pipe's last write end here, so the filter sees EOF
        os.close(saved)
        try:
            child.wait(timeout=5)  # everything forwarded before anything else is written
        except subprocess.TimeoutExpired:
            pass  # something in the block kept a copy of fd 2; the filter keeps serving it


def _import(name: str) -> ModuleType:
    use_tensorflow_backend()
    if sys.modules.get("tensorflow") is None:
        with filtered_stderr():
            tf = optional.require("tensorflow")  # the noisy part; keras rides on it
            # Listing the devices loads the CUDA driver, which logs its own failure on a machine without a
            # GPU; done here, inside the filter, rather than at the first op. It leaves the runtime unstarted.
            tf.config.list_physical_devices()
    module = optional.require(name)
    _warn_replaced_backend()  # only once Keras is there to use the backend
    if name == "keras" and module.backend.backend() != BACKEND:
        raise FerError(
            f"Keras was imported with the {module.backend.backend()} backend before fer could select "
            f"{BACKEND}; import fer_cli.tf_env first, or set KERAS_BACKEND={BACKEND}"
        )
    return module


def tensorflow() -> ModuleType:
    """The `tensorflow` module, imported quietly.

    Raises:
        MissingExtra: when TensorFlow is not installed (the light install); see `fer_cli.optional`.
    """
    return _import("tensorflow")


def tensorflow_for_tracing() -> ModuleType:
    """The `tensorflow` module, for code that tf.data traces.

    Pipelines are built after `fer_cli.tf_env` imported TensorFlow; AutoGraph
    converts every function a traced one calls, so traced code reads the
    module from `sys.modules` instead of running the importer inside the graph.
    """
    module = sys.modules.get("tensorflow")
    if module is None:  # called outside any trace, before anything imported TensorFlow
        module = tensorflow()
    return module


def keras() -> ModuleType:
    """The `keras` module, on the TensorFlow backend, imported quietly.

    Raises:
        MissingExtra: when TensorFlow or Keras is not installed (the light install).
        FerError: when Keras was already imported with another backend.
    """
    return _import("keras")


use_tensorflow_backend()
