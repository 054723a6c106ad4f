"""`evaluate`: a model's accuracy, per-class scores, confusion and calibration on labelled data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fer_cli.api.loading import load_model
from fer_cli.evaluation import Report, evaluate_split
from fer_cli.views import TTA


def evaluate(data: str | Path, model: str | Path | None = None, split: str = "test", tta: TTA | str = TTA.none, *,
             on_start: Callable[[int], Callable[[int], None]] | None = None,
             on_export: Callable[[Path], None] | None = None) -> Report:
    """Measure a model on a labelled split: what `fer evaluate` prints.

    The model is loaded (and a ``tta`` it cannot take refused) before any data is decoded.

    Args:
        data: a folder with train/ and test/ (and val/) class folders, a folder of class folders,
            a fer2013.csv, or a .npz cache from `prepare`.
        model: a run folder, a .keras/.onnx/.tflite file, or `None` for the shipped model.
        split: the split to measure; data with one split only is measured on it (see `Report.notes`).
            Defaults to ``test``.
        tta: test-time views averaged at run time: ``none``, ``flip`` or ``crops``. Defaults to ``none``.
        on_start: progress: called with the number of images to decode, returns ``advance(n)``.
        on_export: called with a path when a .keras model's ONNX twin is exported first.

    Returns:
        The `Report`: ``report.to_dict()`` is the JSON `fer evaluate -f json` prints
        (accuracy, macro_f1, per_class, confusion, ece, nll, brier, reliability, ...).

    Example:
        >>> report = fer_cli.evaluate("images/", split="test")  # doctest: +SKIP
        >>> round(report.to_dict()["accuracy"], 3)  # doctest: +SKIP
    """
    from fer_cli.data import load_dataset
    from fer_cli.data.sources import SINGLE_SPLIT

    loaded = load_model(model, tta, on_export)
    dataset = load_dataset(Path(data), on_start=on_start, splits=(split,))
    used, chosen = dataset.split_or_only(split)
    report = evaluate_split(loaded.runtime, loaded.class_names, dataset.class_names, chosen.images, chosen.labels,
                            model=str(loaded.ref.path), data=str(data), split=used, tta=loaded.tta.value,
                            temperature=loaded.card.temperature)
    if used != split and used != SINGLE_SPLIT:
        # Only a folder without split folders stands in silently; a lone train split
        # would otherwise report accuracy on the training data as if it were test.
        report.notes.append(f"no split {split!r} in {data}; evaluating on its only split, {used!r}")
    card = loaded.card
    if (card.input_size, card.channels) != (chosen.images.shape[1], 1):
        report.notes.append(f"the data is {chosen.images.shape[1]}x{chosen.images.shape[2]} gray; the model takes "
                            f"{card.input_size}x{card.input_size} {card.color}: each image was resized"
                            f"{' and copied to 3 channels' if card.channels == 3 else ''}")
    return report
