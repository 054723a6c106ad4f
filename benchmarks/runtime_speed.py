"""Throughput of the runtimes on the same model: ONNX Runtime, LiteRT (if installed), Keras.

Usage: python benchmarks/runtime_speed.py [DATA] [--repeats 3]

Predicts every image of DATA's test split (default: FER2013 PublicTest, 3,589
crops) with the shipped model on each runtime, in batches of 256, after one
warm-up pass; prints the median images/s per runtime and the ratios to Keras
`model.predict`, plus each runtime's import + load time. LiteRT is measured
when `ai_edge_litert` imports (it is not a dependency of fer).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np


def timed_runs(predict, images: np.ndarray, repeats: int) -> float:
    predict(images[:256])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(images)
        times.append(time.perf_counter() - start)
    return len(images) / statistics.median(times)


def litert_predict(path: Path):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]

    def predict(images):
        results = []
        for i in range(0, len(images), 256):
            batch = images[i : i + 256]
            interpreter.resize_tensor_input(inp["index"], batch.shape)
            interpreter.allocate_tensors()
            interpreter.set_tensor(inp["index"], batch)
            interpreter.invoke()
            results.append(interpreter.get_tensor(out["index"]))
        return np.concatenate(results)

    return predict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(Path(__file__).resolve().parents[2] / "shared/data/fer2013/images"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tflite", type=Path, help="the model as .tflite (from `fer export --format tflite`), for LiteRT")
    args = parser.parse_args()

    from fer_cli.data import load_dataset
    from fer_cli.runtimes.resolve import DEFAULT_MODEL

    split = load_dataset(Path(args.data)).split("test")
    images = split.images.astype(np.float32)[..., None]
    rates, loads = {}, {}

    start = time.perf_counter()
    from fer_cli.runtimes.onnx_runtime import OnnxRuntime

    onnx = OnnxRuntime(DEFAULT_MODEL.with_suffix(".onnx"))
    loads["onnxruntime"] = time.perf_counter() - start
    rates["onnxruntime"] = timed_runs(onnx.predict, images, args.repeats)

    if args.tflite:
        try:
            start = time.perf_counter()
            predict = litert_predict(args.tflite)
            loads["litert"] = time.perf_counter() - start
            rates["litert"] = timed_runs(predict, images, args.repeats)
        except ImportError:
            pass

    start = time.perf_counter()
    from fer_cli.runtimes.keras_runtime import KerasRuntime

    keras_runtime = KerasRuntime(DEFAULT_MODEL)
    loads["keras"] = time.perf_counter() - start
    rates["keras"] = timed_runs(keras_runtime.predict, images, args.repeats)

    print(json.dumps({
        "images": len(images),
        "images_per_second": {k: round(v) for k, v in rates.items()},
        "ratio_to_keras": {k: round(v / rates["keras"], 2) for k, v in rates.items()},
        "import_and_load_seconds": {k: round(v, 2) for k, v in loads.items()},
    }, indent=2))


if __name__ == "__main__":
    main()
