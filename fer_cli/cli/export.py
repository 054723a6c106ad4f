"""``fer export``: convert a model for another runtime and check it still agrees."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from fer_cli import output
from fer_cli.cli.error_handling import handle_errors
from fer_cli.cli.options import QuietOpt
from fer_cli.errors import UsageError
from fer_cli.optional import check
from fer_cli.views import TTA

# Mirrors fer_cli.export.FORMATS (kept free of heavy imports for --help); a test checks they match.
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
    quantize: Annotated[Quantize, typer.Option("--quantize", help="Weight quantization (onnx: none, int8; tflite: none, float16, int8).", case_sensitive=False)] = Quantize.none,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output path.", show_default="beside the model, e.g. runs/train/best.onnx")] = None,
    tta: Annotated[
        TTA, typer.Option("--tta", help="Build test-time augmentation into the export: average over the mirror image (flip) or 10 mirrored and shifted views (crops).", case_sensitive=False)
    ] = TTA.none,
    data: Annotated[Optional[Path], typer.Option("--data", help="Real images for int8 calibration and the parity check (folder, csv or .npz); synthetic images otherwise.", show_default=False)] = None,
    quiet: QuietOpt = False,
) -> None:
    """Export a Keras model to keras, savedmodel, onnx or tflite (through a SavedModel), then check parity:
    the export and the Keras model must agree on a batch of inputs (max |Δ probability| and top-1 agreement).

    Several models become one model that averages their probabilities (an
    ensemble); --tta builds test-time views into it, so every runtime gets what
    fer predict --tta gives. Prints the exported path on stdout.

    [bold]Examples[/bold]

      fer export runs/train --format onnx

      fer export --format tflite --quantize int8 --data images/ -o fer-int8.tflite

      fer export runs/a runs/b --tta flip --format keras -o ensemble.keras
    """
    # Before any model is loaded: the light install stops here with what to install.
    check("tensorflow", "keras", *(("tf2onnx", "onnx") if fmt.value == "onnx" else ()), feature="fer export")
    from fer_cli.export import export_model
    from fer_cli.runtimes.resolve import DEFAULT_MODEL, resolve_model

    refs = [resolve_model(m) for m in models] if models else [resolve_model(None)]
    for ref in refs:
        if ref.format != "keras":
            raise UsageError(f"{ref.path} is already exported ({ref.format}); export from a run folder or a .keras file")
    class_names = refs[0].class_names
    for ref in refs[1:]:
        if ref.class_names != class_names:
            raise UsageError(
                f"only models of the same classes can be combined: {refs[0].path} predicts {', '.join(class_names)}; "
                f"{ref.path} predicts {', '.join(ref.class_names)}"
            )
    sample = _sample(data, quiet) if data else None
    result = export_model(
        [ref.path for ref in refs], class_names, fmt.value, quantize.value, out, sample=sample,
        shipped=refs[0].path == DEFAULT_MODEL, tta=tta.value,
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
