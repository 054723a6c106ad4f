"""Option and argument aliases shared by the commands, so each help text is written once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from fer_cli.output import OutputFormat
from fer_cli.views import TTA

DataArg = Annotated[
    Optional[Path],
    typer.Argument(
        help="Data: a folder with train/ and test/ (and optional val/) class folders, a folder of class folders, "
        "a fer2013.csv, or a .npz cache from `fer prepare`.",
        show_default=False,
    ),
]
ModelOpt = Annotated[
    Optional[str],
    typer.Option(
        "--model",
        "-m",
        help="A run folder, a .keras/.onnx/.tflite file, or omitted for the model shipped with fer.",
        show_default=False,
    ),
]
FormatOpt = Annotated[
    Optional[OutputFormat],
    typer.Option(
        "--format",
        "-f",
        help="Output format. Defaults to a table on a terminal and JSON lines when piped.",
        case_sensitive=False,
        show_default=False,
    ),
]
TtaOpt = Annotated[
    TTA,
    typer.Option(
        "--tta",
        help="Test-time augmentation: average over the mirror image (flip) or 10 mirrored and shifted views (crops).",
        case_sensitive=False,
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or messages on stderr.")]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="Refuse (and write nothing) if any image cannot be read, instead of skipping it.")
]
SeedOpt = Annotated[Optional[int], typer.Option("--seed", help="Random seed; the same seed repeats a run.", show_default="0")]


def announce_export(quiet: bool):
    """What predict and evaluate say when a .keras model's ONNX twin is exported first (once per model version)."""
    from fer_cli import output

    return lambda target: None if quiet else output.info(f"exporting to ONNX for fast prediction (once): {target}")
