"""Keras callbacks used by `fer train`, one class per module."""

from fer_cli.training.callbacks.ema_weights import EMAWeights
from fer_cli.training.callbacks.graceful_stop import GracefulStop
from fer_cli.training.callbacks.rich_progress import RichProgress
from fer_cli.training.callbacks.run_checkpoint import RunCheckpoint
from fer_cli.training.callbacks.split_report import SplitReport
from fer_cli.training.callbacks.time_budget import TimeBudget
from fer_cli.training.callbacks.training_curves import TrainingCurves

__all__ = ["EMAWeights", "GracefulStop", "RichProgress", "RunCheckpoint", "SplitReport", "TimeBudget", "TrainingCurves"]
