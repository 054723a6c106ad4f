"""The one place where exceptions become one-line messages and exit codes."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any

import typer

from fer_cli import output
from fer_cli.errors import FerError, debug
from fer_cli.optional import MissingExtra

# Usage errors exit 2 through `UsageError.exit_code`; these are the codes this module picks itself.
EXIT_OK, EXIT_DATA, EXIT_INTERRUPTED = 0, 1, 130


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a command so errors print ``Error: ...`` on stderr and exit non-zero.

    `FerError` exits with its own code (1 data, 2 usage); anything unexpected
    exits 1. With ``FER_DEBUG=1`` the traceback is raised instead.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except typer.Exit:
            raise
        except FerError as exc:
            if debug():
                raise
            if isinstance(exc, MissingExtra) and exc.feature is None:
                exc.feature = f"fer {command.__name__}"  # "fer evaluate needs TensorFlow: pip install ..."
            output.error(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            output.error("interrupted")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            # The reader of a pipeline (e.g. `head`) went away: not an error worth a message.
            _silence_stdout()
            raise typer.Exit(EXIT_OK) from None
        except OSError as exc:
            # Unwritable folders, a full disk, a path under a file: the file system's own words.
            if debug():
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            output.error(f"{where}{exc.strerror or exc}")
            raise typer.Exit(EXIT_DATA) from None
        except Exception as exc:
            if debug():
                raise
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            output.error(f"{type(exc).__name__}: {text} (set FER_DEBUG=1 for the traceback)")
            raise typer.Exit(EXIT_DATA) from None

    return wrapper


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
