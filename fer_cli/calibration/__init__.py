"""How far a model's scores can be taken at their word: calibration metrics and temperature scaling.

NumPy only, so ``fer evaluate`` measures calibration in the light install. The
Keras layer that builds a fitted temperature into a model is
`fer_cli.models.temperature`; the reliability diagram (matplotlib) is
`fer_cli.calibration.diagram`.
"""

from fer_cli.calibration.metrics import (
    BINS,
    PROBABILITY_FLOOR,
    ReliabilityBins,
    brier_score,
    expected_calibration_error,
    negative_log_likelihood,
    reliability_bins,
)
from fer_cli.calibration.temperature import TemperatureFit, apply_temperature, fit_temperature, temperature_fit

__all__ = [
    "BINS",
    "PROBABILITY_FLOOR",
    "ReliabilityBins",
    "TemperatureFit",
    "apply_temperature",
    "brier_score",
    "expected_calibration_error",
    "fit_temperature",
    "negative_log_likelihood",
    "reliability_bins",
    "temperature_fit",
]
