"""Calibration metrics of class probabilities: expected calibration error, negative log-likelihood, Brier score.

A model is calibrated when its scores are frequencies: of the answers given with
confidence 0.8, 80% are right. Accuracy says nothing about that; these three do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BINS = 15  # equal-width confidence bins, as in Guo et al. (2017), "On Calibration of Modern Neural Networks"
# Probabilities are clipped to this before their logarithm is taken: a float32 softmax rounds
# scores below about 1e-45 to exactly 0, and log(0) would make one such image's NLL infinite.
PROBABILITY_FLOOR = 1e-12


@dataclass(frozen=True)
class ReliabilityBins:
    """Top-1 confidence against accuracy, in equal-width confidence bins.

    Attributes:
        edges: the bin edges, 0 to 1 (bins + 1 values); bin ``b`` holds confidences in
            ``(edges[b], edges[b + 1]]`` (the first bin also holds 0).
        counts: how many images fall in each bin.
        accuracy: the share of those images whose top-1 class is right (0 for an empty bin).
        confidence: their mean top-1 confidence (0 for an empty bin).
    """

    edges: np.ndarray
    counts: np.ndarray
    accuracy: np.ndarray
    confidence: np.ndarray

    @property
    def ece(self) -> float:
        """Expected calibration error: the count-weighted mean of |accuracy − confidence| over the bins."""
        total = int(self.counts.sum())
        if total == 0:
            return 0.0
        return float(np.sum(self.counts / total * np.abs(self.accuracy - self.confidence)))

    def to_list(self) -> list[dict[str, float | int]]:
        """One JSON-ready record per bin: lower, upper, count, accuracy, confidence."""
        return [
            {"lower": float(self.edges[b]), "upper": float(self.edges[b + 1]), "count": int(self.counts[b]),
             "accuracy": float(self.accuracy[b]), "confidence": float(self.confidence[b])}
            for b in range(len(self.counts))
        ]


def _checked(probabilities: np.ndarray, y_true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probabilities = np.asarray(probabilities, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.int64)
    if probabilities.ndim != 2 or len(probabilities) != len(y_true):
        raise ValueError(f"probabilities of shape {probabilities.shape} for {len(y_true)} labels; expected (N, classes)")
    if len(y_true) and (y_true.min() < 0 or y_true.max() >= probabilities.shape[1]):
        raise ValueError(f"labels must be class indices in 0..{probabilities.shape[1] - 1}")
    return probabilities, y_true


def reliability_bins(probabilities: np.ndarray, y_true: np.ndarray, bins: int = BINS) -> ReliabilityBins:
    """Sort images into equal-width bins of top-1 confidence; per bin, count them and measure accuracy and confidence.

    Args:
        probabilities: class probabilities (N, classes).
        y_true: true class index per image (N,).
        bins: how many bins split [0, 1]. Defaults to `15`.

    Returns:
        The bins.
    """
    probabilities, y_true = _checked(probabilities, y_true)
    edges = np.linspace(0.0, 1.0, bins + 1)
    confidence = probabilities.max(axis=1) if len(probabilities) else np.zeros(0)
    right = (probabilities.argmax(axis=1) == y_true) if len(probabilities) else np.zeros(0, dtype=bool)
    # Right-closed bins: a confidence exactly on an edge belongs to the bin below it.
    index = np.searchsorted(edges[1:-1], confidence, side="left")
    counts = np.bincount(index, minlength=bins)
    filled = counts > 0
    accuracy = np.zeros(bins)
    mean_confidence = np.zeros(bins)
    accuracy[filled] = np.bincount(index, weights=right.astype(np.float64), minlength=bins)[filled] / counts[filled]
    mean_confidence[filled] = np.bincount(index, weights=confidence, minlength=bins)[filled] / counts[filled]
    return ReliabilityBins(edges, counts, accuracy, mean_confidence)


def expected_calibration_error(probabilities: np.ndarray, y_true: np.ndarray, bins: int = BINS) -> float:
    """Expected calibration error (ECE) of the top-1 confidence.

    The sum over equal-width confidence bins of (share of images in the bin) ×
    |accuracy in the bin − mean confidence in the bin|. 0 for a calibrated model;
    a model that says 0.9 and is right 70% of the time scores 0.2.

    Args:
        probabilities: class probabilities (N, classes).
        y_true: true class index per image (N,).
        bins: how many bins split [0, 1]. Defaults to `15`.

    Returns:
        The ECE, in [0, 1]; 0 for no images.
    """
    return reliability_bins(probabilities, y_true, bins).ece


def negative_log_likelihood(probabilities: np.ndarray, y_true: np.ndarray) -> float:
    """Mean negative log-likelihood of the true class: mean of −log p(true class).

    The cross-entropy a model is trained to lower; it punishes confident mistakes
    without bound, so probabilities are clipped to `PROBABILITY_FLOOR` first.

    Args:
        probabilities: class probabilities (N, classes).
        y_true: true class index per image (N,).

    Returns:
        The NLL in nats (0 for a model certain and always right); 0 for no images.
    """
    probabilities, y_true = _checked(probabilities, y_true)
    if len(y_true) == 0:
        return 0.0
    true_class = probabilities[np.arange(len(y_true)), y_true]
    return float(-np.mean(np.log(np.clip(true_class, PROBABILITY_FLOOR, 1.0))))


def brier_score(probabilities: np.ndarray, y_true: np.ndarray) -> float:
    """Multi-class Brier score: the mean over images of the sum over classes of (p − one-hot)².

    Args:
        probabilities: class probabilities (N, classes).
        y_true: true class index per image (N,).

    Returns:
        The score, in [0, 2] (0 for a model certain and always right; 2 for one certain
        and always wrong); 0 for no images.
    """
    probabilities, y_true = _checked(probabilities, y_true)
    if len(y_true) == 0:
        return 0.0
    one_hot = np.zeros_like(probabilities)
    one_hot[np.arange(len(y_true)), y_true] = 1.0
    return float(np.mean(np.sum((probabilities - one_hot) ** 2, axis=1)))
