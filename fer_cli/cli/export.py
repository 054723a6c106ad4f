"""``fer export``: convert a model for another runtime and check it still agrees."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from fer_cli import output
from fer_cli.cli.error_handling import handle_errors
from fer_cli.cli.options import QuietOpt
from fer_cli.views import TTA

# Mirrors fer_cli.exporting.exporter.FORMATS (kept free of heavy imports for --help); a test checks they match.
ExportFormatChoice = enum.Enum("ExportFormatChoice", {n: n for n in ("keras", "savedmodel", "onnx", "tflite")}, type=str)


class Quantize(str, enum.Enum):
    none = "none"
    float16 = "float16"
    int8 = "int8"


@handle_errors
def export(
    models: Annotated[
        Optional[list[str]],
        typer.Argument(help="Run folders or .keras files (several: one model that averages them); omitted = the model shipped with fer.", show_default=False),
    ] = None,
    fmt: Annotated[ExportFormatChoice, typer.Option("--format", "-f", help="Target format.", case_sensitive=False, show_default=False)] = ...,
    quantize: Annotated[Quantize, typer.Option("--quantize", help="Weight quantization (onnx: none, float16, int8; tflite: none, float16, int8). ONNX float16 stores the weights in float16 and computes in float32: half the file, the same speed.", case_sensitive=False)] = Quantize.none,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output path.", show_default="beside the model, e.g. runs/train/best.onnx")] = None,
    tta: Annotated[
        TTA, typer.Option("--tta", help="Build test-time augmentation into the export: average over the mirror image (flip) or 10 mirrored and shifted views (crops).", case_sensitive=False)
    ] = TTA.none,
    data: Annotated[Optional[Path], typer.Option("--data", help="Real images for int8 quantization (its value ranges) and the parity check (folder, csv or .npz); synthetic images otherwise.", show_default=False)] = None,
    calibrate: Annotated[
        bool, typer.Option("--calibrate", help="Fit a temperature on validation images and build it into the export, so its scores are calibrated (accuracy unchanged). Replaces a temperature the model has.")
    ] = False,
    calibration_data: Annotated[
        Optional[Path],
        typer.Option("--calibration-data", help="Validation data for --calibrate: a run folder (the images it held out), or data (folder, csv, .npz) with a val split, --calibration-split, or --val-split.", show_default="the source run folders' own validation split"),
    ] = None,
    calibration_split: Annotated[Optional[str], typer.Option("--calibration-split", help="The split of --calibration-data to calibrate on.", show_default="val")] = None,
    val_split: Annotated[
        Optional[float],
        typer.Option("--val-split", help="With --calibration-data DATA: calibrate on the share of its train split that a run with this val_split held out.", show_default=False),
    ] = None,
    split_seed: Annotated[Optional[int], typer.Option("--split-seed", help="With --val-split: the run's split_seed (its seed when unset).", show_default="0")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Export a Keras model to keras, savedmodel, onnx or tflite (through a SavedModel), then check parity:
    the export and the Keras model must agree on a batch of inputs (max |Δ probability| and top-1 agreement).

    Several models become one model that averages their probabilities (an
    ensemble); --tta builds test-time views into it, so every runtime gets what
    fer predict --tta gives (a model with views or members of its own gives its
    networks: the new views replace its own); --calibrate fits a temperature on
    validation images and builds it in last, so the scores are calibrated. Prints
    the exported path on stdout.

    [bold]Examples[/bold]

      fer export runs/train --format onnx

      fer export --format tflite --quantize int8 --data images/ -o fer-int8.tflite

      fer export runs/a runs/b --tta flip --format keras -o ensemble.keras

      fer export runs/train --calibrate --format onnx

      fer export --calibrate --calibration-data images/ --val-split 0.1 --split-seed 0 --format keras -o calibrated.keras
    """
    from fer_cli.api import export as run_export

    notes: list[str] = []
    with output.counting_progress("decoding", quiet) as on_start:
        result = run_export(models, fmt.value, quantize=quantize.value, out=out, tta=tta, data=data, calibrate=calibrate,
                            calibration_data=calibration_data, calibration_split=calibration_split, val_split=val_split,
                            split_seed=split_seed, on_start=on_start, notes=notes)
    if not quiet:
        for note in notes:
            output.info(note)
        output.info(
            f"exported {fmt.value} ({quantize.value}) to {result.path}, {result.bytes / 1e6:.2f} MB; parity on {result.n} images: "
            f"max |Δp| {result.max_abs_diff:.2g}, top-1 agreement {result.top1_agreement:.1%}"
        )
    output.write_stdout(f"{result.path}\n")
