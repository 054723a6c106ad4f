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
    # Before any model is loaded: the light install stops here with what to install.
    check("tensorflow", "keras", *(("tf2onnx", "onnx") if fmt.value == "onnx" else ()), feature="fer export")
    if not calibrate and (calibration_data or calibration_split or val_split is not None or split_seed is not None):
        raise UsageError("--calibration-data, --calibration-split, --val-split and --split-seed go with --calibrate")
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
    held_out = None
    if calibrate:
        held_out = _calibration_images(models or [], calibration_data, calibration_split, val_split, split_seed, class_names, quiet)
    sample = _sample(data, quiet) if data else None
    result = export_model(
        [ref.path for ref in refs], class_names, fmt.value, quantize.value, out, sample=sample,
        shipped=refs[0].path == DEFAULT_MODEL, tta=tta.value, calibration=held_out,
    )
    if not quiet:
        for source in result.unpacked:
            output.info(f"{source}: its own views, averaging and temperature are left out; its networks join the export")
        if result.calibration is not None:
            output.info(result.calibration.summary())
        output.info(
            f"exported {fmt.value} ({quantize.value}) to {result.path}, {result.bytes / 1e6:.2f} MB; parity on {result.n} images: "
            f"max |Δp| {result.max_abs_diff:.2g}, top-1 agreement {result.top1_agreement:.1%}"
        )
    output.write_stdout(f"{result.path}\n")


def _calibration_images(models: list[str], calibration_data: Optional[Path], split: Optional[str], val_split: Optional[float],
                        split_seed: Optional[int], class_names: tuple[str, ...], quiet: bool):
    """The validation images (float32, N×48×48×1) and labels (model class order) that --calibrate fits on."""
    from fer_cli.errors import DataError
    from fer_cli.evaluation import map_labels
    from fer_cli.training import validation_split as held
    from fer_cli.training.run_dir import is_run_dir

    if split_seed is not None and val_split is None:
        raise UsageError("--split-seed goes with --val-split")
    if split is not None and val_split is not None:
        raise UsageError("give --calibration-split or --val-split, not both")
    runs = [Path(m) for m in models]
    if calibration_data is None and (not runs or not all(run.is_dir() for run in runs)):
        model_file = next((m for m in models if not Path(m).is_dir()), "the shipped model")
        raise UsageError(
            f"--calibrate needs validation images for {model_file}: add --calibration-data RUN_FOLDER, or --calibration-data "
            "DATA with a val split (or --calibration-split NAME, or --val-split F --split-seed S as the model was trained)"
        )
    if calibration_data is not None and is_run_dir(calibration_data):
        if split is not None or val_split is not None:
            raise UsageError(f"{calibration_data} is a run folder: its config fixes the validation split; drop --calibration-split/--val-split")
        runs, calibration_data = [calibration_data], None
    if split == "test" and not quiet:
        output.warn("calibrating on the test split: scores measured on it afterwards will look better than they are")
    if val_split is not None:
        check("sklearn", feature="--val-split")
    elif calibration_data is None:
        check("sklearn", feature="--calibrate")
    with output.counting_progress("decoding", quiet) as on_start:
        if calibration_data is None:
            chosen = held.runs_validation(runs, on_start=on_start)
        elif val_split is not None:
            chosen = held.training_validation(calibration_data, val_split, split_seed or 0, on_start=on_start)
        else:
            try:
                chosen = held.named_split(calibration_data, split or "val", on_start=on_start)
            except DataError as exc:
                if split is not None or not Path(calibration_data).exists():
                    raise  # the hint below is for data that lacks a val split, not for a wrong path
                raise UsageError(f"{exc}: name one with --calibration-split NAME, or hold out the share of train that the "
                                 "model's run held out with --val-split F --split-seed S") from exc
    if not quiet:
        output.info(f"calibrating on {chosen.description}")
    labels = map_labels(chosen.dataset.class_names, class_names, chosen.labels)
    return chosen.images.astype("float32")[..., None], labels


def _sample(data: Path, quiet: bool):
    import numpy as np

    from fer_cli.data import load_dataset

    with output.counting_progress("decoding", quiet) as on_start:
        dataset = load_dataset(data, on_start=on_start)
    images = np.concatenate([s.images for s in dataset.splits.values()])
    pick = np.random.default_rng(0).permutation(len(images))[:256]
    return images[pick].astype(np.float32)[..., None]
