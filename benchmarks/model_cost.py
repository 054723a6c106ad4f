"""What several models cost per face, side by side: FLOPs, and time on ONNX Runtime for one face and for batches.

Usage: python benchmarks/model_cost.py MODEL [MODEL...] [--calls 300] [--batches 5]

MODEL is what `fer predict --model` takes: a run folder, a .keras file (its
ONNX twin is timed, exported once as `fer predict` would) or an .onnx file;
`default` is the model shipped with fer. For each model: MFLOPs per face
(its networks' FLOPs times the views built into it; Keras models only), the
median latency of one 48x48 image (after 20 warm-up calls) and the median
throughput of batches of 256, on ONNX Runtime (what `fer predict` runs). The
models take turns call by call, so a busy machine slows them alike; the
ratios to the first model are the figures to quote. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="run folders, .keras or .onnx files, or `default`; the first is the reference for the ratios")
    parser.add_argument("--calls", type=int, default=300, help="single-image calls per model (default: 300)")
    parser.add_argument("--batches", type=int, default=5, help="batches of 256 per model (default: 5)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import onnxruntime as ort

    from fer_cli.errors import FerError
    from fer_cli.runtimes.resolve import resolve_model

    try:
        refs = {name: resolve_model(None if name == "default" else name) for name in args.models}
    except FerError as exc:
        parser.error(str(exc))
    mflops = {name: _mflops(ref) for name, ref in refs.items()}
    sessions = {name: ort.InferenceSession(str(_onnx(ref)), providers=["CPUExecutionProvider"])
                for name, ref in refs.items()}
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

    reference = args.models[0]
    ms = {name: statistics.median(t) * 1000 for name, t in single.items()}
    per_s = {name: len(batch) / statistics.median(t) for name, t in batched.items()}
    print(json.dumps({
        name: {"mflops_per_face": mflops[name], "one_image_ms": round(ms[name], 2), "batch_images_per_s": round(per_s[name], 1),
               "latency_vs_first": round(ms[name] / ms[reference], 2), "throughput_vs_first": round(per_s[name] / per_s[reference], 3)}
        for name in sessions
    }, indent=2))


def _onnx(ref) -> Path:
    """The ONNX file to time: the model itself, or the ONNX twin of a Keras model (exported once, as `fer predict` does)."""
    from fer_cli.exporting.exporter import onnx_twin

    timed = onnx_twin(ref)
    if timed.format != "onnx":
        raise SystemExit(f"model_cost.py: error: {ref.path}: only .keras and .onnx models are timed here")
    return timed.path


def _mflops(ref) -> int | None:
    """MFLOPs per face of a Keras model; `None` for other formats (give the .keras to count them)."""
    if ref.format != "keras":
        return None
    from fer_cli.models.ensemble import face_flops
    from fer_cli.runtimes.keras_runtime import load_keras_model

    return round(face_flops(load_keras_model(ref.path)) / 1e6)


if __name__ == "__main__":
    main()
