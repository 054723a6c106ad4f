"""Training throughput (images/s) of registered architectures on this machine, side by side.

Usage: python benchmarks/train_speed.py [MODEL ...] [--steps 30] [--batch-size 64]
                                         [--precision float32 mixed_bfloat16] [--repeats 3]

Each model trains `steps` batches of random 48x48 images (after 5 warm-up
batches) with AdamW, the same step `fer train` runs, once per precision; prints
images/s per model and precision as JSON (the median of `repeats` timings,
taken in turns so that a busy spell of a shared machine hits every precision
alike). Measure on an idle machine: throughput decides the training budget.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from fer_cli.config import PRECISIONS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--precision", nargs="+", default=["float32"], choices=PRECISIONS)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    from fer_cli.models import build_model, list_models
    from fer_cli.models.registry import count_flops
    from fer_cli.tf_env import keras as _keras
    from fer_cli.training.precision import dtype_policy

    keras = _keras()
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (args.batch_size, 48, 48, 1)).astype(np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 7, args.batch_size), 7)
    results = {}
    for name in args.models or list_models():
        models = {}
        for precision in args.precision:
            with dtype_policy(precision):
                model = build_model(name, 7)
            model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="categorical_crossentropy", metrics=["accuracy"])
            for _ in range(5):
                model.train_on_batch(x, y)
            models[precision] = model
        timings: dict[str, list[float]] = {precision: [] for precision in args.precision}
        for _ in range(args.repeats):
            for precision, model in models.items():
                start = time.perf_counter()
                for _ in range(args.steps):
                    model.train_on_batch(x, y)
                timings[precision].append(args.steps * args.batch_size / (time.perf_counter() - start))
        record = {"mflops": round(count_flops(models[args.precision[0]]) / 1e6), "params": models[args.precision[0]].count_params()}
        for precision, speeds in timings.items():
            record[f"images_per_s_{precision}" if len(args.precision) > 1 else "images_per_s"] = round(float(np.median(speeds)), 1)
        if len(args.precision) > 1:
            first, *others = args.precision
            for other in others:
                record[f"ratio_{other}"] = round(float(np.median(timings[other]) / np.median(timings[first])), 2)
        results[name] = record
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
