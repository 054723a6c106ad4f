"""Draws a run's loss and accuracy curves (train and validation) to ``curves.png`` after each epoch."""

from __future__ import annotations

from pathlib import Path

from fer_cli.tf_env import keras as _keras
from fer_cli.training.run_dir import CURVES_FILE, HISTORY_FILE

keras = _keras()  # the TensorFlow backend, imported quietly; this module is only loaded by training


def plot_history(history: Path, out: Path) -> None:
    """Plot the columns of a ``history.csv`` to a PNG (written atomically).

    Args:
        history: the run's history file.
        out: the PNG to write.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fer_cli.atomic import atomic_path
    from fer_cli.training.run_dir import read_history

    rows = read_history(history)
    if not rows:
        return
    epochs = [row["epoch"] for row in rows]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    for key, style in (("loss", "-"), ("val_loss", "--")):
        if key in rows[0]:
            loss_ax.plot(epochs, [row.get(key) for row in rows], style, label=key)
    for key in [k for k in rows[0] if k.endswith("accuracy")]:
        acc_ax.plot(epochs, [row.get(key) for row in rows], "--" if key != "accuracy" else "-", label=key)
    for ax, title in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


class TrainingCurves(keras.callbacks.Callback):
    """Redraws ``curves.png`` in the run folder from ``history.csv`` at each epoch end.

    Place it after `RunCheckpoint`, which writes the history.

    Args:
        run_dir: the run folder.
    """

    def __init__(self, run_dir: Path):
        super().__init__()
        self.run_dir = Path(run_dir)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        plot_history(self.run_dir / HISTORY_FILE, self.run_dir / CURVES_FILE)
