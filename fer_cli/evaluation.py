"""Metrics of a model on a labelled split: accuracy, macro-F1, per-class scores, confusion, calibration.

One path serves ``fer evaluate`` and any validation after training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fer_cli.calibration import brier_score, negative_log_likelihood, reliability_bins
from fer_cli.errors import DataError


@dataclass
class Report:
    """The result of an evaluation.

    Attributes:
        classes: class names, in the model's output order.
        y_true: true class index per image (model order).
        y_pred: predicted class index per image.
        probabilities: the model's class probabilities (N, classes), for the calibration
            metrics; without them those are `None`.
        temperature: the temperature built into the model (`fer export --calibrate`), if any.
        model, data, split, tta: what was measured on what, as `to_dict` reports it.
        seconds: the time the model took to predict the split.
        notes: what a person should know about the measurement (not part of `to_dict`).
    """

    classes: tuple[str, ...]
    y_true: np.ndarray
    y_pred: np.ndarray
    probabilities: np.ndarray | None = None
    temperature: float | None = None
    model: str = ""
    data: str = ""
    split: str = ""
    tta: str = "none"
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON-ready values."""
        scores = class_scores(self.y_true, self.y_pred, len(self.classes))
        present = scores.support > 0
        scored = self.probabilities is not None
        bins = reliability_bins(self.probabilities, self.y_true) if scored else None
        return {
            "model": self.model,
            "data": self.data,
            "split": self.split,
            "tta": self.tta,
            "temperature": self.temperature,
            "n": int(len(self.y_true)),
            "accuracy": float(np.mean(self.y_true == self.y_pred)) if len(self.y_true) else 0.0,
            # Macro over the classes present in the data: an absent class has no F1 to average.
            "macro_f1": float(np.mean(scores.f1[present])) if present.any() else 0.0,
            "ece": bins.ece if scored else None,
            "nll": negative_log_likelihood(self.probabilities, self.y_true) if scored else None,
            "brier": brier_score(self.probabilities, self.y_true) if scored else None,
            "mean_confidence": (float(self.probabilities.max(axis=1).mean()) if len(self.y_true) else 0.0) if scored else None,
            "classes": list(self.classes),
            "per_class": {
                name: {
                    "precision": float(scores.precision[i]),
                    "recall": float(scores.recall[i]),
                    "f1": float(scores.f1[i]),
                    "support": int(scores.support[i]),
                }
                for i, name in enumerate(self.classes)
            },
            "confusion": scores.confusion.tolist(),
            "reliability": bins.to_list() if scored else None,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class ClassScores:
    """Per-class scores of a single-label classification, indexed by class.

    Attributes:
        precision: true positives over predicted positives (float64; 0 where nothing was predicted).
        recall: true positives over actual positives (0 where the class is absent from the data).
        f1: 2·TP / (actual + predicted), their harmonic mean (0 where both are 0).
        support: how many samples have the class as their true label.
        confusion: (k, k) counts; row = true class, column = predicted class.
    """

    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    confusion: np.ndarray


def class_scores(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> ClassScores:
    """Precision, recall, F1, support and the confusion matrix of classes ``0 .. num_classes-1``.

    The same numbers, bit for bit, as scikit-learn's
    ``precision_recall_fscore_support(..., labels=range(k), zero_division=0)`` and
    ``confusion_matrix(..., labels=range(k))``, in NumPy: prediction and evaluation
    run in the light install, which has no scikit-learn. Labels outside the range
    are left out, as scikit-learn's ``labels=`` does.

    Args:
        y_true: true class index per sample.
        y_pred: predicted class index per sample.
        num_classes: k, the number of classes.

    Returns:
        The scores.
    """
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    k = num_classes
    true_ok, pred_ok = (y_true >= 0) & (y_true < k), (y_pred >= 0) & (y_pred < k)
    true_sum = np.bincount(y_true[true_ok], minlength=k)
    pred_sum = np.bincount(y_pred[pred_ok], minlength=k)
    tp_sum = np.bincount(y_true[true_ok & (y_true == y_pred)], minlength=k)
    both = true_ok & pred_ok
    confusion = np.bincount(y_true[both] * k + y_pred[both], minlength=k * k).reshape(k, k)
    return ClassScores(
        precision=_divide(tp_sum, pred_sum),
        recall=_divide(tp_sum, true_sum),
        # scikit-learn's F-beta for beta = 1, from the counts: (1 + 1)·TP / (1·actual + predicted).
        f1=_divide(2.0 * tp_sum, 1.0 * true_sum + pred_sum),
        support=true_sum,
        confusion=confusion,
    )


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator as float64, 0 where the denominator is 0 (scikit-learn's ``zero_division=0``)."""
    denominator = np.asarray(denominator, dtype=np.float64)
    return np.divide(np.asarray(numerator, dtype=np.float64), denominator, out=np.zeros_like(denominator), where=denominator != 0)


def map_labels(data_classes: tuple[str, ...], model_classes: tuple[str, ...], labels: np.ndarray) -> np.ndarray:
    """Re-index data labels into the model's class order, matching by name.

    Raises:
        DataError: when the data holds a class the model does not know (naming both sets).
    """
    unknown = [name for name in data_classes if name not in model_classes]
    used = set(np.unique(labels).tolist())
    unknown = [name for name in unknown if data_classes.index(name) in used]
    if unknown:
        raise DataError(
            f"the data has class(es) {', '.join(unknown)} that the model does not predict; "
            f"data classes: {', '.join(data_classes)}; model classes: {', '.join(model_classes)}"
        )
    table = np.array([model_classes.index(n) if n in model_classes else -1 for n in data_classes])
    return table[labels]


def evaluate_split(runtime, model_classes: tuple[str, ...], data_classes: tuple[str, ...], images: np.ndarray,
                   labels: np.ndarray, **about: str | float | None) -> Report:
    """Predict every image of a split and compare its labels with the top class and with the scores.

    Args:
        runtime: a loaded runtime (see `fer_cli.runtimes`); images are fitted to its ``card`` where it has one.
        model_classes: the model's class names.
        data_classes: the data set's class names.
        images: uint8 (N, H, W) gray.
        labels: data class indices (N,).
        about: the `Report` fields that say what was measured: model, data, split, tta, temperature.

    Returns:
        The report (metrics are computed by `Report.to_dict`).
    """
    import time

    y_true = map_labels(data_classes, model_classes, labels)
    card = getattr(runtime, "card", None)
    start = time.perf_counter()
    from fer_cli.imaging import fit_images

    probabilities = runtime.predict(fit_images(images, card.input_size, card.channels) if card else
                                    images.astype(np.float32)[..., None])
    seconds = time.perf_counter() - start
    return Report(classes=model_classes, y_true=y_true, y_pred=probabilities.argmax(axis=1), probabilities=probabilities,
                  seconds=seconds, **about)


def save_confusion_png(report: dict[str, Any], path: Path) -> None:
    """Draw the confusion matrix (counts, rows normalised for colour) to a PNG, atomically.

    Drawn with Pillow, which the light install has anyway: matplotlib and its fonts
    would add about 80 MB to it for this one picture.

    Args:
        report: `Report.to_dict` output.
        path: the PNG to write.
    """
    from PIL import Image, ImageDraw, ImageFont

    from fer_cli.atomic import atomic_path

    matrix = np.array(report["confusion"], dtype=float)
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    classes = [str(name) for name in report["classes"]]
    font, small = ImageFont.load_default(size=15), ImageFont.load_default(size=12)
    measure = ImageDraw.Draw(Image.new("L", (1, 1)))
    label_width = max((measure.textlength(name, font=font) for name in classes), default=0)
    cell, pad = 64, 12
    title = f"accuracy {report['accuracy']:.1%}, macro-F1 {report['macro_f1']:.3f} (n={report['n']})"
    left, top = int(pad + 20 + label_width + 8), 2 * pad + 20
    grid = cell * len(classes)
    width = max(left + grid + pad, int(measure.textlength(title, font=font)) + 2 * pad)
    height = int(top + grid + 8 + label_width + 20 + pad)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((width / 2, pad), title, fill="black", font=font, anchor="mt")
    for i, name in enumerate(classes):
        draw.text((left - 8, top + i * cell + cell / 2), name, fill="black", font=font, anchor="rm")
        for j in range(len(classes)):
            x, y = left + j * cell, top + i * cell
            draw.rectangle((x, y, x + cell - 1, y + cell - 1), fill=_blues(share[i, j]))
            ink = "white" if share[i, j] > 0.5 else "black"
            draw.text((x + cell / 2, y + cell / 2), f"{int(matrix[i, j])}\n{share[i, j]:.0%}", fill=ink, font=small,
                      anchor="mm", align="center")
    # Column names run downwards under their columns, as rotated text (Pillow draws only horizontal text).
    for j, name in enumerate(classes):
        box = Image.new("L", (int(label_width) + 4, 20), 0)
        ImageDraw.Draw(box).text((box.width - 2, 10), name, fill=255, font=font, anchor="rm")
        turned = box.rotate(90, expand=True)
        image.paste("black", (int(left + j * cell + cell / 2 - 10), top + grid + 8), turned)
    draw.text((left + grid / 2, height - pad), "predicted", fill="black", font=font, anchor="mb")
    turned = Image.new("L", (60, 20), 0)
    ImageDraw.Draw(turned).text((30, 10), "true", fill=255, font=font, anchor="mm")
    turned = turned.rotate(90, expand=True)
    image.paste("black", (pad - 6, int(top + grid / 2 - 30)), turned)
    with atomic_path(Path(path), suffix=".png") as tmp:
        image.save(tmp, format="PNG")


# matplotlib's "Blues" (ColorBrewer), at 0, 1/8, ..., 1: the colours of the confusion PNGs fer drew before.
_BLUES = np.array([
    (247, 251, 255), (222, 235, 247), (198, 219, 239), (158, 202, 225), (107, 174, 214),
    (66, 146, 198), (33, 113, 181), (8, 81, 156), (8, 48, 107),
], dtype=float)


def _blues(value: float) -> tuple[int, int, int]:
    """White to dark blue for 0..1, as matplotlib's "Blues" colour map."""
    stops = np.linspace(0, 1, len(_BLUES))
    return tuple(int(round(np.interp(float(np.clip(value, 0, 1)), stops, _BLUES[:, c]))) for c in range(3))
