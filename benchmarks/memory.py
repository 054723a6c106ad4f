"""Peak memory of `fer prepare` and of one training epoch: in-memory .npz next to streamed shards.

Usage: python benchmarks/memory.py [--images 200000] [--dir /tmp/fer-memory] [--no-train] [--only STEP...]

Generates a data set of learnable 48x48 JPEG faces-like patterns (class folders,
once), then runs, each as its own whole process:

1. `fer prepare DIR/images -o DIR/data.npz --force` (the in-memory cache)
2. `fer prepare DIR/images --shard-size 50000 -o DIR/data.shards --force`
3. `fer train DIR/data.npz --epochs 1 --model resnet_s` (loads the cache whole)
4. `fer train DIR/data.shards --epochs 1 --model resnet_s` (streams the shards)

Memory is the resident set (RSS) of the whole process tree, decoder processes
included, sampled every 0.1 s. Results go to stdout as JSON and, as they come,
to DIR/memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

EMOTIONS = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _write_class(args: tuple[Path, int, int, int]) -> None:
    from PIL import Image

    folder, label, count, seed = args
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:48, 0:48] / 48
    angle = label * np.pi / len(EMOTIONS)
    pattern = 128 + 90 * np.sin(8 * (np.cos(angle) * xx + np.sin(angle) * yy))
    for i in range(count):
        image = np.clip(pattern + rng.normal(0, 30, pattern.shape), 0, 255).astype(np.uint8)
        Image.fromarray(image).save(folder / f"{i:07d}.jpg", quality=90)


def generate(root: Path, images: int) -> None:
    """Class folders holding `images` JPEGs in all (skipped when already there)."""
    marker = root / f".complete-{images}"
    if marker.is_file():
        return
    per_class = images // len(EMOTIONS)
    jobs = []
    for label, name in enumerate(EMOTIONS):
        count = per_class + (1 if label < images % len(EMOTIONS) else 0)
        jobs.append((root / name, label, count, label))
    with ProcessPoolExecutor() as pool:
        list(pool.map(_write_class, jobs))
    marker.write_text("")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * PAGE
    except OSError:
        return 0


def measure(command: list[str]) -> dict:
    """Run `command`; return its wall time and the peak RSS of it alone and of its process tree."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak_tree = peak_main = 0
    while process.poll() is None:
        tree = _children()
        pids, stack = [], [process.pid]
        while stack:
            pid = stack.pop()
            pids.append(pid)
            stack.extend(tree.get(pid, []))
        peak_main = max(peak_main, _rss(process.pid))
        peak_tree = max(peak_tree, sum(_rss(pid) for pid in pids))
        time.sleep(0.1)
    stderr = process.stderr.read()
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr[-2000:]}")
    return {
        "command": " ".join(command),
        "seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mb": round(peak_main / 2**20),
        "peak_tree_rss_mb": round(peak_tree / 2**20),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/fer-memory"))
    parser.add_argument("--no-train", action="store_true", help="measure prepare only")
    parser.add_argument("--only", nargs="+", help="measure only these steps (the data they read must exist)")
    args = parser.parse_args()
    root = args.dir
    fer = [sys.executable, "-m", "fer_cli"]
    generate(root / "images", args.images)
    train = ["train", "--epochs", "1", "--model", "resnet_s", "--val-split", "0.05", "--runs-dir", str(root / "runs"), "-q"]
    steps = {
        "prepare_npz": fer + ["prepare", str(root / "images"), "-o", str(root / "data.npz"), "--force", "-q"],
        "prepare_shards": fer + ["prepare", str(root / "images"), "--shard-size", "50000", "-o", str(root / "data.shards"), "--force", "-q"],
    }
    if not args.no_train:
        steps["train_epoch_npz"] = fer + [train[0], str(root / "data.npz"), *train[1:]]
        steps["train_epoch_shards"] = fer + [train[0], str(root / "data.shards"), *train[1:]]
    if args.only:
        steps = {name: command for name, command in steps.items() if name in args.only}
    out = root / "memory.json"
    results: dict = json.loads(out.read_text()) if args.only and out.is_file() else {}
    results["images"] = args.images
    for name, command in steps.items():
        results[name] = measure(command)
        print(json.dumps({name: results[name]}), file=sys.stderr)
        out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
