"""Faces found per photo against the truth in ../shared/data/photos/README.md, and detection time.

Usage: python benchmarks/detection.py [PHOTOS] [--repeats 5]

Runs fer's face finder (CenterFace on ONNX Runtime, fer_cli/inference/detector.py)
on each photo `repeats` times and prints, per photo, the faces found, the true
count, the median time in milliseconds (decoding excluded; detection, alignment
and cropping included), and each face's box and score, as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

# What each photo shows, from the photos' README (faces fully visible / in all).
TRUTH = {
    "astronaut.png": 1, "coffee_no_face.jpg": 0, "cartoon_no_human_face.jpg": 0, "one_face_smile.jpg": 1,
    "neutral_man.jpg": 1, "happy_child_closeup.jpg": 1, "angry_man_snarl.jpg": 1, "angry_man_grimace.jpg": 1,
    "sad_woman_crying.jpg": 1, "group_selfie.jpg": 7,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="?", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/photos")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from fer_cli.imaging import open_upright
    from fer_cli.inference.faces import FaceFinder

    finder = FaceFinder()
    rows = {}
    for name, truth in TRUTH.items():
        picture = open_upright(args.photos / name)
        finder(picture)  # warm-up
        times, faces = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            faces = finder(picture)
            times.append(time.perf_counter() - start)
        rows[name] = {"size": list(picture.size), "found": len(faces), "truth": truth,
                      "ms": round(statistics.median(times) * 1000, 1), "boxes": [list(f.box) for f in faces],
                      "scores": [f.score for f in faces]}
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
