"""``fer export``: convert a model for another runtime and check it still agrees."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from fer_cli import output
from fer_cli.cli.errors import handle_errors
from fer_cli.cli.options import QuietOpt
from fer_cli.errors import UsageError

# Mirrors fer_cli.export.FORMATS (kept free of heavy imports for --help); a test checks they match.
ExportFormatChoice = enum.Enum("ExportFormatChoice", {n: n for n in ("keras", "savedmodel", "onnx", "tflite")}, type=str)


class Quantize(str, enum.Enum):
    none = "none"
    float16 = "float16"
    int8 = "int8"


@handle_errors
def export(
    model: Annotated[Optional[str], typer.Argument(help="A run folder or .keras file; omitted = the model shipped with fer.", show_default=False)] = None,
    fmt: Annotated[ExportFormatChoice, typer.Option("--format", "-f", help="Target format.", case_sensitive=False, show_default=False)] = ...,
    quantize: Annotated[Quantize, typer.Option("--quantize", help="Weight quantization (onnx: none, int8; tflite: none, float16, int8).", case_sensitive=False)] = Quantize.none,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output path.", show_default="beside the model, e.g. runs/train/best.onnx")] = None,
    data: Annotated[Optional[Path], typer.Option("--data", help="Real images for int8 calibration and the parity check (folder, csv or .npz); synthetic images otherwise.", show_default=False)] = None,
    quiet: QuietOpt = False,
) -> None:
    """Export a Keras model to keras, savedmodel, onnx or tflite (through a SavedModel), then check parity:
    the export and the Keras model must agree on a batch of inputs (max |Δ probability| and top-1 agreement).

    Prints the exported path on stdout.

    [bold]Examples[/bold]

      fer export runs/train --format onnx

      fer export --format tflite --quantize int8 --data images/ -o fer-int8.tflite
    """
    from fer_cli.export import export_model
    from fer_cli.runtimes.resolve import DEFAULT_MODEL, resolve_model

    ref = resolve_model(model)
    if ref.format != "keras":
        raise UsageError(f"{ref.path} is already exported ({ref.format}); export from a run folder or a .keras file")
    sample = _sample(data, quiet) if data else None
    result = export_model(
        ref.path, ref.class_names, fmt.value, quantize.value, out, sample=sample, shipped=ref.path == DEFAULT_MODEL
    )
    if not quiet:
        output.info(
            f"exported {fmt.value} ({quantize.value}) to {result.path}, {result.bytes / 1e6:.2f} MB; parity on {result.n} images: "
            f"max |Δp| {result.max_abs_diff:.2g}, top-1 agreement {result.top1_agreement:.1%}"
        )
    output.write_stdout(f"{result.path}\n")


def _sample(data: Path, quiet: bool):
    import numpy as np

    from fer_cli.data import load_dataset

    with output.counting_progress("decoding", quiet) as on_start:
        dataset = load_dataset(data, on_start=on_start)
    images = np.concatenate([s.images for s in dataset.splits.values()])
    pick = np.random.default_rng(0).permutation(len(images))[:256]
    return images[pick].astype(np.float32)[..., None]
