"""Time-to-accuracy of a training run (in the spirit of DAWNBench), from its history.csv.

Usage: python benchmarks/time_to_accuracy.py RUN_DIR [RUN_DIR...] [--targets 0.65 0.70] [--plot out.png]

A run trained with `report_split: test` logs, after every epoch, the wall-clock
seconds so far (`seconds`), validation accuracy (`val_accuracy`) and test
accuracy (`test_accuracy`). This prints, per target, the first epoch and time
at which each reached it, as JSON, and optionally plots accuracy against time.

Several run folders are the stages of one training, in order (each started
with `--init-weights` from the one before): their epochs and seconds are
joined end to end, so the clock counts the whole recipe.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fer_cli.training.run_dir import join_histories, read_history


def first_reaching(rows: list[dict], key: str, target: float) -> dict | None:
    for row in rows:
        if row.get(key, 0.0) >= target:
            return {"epoch": int(row["epoch"]), "seconds": round(row["seconds"], 1), "minutes": round(row["seconds"] / 60, 1)}
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="run folders, the stages of one training in order")
    parser.add_argument("--targets", type=float, nargs="+", default=[0.65, 0.70])
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()
    rows = join_histories([read_history(run / "history.csv") for run in args.runs])
    keys = [k for k in ("val_accuracy", "test_accuracy") if rows and k in rows[0]]
    result = {
        "runs": [str(run) for run in args.runs],
        "epochs": len(rows),
        "hours": round(rows[-1]["seconds"] / 3600, 2) if rows else 0,
        "best": {k: max(r[k] for r in rows) for k in keys},
        "final": {k: rows[-1][k] for k in keys} if rows else {},
        "time_to": {f"{t:.2f}": {k: first_reaching(rows, k, t) for k in keys} for t in args.targets},
    }
    print(json.dumps(result, indent=2))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
        for key in keys:
            ax.plot([r["seconds"] / 60 for r in rows], [r[key] for r in rows], label=key)
        for target in args.targets:
            ax.axhline(target, color="gray", linewidth=0.5)
        ax.set_xlabel("wall-clock minutes (2 CPU cores)")
        ax.set_ylabel("accuracy")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot)


if __name__ == "__main__":
    main()
