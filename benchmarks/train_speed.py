"""Training throughput (images/s) of registered architectures on this machine, side by side.

Usage: python benchmarks/train_speed.py [MODEL ...] [--steps 30] [--batch-size 64]

Each model trains `steps` batches of random 48x48 images (after 5 warm-up
batches) with AdamW, the same step `fer train` runs; prints images/s per model
as JSON. Measure on an idle machine: throughput decides the training budget.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    from fer_cli.models import build_model, list_models
    from fer_cli.models.registry import count_flops
    from fer_cli.tf_env import keras as _keras

    keras = _keras()
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (args.batch_size, 48, 48, 1)).astype(np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 7, args.batch_size), 7)
    results = {}
    for name in args.models or list_models():
        model = build_model(name, 7)
        model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="categorical_crossentropy", metrics=["accuracy"])
        for _ in range(5):
            model.train_on_batch(x, y)
        start = time.perf_counter()
        for _ in range(args.steps):
            model.train_on_batch(x, y)
        seconds = time.perf_counter() - start
        results[name] = {"images_per_s": round(args.steps * args.batch_size / seconds, 1),
                         "mflops": round(count_flops(model) / 1e6), "params": model.count_params()}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
