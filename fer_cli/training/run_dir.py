"""Run folders: ``RUNS_DIR/NAME``, auto-numbered so no run overwrites another."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from fer_cli.errors import UsageError

CONFIG_FILE = "config.yaml"
HISTORY_FILE = "history.csv"
CLASSES_FILE = "classes.json"
BEST_MODEL = "best.keras"
LAST_MODEL = "last.keras"
STATE_FILE = "state.json"
DATA_FILE = "data.json"
CURVES_FILE = "curves.png"
TENSORBOARD_DIR = "tensorboard"

_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def new_run_dir(runs_dir: Path, name: str | None) -> Path:
    """Create and return a fresh run folder: ``NAME``, else ``NAME2``, ``NAME3``...

    Args:
        runs_dir: the parent folder (created if missing).
        name: the run name. Defaults to ``train``.

    Raises:
        UsageError: for a name that is not a plain folder name.
    """
    name = name or "train"
    if not _NAME.match(name) or name in {".", ".."}:
        raise UsageError(f"run name {name!r} must be a plain folder name (letters, digits, . _ -)")
    runs_dir.mkdir(parents=True, exist_ok=True)
    for number in range(1, 100_000):
        candidate = runs_dir / (name if number == 1 else f"{name}{number}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise UsageError(f"too many runs named {name!r} in {runs_dir}")


def is_run_dir(path: Path) -> bool:
    """Whether `path` is a run folder (it holds the resolved config)."""
    return path.is_dir() and (path / CONFIG_FILE).is_file()


def read_history(path: Path) -> list[dict[str, float]]:
    """Rows of a ``history.csv`` (one per finished epoch), or [] when there is none."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [{k: int(float(v)) if k == "epoch" else float(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def join_histories(stages: list[list[dict[str, float]]]) -> list[dict[str, float]]:
    """Histories of successive runs (each started from the one before with ``--init-weights``) as one:
    epochs and wall-clock seconds carry on from the stage before, so the clock counts the whole recipe."""
    rows: list[dict[str, float]] = []
    for stage in stages:
        epochs, seconds = (rows[-1]["epoch"], rows[-1].get("seconds", 0.0)) if rows else (0.0, 0.0)
        rows += [{**row, "epoch": row["epoch"] + epochs, "seconds": row.get("seconds", 0.0) + seconds} for row in stage]
    return rows


WORKERS_DIR = "workers"


def worker_dir(run_dir: Path, worker_id: str) -> Path:
    """Where a worker other than the chief keeps its own checkpoints of a multi-worker run.

    Inside the run folder, so that on a disk every machine shares it clobbers
    nothing of the chief's, and on separate disks each machine has its own.
    """
    return run_dir / WORKERS_DIR / worker_id


def cluster_run_dir(runs_dir: Path, name: str | None) -> Path:
    """The run folder of a fresh multi-worker run: ``RUNS_DIR/NAME`` exactly, never renumbered,
    because workers on other machines must find the same name without asking the chief.

    Raises:
        UsageError: for a bad name, or a folder that already holds a run.
    """
    name = name or "train"
    if not _NAME.match(name) or name in {".", ".."}:
        raise UsageError(f"run name {name!r} must be a plain folder name (letters, digits, . _ -)")
    return runs_dir / name
