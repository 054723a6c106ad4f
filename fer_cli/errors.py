"""User-facing errors. Each kind carries the exit code the CLI returns for it."""

import os


def debug() -> bool:
    """Whether ``FER_DEBUG`` asks for tracebacks instead of one-line messages (and for TensorFlow's own logs)."""
    return os.environ.get("FER_DEBUG", "") not in ("", "0")


class FerError(Exception):
    """An error the user can fix; shown as a one-line ``Error: ...`` message.

    Args:
        message: what went wrong, one line.
    """

    exit_code = 1


class UsageError(FerError):
    """Bad flags or arguments (exit code 2)."""

    exit_code = 2


class DataError(FerError):
    """Input data that cannot be used (exit code 1)."""


class ModelError(FerError):
    """A model file that cannot be loaded or run (exit code 1)."""


class ConfigError(UsageError):
    """A config file or option that is not valid (exit code 2)."""


class ExportError(FerError):
    """An export that failed or did not match the source model (exit code 1)."""


class WorkerLost(FerError):
    """A worker of a training cluster stopped or could not be reached (exit code 1)."""
