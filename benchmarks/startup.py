"""Whole-process wall time of `fer --help` and `fer predict ONE_IMAGE`, next to `import tensorflow`.

Usage: python benchmarks/startup.py [IMAGE] [--repeats 5]

Runs the three commands in turn, `repeats` times, and prints medians (seconds) as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", default=str(Path(__file__).resolve().parents[1] / "samples/astronaut_face.png"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    fer = str(Path(sys.executable).with_name("fer"))
    commands = {
        "fer --help": [fer, "--help"],
        "fer predict ONE": [fer, "predict", args.image],
        "python -c 'import tensorflow'": [sys.executable, "-c", "import tensorflow"],
    }
    times: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(args.repeats):
        for name, command in commands.items():
            times[name].append(timed(command))
    print(json.dumps({"median_seconds": {k: round(statistics.median(v), 3) for k, v in times.items()},
                      "runs": {k: [round(x, 3) for x in v] for k, v in times.items()}}, indent=2))


if __name__ == "__main__":
    main()
