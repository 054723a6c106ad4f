"""The ``fer`` command: registers the subcommands, nothing else.

Heavy modules (TensorFlow, Keras, ONNX Runtime) are imported inside the
functions that need them, so ``fer --help`` starts fast.
"""

from __future__ import annotations

import os
from typing import Annotated, Optional

import typer

from fer_cli import __version__
from fer_cli.cli import evaluate, export, predict, prepare, train

# Quiet TensorFlow's C++ start-up logs; stderr is for messages people need.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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
    """Console entry point."""
    app()
