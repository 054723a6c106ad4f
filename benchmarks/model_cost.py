"""What several ONNX models cost to run, measured side by side: one face, and batches.

Usage: python benchmarks/model_cost.py MODEL.onnx [MODEL.onnx...] [--calls 300] [--batches 5]

For each model: the median latency of one 48x48 image (after 20 warm-up calls)
and the median throughput of batches of 256, on ONNX Runtime (what `fer predict`
runs). The models take turns call by call, so a busy machine slows them alike;
the ratios to the first model are the figures to quote. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+", help="ONNX files; the first is the reference for the ratios")
    parser.add_argument("--calls", type=int, default=300, help="single-image calls per model (default: 300)")
    parser.add_argument("--batches", type=int, default=5, help="batches of 256 per model (default: 5)")
    args = parser.parse_args()

    import onnxruntime as ort

    sessions = {str(m): ort.InferenceSession(str(m), providers=["CPUExecutionProvider"]) for m in args.models}
    rng = np.random.default_rng(0)
    one = rng.uniform(0, 255, (1, 48, 48, 1)).astype(np.float32)
    batch = rng.uniform(0, 255, (256, 48, 48, 1)).astype(np.float32)

    def call(session, images) -> float:
        start = time.perf_counter()
        session.run(None, {session.get_inputs()[0].name: images})
        return time.perf_counter() - start

    for session in sessions.values():
        for _ in range(20):
            call(session, one)
    single = {name: [] for name in sessions}
    batched = {name: [] for name in sessions}
    for _ in range(args.calls):
        for name, session in sessions.items():
            single[name].append(call(session, one))
    for _ in range(args.batches):
        for name, session in sessions.items():
            batched[name].append(call(session, batch))

    reference = str(args.models[0])
    ms = {name: statistics.median(t) * 1000 for name, t in single.items()}
    per_s = {name: len(batch) / statistics.median(t) for name, t in batched.items()}
    print(json.dumps({
        name: {"one_image_ms": round(ms[name], 2), "batch_images_per_s": round(per_s[name], 1),
               "latency_vs_first": round(ms[name] / ms[reference], 2), "throughput_vs_first": round(per_s[name] / per_s[reference], 3)}
        for name in sessions
    }, indent=2))


if __name__ == "__main__":
    main()
