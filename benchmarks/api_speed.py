"""Face crops per second through the public API, three ways, side by side in one run.

Usage: python benchmarks/api_speed.py [FOLDER] [--limit 512] [--repeats 3]

On the same FER2013 crops (default: the first LIMIT of ../shared's PublicTest,
sorted by path), with the shipped model:

- ``predict_many``: `Recognizer.predict_many(paths)`, the faces of 64 images per model call;
- ``predict loop``: `Recognizer.predict(path)` once per image, one model call each;
- ``fer predict``: the whole command as a process (start-up and model load included), paths on stdin.

Each is run `repeats` times after a warm-up; prints the median crops/s of each and its ratio to
the loop, as JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

SHARED_TEST = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013" / "images" / "test"


def median_rate(run, count: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return count / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=SHARED_TEST)
    parser.add_argument("--limit", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import fer_cli

    paths = sorted(args.folder.rglob("*.jpg")) + sorted(args.folder.rglob("*.png"))
    paths = [str(p) for p in sorted(paths)[: args.limit]]
    if not paths:
        sys.exit(f"no images under {args.folder}")
    recognizer = fer_cli.Recognizer()
    recognizer.predict_many(paths[:64])  # warm-up: sessions, thread pools, file cache
    stdin = "\n".join(paths) + "\n"

    def process() -> None:
        subprocess.run([sys.executable, "-m", "fer_cli", "predict", "-", "-f", "jsonl", "-q"], input=stdin,
                       capture_output=True, text=True, check=True)

    rates = {
        "predict_many": median_rate(lambda: recognizer.predict_many(paths), len(paths), args.repeats),
        "predict loop": median_rate(lambda: [recognizer.predict(p) for p in paths], len(paths), args.repeats),
        "fer predict": median_rate(process, len(paths), args.repeats),
    }
    loop = rates["predict loop"]
    print(json.dumps({"crops": len(paths), "repeats": args.repeats,
                      "crops_per_s": {k: round(v, 1) for k, v in rates.items()},
                      "ratio_to_loop": {k: round(v / loop, 2) for k, v in rates.items()}}, indent=2))


if __name__ == "__main__":
    main()
