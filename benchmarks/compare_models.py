"""Is one trained model better than another? A paired comparison on the runs' validation split.

Usage: python benchmarks/compare_models.py RUN_A RUN_B [--data DIR]

Both run folders must hold out the same validation images (same data, `val_split`
and `seed` in their config.yaml): the comparison uses only those, never a test
split, so it can decide which model ships. It prints, as JSON, each model's
validation accuracy, the images only one of them gets right, and the exact
McNemar p-value (a two-sided binomial test on those discordant images): a small
p says the difference is more than the luck of which images were held out.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs=2, help="two run folders (their best.keras)")
    parser.add_argument("--data", help="the training data, if it moved since the runs (default: the runs' data)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from scipy.stats import binomtest

    from fer_cli.config import load_config
    from fer_cli.data import load_dataset
    from fer_cli.runtimes.keras_runtime import load_keras_model
    from fer_cli.runtimes.resolve import resolve_model
    from fer_cli.training.inputs import split_for_training

    configs = [load_config(run / "config.yaml") for run in args.runs]
    held_out = [(c.val_split, c.seed) for c in configs]
    if held_out[0] != held_out[1]:
        parser.error(f"the runs hold out different validation images (val_split, seed): {held_out[0]} vs {held_out[1]}")
    _, val = split_for_training(load_dataset(Path(args.data or configs[0].data)), configs[0])
    if val is None:
        parser.error("the runs have no validation split (val_split: 0)")
    images, labels = val[0].astype(np.float32)[..., None], val[1]
    right = []
    for run in args.runs:
        model = load_keras_model(resolve_model(run).path)
        right.append(model.predict(images, batch_size=256, verbose=0).argmax(axis=1) == labels)
    only_a, only_b = int(np.sum(right[0] & ~right[1])), int(np.sum(~right[0] & right[1]))
    p = binomtest(only_b, only_a + only_b).pvalue if only_a + only_b else 1.0
    print(json.dumps({
        "validation_images": int(len(labels)),
        "accuracy": {str(run): round(float(r.mean()), 4) for run, r in zip(args.runs, right)},
        "only_a_right": only_a,
        "only_b_right": only_b,
        "mcnemar_p": round(float(p), 4),
    }, indent=2))


if __name__ == "__main__":
    main()
