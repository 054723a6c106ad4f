"""Time `fer prepare` against a plain sequential Pillow loop over the same files, side by side.

Usage: python benchmarks/prepare_speed.py [DATA] [--repeats 3]

Each repeat runs, in turn: `fer prepare --force` (whole process, parallel decode,
cache written), a plain loop (whole process: open, convert to L, resize to 48x48,
stack; nothing written), and `fer prepare` again on unchanged data (cache reuse).
A warm-up pass first puts the files in the page cache so every contender reads
from memory. Prints medians and the ratio as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN_LOOP = r"""
import sys
from pathlib import Path
import numpy as np
from PIL import Image
files = sorted(p for p in Path(sys.argv[1]).rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
images = np.stack([np.asarray(Image.open(p).convert("L").resize((48, 48))) for p in files])
print(len(images))
"""


def timed(command: list[str], env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return time.perf_counter() - start, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(Path(__file__).resolve().parents[2] / "shared/data/fer2013/images"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    fer = [sys.executable, "-m", "fer_cli"]
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "FER_CACHE_DIR": tmp}
        cache = str(Path(tmp) / "bench.npz")
        _, count = timed([sys.executable, "-c", PLAIN_LOOP, args.data], env)  # warm-up: page cache
        n = int(count)
        rows = {"fer_prepare": [], "plain_pillow_loop": [], "fer_prepare_rerun": []}
        for _ in range(args.repeats):
            rows["fer_prepare"].append(timed([*fer, "prepare", args.data, "-o", cache, "--force", "-q"], env)[0])
            rows["plain_pillow_loop"].append(timed([sys.executable, "-c", PLAIN_LOOP, args.data], env)[0])
            rows["fer_prepare_rerun"].append(timed([*fer, "prepare", args.data, "-o", cache, "-q"], env)[0])
    medians = {k: statistics.median(v) for k, v in rows.items()}
    print(json.dumps({
        "images": n,
        "cores": os.cpu_count(),
        "median_seconds": {k: round(v, 2) for k, v in medians.items()},
        "images_per_second": {k: round(n / medians[k]) for k in ("fer_prepare", "plain_pillow_loop")},
        "speedup_fer_vs_plain": round(medians["plain_pillow_loop"] / medians["fer_prepare"], 2),
        "runs": {k: [round(x, 2) for x in v] for k, v in rows.items()},
    }, indent=2))


if __name__ == "__main__":
    main()
