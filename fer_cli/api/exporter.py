"""`export`: convert models for other runtimes (one model from several, views and a temperature built in), checked for parity."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from fer_cli.errors import UsageError
from fer_cli.optional import check
from fer_cli.views import TTA


def export(models: Sequence[str | Path] | str | Path | None = None, format: str = "onnx", *, quantize: str = "none",
           out: str | Path | None = None, tta: TTA | str = TTA.none, data: str | Path | None = None,
           calibrate: bool = False, calibration_data: str | Path | None = None, calibration_split: str | None = None,
           val_split: float | None = None, split_seed: int | None = None,
           on_start: Callable[[int], Callable[[int], None]] | None = None, notes: list[str] | None = None):
    """Export models to `format`, then check the export agrees with them: what `fer export` does. Needs ``[train]``.

    Args:
        models: run folders or .keras files (several: one model that averages them); `None` for the shipped model.
        format: ``keras``, ``savedmodel``, ``onnx`` or ``tflite``. Defaults to ``onnx``.
        quantize: ``none``, ``float16`` or ``int8`` where the format allows. Defaults to ``none``.
        out: the output path. Defaults to beside the model (e.g. runs/train/best.onnx).
        tta: test-time views built into the export: ``none``, ``flip``, ``crops``. Defaults to ``none``.
        data: real images for int8 ranges and the parity check (synthetic ones otherwise).
        calibrate: fit a temperature on validation images and build it in.
        calibration_data, calibration_split, val_split, split_seed: where --calibrate's
            validation images come from (see docs/export.md). Defaults to the source runs' own.
        on_start: progress of decoding: called with the number of images, returns ``advance(n)``.
        notes: a list that gets what a person should know (which images calibrated it, ...).

    Returns:
        The `ExportResult`: ``path``, ``bytes``, parity (``max_abs_diff``, ``top1_agreement``, ``n``),
        ``calibration`` and ``unpacked``.
    """
    format = getattr(format, "value", format)
    quantize = getattr(quantize, "value", quantize)
    notes = notes if notes is not None else []
    # Before any model is loaded: the light install stops here with what to install.
    check("tensorflow", "keras", *(("tf2onnx", "onnx") if format == "onnx" else ()), feature="fer export")
    if not calibrate and (calibration_data or calibration_split or val_split is not None or split_seed is not None):
        raise UsageError("--calibration-data, --calibration-split, --val-split and --split-seed go with --calibrate")
    from fer_cli.exporting.exporter import export_model
    from fer_cli.runtimes.resolve import DEFAULT_MODEL, resolve_model

    names = [models] if isinstance(models, (str, Path)) else list(models or [])
    refs = [resolve_model(m) for m in names] if names else [resolve_model(None)]
    class_names = _same_classes(refs)
    held_out = None
    if calibrate:
        held_out = _calibration_images([str(m) for m in names], Path(calibration_data) if calibration_data else None,
                                       calibration_split, val_split, split_seed, class_names, on_start, notes)
    sample = _sample(Path(data), on_start) if data else None
    result = export_model(
        [ref.path for ref in refs], class_names, format, quantize, Path(out) if out else None, sample=sample,
        shipped=refs[0].path == DEFAULT_MODEL, tta=TTA(tta).value, calibration=held_out,
    )
    for source in result.unpacked:
        notes.append(f"{source}: its own views, averaging and temperature are left out; its networks join the export")
    if result.calibration is not None:
        notes.append(result.calibration.summary())
    return result


def _same_classes(refs) -> tuple[str, ...]:
    """The class names the models share, in order; several models of other classes are refused."""
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
    return class_names


def _calibration_images(models: list[str], calibration_data: Path | None, split: str | None, val_split: float | None,
                        split_seed: int | None, class_names: tuple[str, ...], on_start, notes: list[str]):
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
    if split == "test":
        notes.append("calibrating on the test split: scores measured on it afterwards will look better than they are")
    if val_split is not None:
        check("sklearn", feature="--val-split")
    elif calibration_data is None:
        check("sklearn", feature="--calibrate")
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
    notes.append(f"calibrating on {chosen.description}")
    labels = map_labels(chosen.dataset.class_names, class_names, chosen.labels)
    return chosen.images.astype("float32")[..., None], labels


def _sample(data: Path, on_start):
    import numpy as np

    from fer_cli.data import load_dataset

    dataset = load_dataset(data, on_start=on_start)
    images = np.concatenate([s.images for s in dataset.splits.values()])
    pick = np.random.default_rng(0).permutation(len(images))[:256]
    return images[pick].astype(np.float32)[..., None]
