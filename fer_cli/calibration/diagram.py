"""The reliability diagram: accuracy per confidence bin against the diagonal of perfect calibration.

Drawn with matplotlib (the ``[plot]`` extra), on its Agg canvas: no window, no
display, and no global backend switched in the caller's process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fer_cli.atomic import atomic_path
from fer_cli.optional import require


def save_reliability_png(report: dict[str, Any], path: Path) -> None:
    """Draw a report's reliability diagram to a PNG, atomically.

    The upper panel has one bar per confidence bin, as high as the accuracy of
    the images in it, over the diagonal a calibrated model would follow (bars
    below it: over-confident); hatched red gaps show how far each bin's mean confidence
    is (a black line marks it). The lower panel counts the images per bin. The
    title gives the ECE.

    Args:
        report: `fer_cli.evaluation.Report.to_dict` output (its ``reliability`` bins,
            ``ece``, ``accuracy``, ``n`` and ``model``).
        path: the PNG to write.
    """
    require("matplotlib", feature="--reliability-png")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    bins = report["reliability"]
    lower = np.array([b["lower"] for b in bins])
    width = np.array([b["upper"] - b["lower"] for b in bins])
    counts = np.array([b["count"] for b in bins])
    accuracy = np.array([b["accuracy"] for b in bins])
    confidence = np.array([b["confidence"] for b in bins])
    filled = counts > 0

    figure = Figure(figsize=(5.5, 6.5), dpi=120, layout="constrained")
    FigureCanvasAgg(figure)
    upper_axes, lower_axes = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    upper_axes.bar(lower[filled], accuracy[filled], width=width[filled], align="edge", color="#4c72b0",
                   edgecolor="white", label="accuracy")
    # Each bin's gap between accuracy and mean confidence (what the ECE adds up, weighted by the counts):
    # hatched, unfilled, so it reads the same above a bar (over-confident) as inside it (under-confident).
    upper_axes.bar(lower[filled], confidence[filled] - accuracy[filled], bottom=accuracy[filled], width=width[filled],
                   align="edge", fill=False, edgecolor="#c44e52", hatch="///", linewidth=0.8, label="gap to mean confidence")
    upper_axes.hlines(confidence[filled], lower[filled], lower[filled] + width[filled], color="black", linewidth=1.5,
                      label="mean confidence")
    upper_axes.plot([0, 1], [0, 1], linestyle="--", color="gray", linewidth=1, label="calibrated")
    upper_axes.set(xlim=(0, 1), ylim=(0, 1), ylabel="accuracy")
    upper_axes.legend(loc="upper left", fontsize="small")
    upper_axes.set_title(f"ECE {report['ece']:.3f} ({len(bins)} bins), accuracy {report['accuracy']:.1%}, n={report['n']}\n"
                         f"{Path(str(report.get('model', ''))).name}", fontsize="medium")
    lower_axes.bar(lower, counts, width=width, align="edge", color="#8c8c8c", edgecolor="white")
    lower_axes.set(xlim=(0, 1), xlabel="top-1 confidence", ylabel="images")
    with atomic_path(Path(path), suffix=".png") as tmp:
        figure.savefig(tmp, format="png")
