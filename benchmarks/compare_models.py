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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs=2, help="two run folders (their best.keras)")
    parser.add_argument("--data", help="the training data, if it moved since the runs (default: the runs' data)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from fer_cli.runtimes.keras_runtime import load_keras_model
    from fer_cli.runtimes.resolve import resolve_model
    from validation_split import mcnemar, shared_validation

    try:
        _, (images, labels) = shared_validation(args.runs, args.data)
    except ValueError as exc:
        parser.error(str(exc))
    right = []
    for run in args.runs:
        model = load_keras_model(resolve_model(run).path)
        right.append(model.predict(images, batch_size=256, verbose=0).argmax(axis=1) == labels)
    print(json.dumps({
        "validation_images": int(len(labels)),
        "accuracy": {str(run): round(float(r.mean()), 4) for run, r in zip(args.runs, right)},
        **mcnemar(right[0], right[1]),
    }, indent=2))


if __name__ == "__main__":
    main()
