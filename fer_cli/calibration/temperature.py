"""Temperature scaling (Guo et al. 2017): one number, fitted on held-out data, that makes scores mean what they say.

Training with label smoothing or mixup, and averaging views or models, leave a
network's probabilities too soft (or, without them, too sharp). Dividing its
log-probabilities by a temperature T and taking the softmax again,

    p_T = softmax(log(p) / T),   i.e. p_T ∝ p^(1/T),

moves every score toward certainty (T < 1) or doubt (T > 1) without changing
which class is on top, so accuracy stays as it was. For one network this is
the usual scaling of its logits (log p is the logits up to a constant per image,
which the softmax ignores); for averaged views or models it scales the averaged
probabilities the same way. T is the one that minimises the negative
log-likelihood on a validation split.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from fer_cli.calibration.metrics import (
    PROBABILITY_FLOOR,
    expected_calibration_error,
    negative_log_likelihood,
)

# The fitted temperature stays in this range. A validation split the model gets all right
# (tiny or leaked data) would otherwise drive T toward 0 without end.
TEMPERATURE_RANGE = (0.05, 20.0)


def log_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """log(p) in float64, with p floored at `PROBABILITY_FLOOR` so a zero gives a finite value."""
    return np.log(np.clip(np.asarray(probabilities, dtype=np.float64), PROBABILITY_FLOOR, None))


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Rescale class probabilities by a temperature: softmax(log(p) / T), as `fer_cli.models.temperature.Temperature` does.

    Args:
        probabilities: class probabilities (N, classes).
        temperature: T > 0; 1 leaves the probabilities as they are.

    Returns:
        The rescaled probabilities (float64), in the same order of classes.
    """
    if not temperature > 0:
        raise ValueError(f"a temperature must be positive, not {temperature}")
    scaled = log_probabilities(probabilities) / temperature
    scaled -= scaled.max(axis=1, keepdims=True) if len(scaled) else 0.0
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_temperature(probabilities: np.ndarray, y_true: np.ndarray, bounds: tuple[float, float] = TEMPERATURE_RANGE) -> float:
    """The temperature that minimises the negative log-likelihood of ``apply_temperature(probabilities, T)``.

    The NLL is convex in β = 1/T (a log-sum-exp of lines in β, minus a line), so
    its derivative, mean over images of E_{p_T}[log p] − log p(true class), rises
    with β and has one zero: bisection finds it, to about 1e-12 relative, in a
    fixed number of steps. Needs no SciPy.

    Args:
        probabilities: class probabilities (N, classes) of a validation split.
        y_true: true class index per image (N,).
        bounds: the lowest and highest temperature allowed. Defaults to `(0.05, 20.0)`.

    Returns:
        T within `bounds`; 1.0 for no images, or when the scores say nothing (every row uniform).
    """
    logs = log_probabilities(probabilities)
    y_true = np.asarray(y_true, dtype=np.int64)
    if logs.ndim != 2 or len(logs) != len(y_true):
        raise ValueError(f"probabilities of shape {logs.shape} for {len(y_true)} labels; expected (N, classes)")
    if len(y_true) == 0 or np.ptp(logs, axis=1).max() == 0.0:
        return 1.0  # no images, or every row uniform: no temperature changes these scores
    true_logs = logs[np.arange(len(y_true)), y_true]

    def slope(beta: float) -> float:
        scaled = beta * logs
        scaled -= scaled.max(axis=1, keepdims=True)
        weights = np.exp(scaled)
        weights /= weights.sum(axis=1, keepdims=True)
        return float(np.mean(np.sum(weights * logs, axis=1) - true_logs))

    low, high = math.log(1.0 / bounds[1]), math.log(1.0 / bounds[0])  # log β; β = 1/T
    if slope(math.exp(low)) >= 0.0:
        return bounds[1]
    if slope(math.exp(high)) <= 0.0:
        return bounds[0]
    for _ in range(60):
        middle = (low + high) / 2
        if slope(math.exp(middle)) < 0.0:
            low = middle
        else:
            high = middle
    return 1.0 / math.exp((low + high) / 2)


@dataclass(frozen=True)
class TemperatureFit:
    """A fitted temperature and what it did to the split it was fitted on.

    Attributes:
        temperature: T.
        images: how many images it was fitted on.
        accuracy_before: top-1 accuracy there without the temperature.
        accuracy_after: with it (the same: T keeps the top class of every image).
        nll_before: negative log-likelihood without the temperature.
        nll_after: with it (never higher: T = 1 was among the candidates).
        ece_before: expected calibration error (15 bins) without it.
        ece_after: with it.
    """

    temperature: float
    images: int
    accuracy_before: float
    accuracy_after: float
    nll_before: float
    nll_after: float
    ece_before: float
    ece_after: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    def summary(self) -> str:
        """One line for people: T and the NLL and ECE before → after."""
        accuracy = (f"{self.accuracy_after:.2%} (unchanged)" if self.accuracy_after == self.accuracy_before
                    else f"{self.accuracy_before:.2%} → {self.accuracy_after:.2%}")
        return (f"temperature {self.temperature:.3f} fitted on {self.images} images: NLL {self.nll_before:.4f} → "
                f"{self.nll_after:.4f}, ECE {self.ece_before:.4f} → {self.ece_after:.4f}, accuracy {accuracy}")


def temperature_fit(probabilities: np.ndarray, y_true: np.ndarray) -> TemperatureFit:
    """Fit a temperature on (probabilities, labels) and measure NLL and ECE before and after.

    Args:
        probabilities: class probabilities (N, classes), without any temperature.
        y_true: true class index per image (N,).

    Returns:
        The fit.
    """
    temperature = fit_temperature(probabilities, y_true)
    scaled = apply_temperature(probabilities, temperature)
    y_true = np.asarray(y_true, dtype=np.int64)
    return TemperatureFit(
        temperature=temperature,
        images=int(len(y_true)),
        accuracy_before=_accuracy(probabilities, y_true),
        accuracy_after=_accuracy(scaled, y_true),
        nll_before=negative_log_likelihood(probabilities, y_true),
        nll_after=negative_log_likelihood(scaled, y_true),
        ece_before=expected_calibration_error(probabilities, y_true),
        ece_after=expected_calibration_error(scaled, y_true),
    )


def _accuracy(probabilities: np.ndarray, y_true: np.ndarray) -> float:
    return float(np.mean(np.asarray(probabilities).argmax(axis=1) == y_true)) if len(y_true) else 0.0
