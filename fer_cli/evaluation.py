"""Metrics of a model on a labelled split: accuracy, macro-F1, per-class scores, confusion.

One path serves ``fer evaluate`` and any validation after training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fer_cli.errors import DataError


@dataclass
class Report:
    """The result of an evaluation.

    Attributes:
        classes: class names, in the model's output order.
        y_true: true class index per image (model order).
        y_pred: predicted class index per image.
    """

    classes: tuple[str, ...]
    y_true: np.ndarray
    y_pred: np.ndarray
    model: str = ""
    data: str = ""
    split: str = ""
    tta: str = "none"
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON-ready values."""
        from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

        labels = list(range(len(self.classes)))
        precision, recall, f1, support = precision_recall_fscore_support(
            self.y_true, self.y_pred, labels=labels, zero_division=0
        )
        present = support > 0
        return {
            "model": self.model,
            "data": self.data,
            "split": self.split,
            "tta": self.tta,
            "n": int(len(self.y_true)),
            "accuracy": float(accuracy_score(self.y_true, self.y_pred)) if len(self.y_true) else 0.0,
            # Macro over the classes present in the data: an absent class has no F1 to average.
            "macro_f1": float(np.mean(f1[present])) if present.any() else 0.0,
            "classes": list(self.classes),
            "per_class": {
                name: {
                    "precision": float(precision[i]),
                    "recall": float(recall[i]),
                    "f1": float(f1[i]),
                    "support": int(support[i]),
                }
                for i, name in enumerate(self.classes)
            },
            "confusion": confusion_matrix(self.y_true, self.y_pred, labels=labels).tolist(),
            "seconds": round(self.seconds, 3),
        }


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


def evaluate_split(runtime, model_classes: tuple[str, ...], data_classes: tuple[str, ...], images: np.ndarray, labels: np.ndarray) -> Report:
    """Predict every image of a split and compare with its labels.

    Args:
        runtime: a loaded runtime (see `fer_cli.runtimes`).
        model_classes: the model's class names.
        data_classes: the data set's class names.
        images: uint8 (N, 48, 48).
        labels: data class indices (N,).

    Returns:
        The report (metrics are computed by `Report.to_dict`).
    """
    import time

    y_true = map_labels(data_classes, model_classes, labels)
    start = time.perf_counter()
    probabilities = runtime.predict(images.astype(np.float32)[..., None])
    seconds = time.perf_counter() - start
    return Report(classes=model_classes, y_true=y_true, y_pred=probabilities.argmax(axis=1), seconds=seconds)


def save_confusion_png(report: dict[str, Any], path: Path) -> None:
    """Draw the confusion matrix (counts, rows normalised for colour) to a PNG, atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fer_cli.atomic import atomic_path

    matrix = np.array(report["confusion"], dtype=float)
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    classes = report["classes"]
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * len(classes), 0.8 + 0.8 * len(classes)), dpi=120)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, f"{int(matrix[i, j])}\n{share[i, j]:.0%}", ha="center", va="center", fontsize=8,
                    color="white" if share[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"accuracy {report['accuracy']:.1%}, macro-F1 {report['macro_f1']:.3f} (n={report['n']})")
    fig.tight_layout()
    with atomic_path(Path(path), suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
