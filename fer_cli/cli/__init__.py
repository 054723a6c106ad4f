"""The ``fer`` command: registers the subcommands, nothing else.

Heavy modules (TensorFlow, Keras, ONNX Runtime) are imported inside the
functions that need them, so ``fer --help`` starts fast.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from fer_cli import output, tf_env
from fer_cli._version import __version__
from fer_cli.cli import evaluate, export, predict, prepare, train

# Before any command can import Keras: the TensorFlow backend, quiet C++ logs (cheap, no TensorFlow yet).
tf_env.use_tensorflow_backend()

app = typer.Typer(
    name="fer",
    help="Facial expression recognition: prepare data, train, evaluate, predict and export emotion classifiers.",
    epilog="Examples:\n\n"
    "  fer prepare images/\n\n"
    "  fer train images/ --epochs 100\n\n"
    "  fer evaluate images/ --model runs/train\n\n"
    "  fer predict face.png\n\n"
    "  find . -name '*.jpg' | fer predict - | jq .label\n\n"
    "  fer export runs/train --format onnx",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fer {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        Optional[bool], typer.Option("--version", "-V", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = None,
) -> None:
    """Facial expression recognition: prepare data, train, evaluate, predict and export emotion classifiers."""


app.command("prepare")(prepare.prepare)
app.command("train")(train.train)
app.command("evaluate")(evaluate.evaluate)
app.command("predict")(predict.predict)
app.command("export")(export.export)


def main() -> None:
    """Console entry point: usage errors (a bad flag or value) are one ``Error:`` line, as every other error."""
    import sys

    command = typer.main.get_command(app)
    try:
        code = command.main(prog_name="fer", standalone_mode=False)
    except Exception as exc:
        # Click's usage errors carry `format_message` and exit code 2 (Typer's public API only: no click import).
        describe = getattr(exc, "format_message", None)
        if describe is None or getattr(exc, "exit_code", None) != 2:
            raise
        context = getattr(exc, "ctx", None)
        where = f" (see {context.command_path} --help)" if context is not None else ""
        output.error(" ".join(describe().split()) + where)
        sys.exit(2)
    except KeyboardInterrupt:
        output.error("interrupted")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
