"""Keras callbacks used by `fer train`, one class per module."""

from fer_cli.training.callbacks.graceful_stop import GracefulStop
from fer_cli.training.callbacks.rich_progress import RichProgress
from fer_cli.training.callbacks.run_checkpoint import RunCheckpoint

__all__ = ["GracefulStop", "RichProgress", "RunCheckpoint"]
