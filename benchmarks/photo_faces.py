"""Photos as the model sees them: FER2013 faces pasted into photos, predicted directly and through detection.

Usage: python benchmarks/photo_faces.py [--faces val|test] [--limit 1000] [--seed 0] [--upscale 4]
       [--edge-cut 0] [--model MODEL] [--crop previous] [--crop default] [--crop scale=1.1,level=on,...]

Each FER2013 face of the chosen set (`val`: the 10% of train that the shipped
model held out, seed 0; `test`: PublicTest) is upscaled (bicubic) and pasted at
a random place into a larger picture whose other content is cut from the no-face
photos in ../shared/data/photos (coffee, cartoon) or generated (smooth coloured
noise with stripes). Photo `i` depends only on (--seed, i), so a --limit run sees
the same photos as a full one. `--edge-cut S` pushes each face past a random edge
of its photo, cutting off S/2 to S of it (what the crop's padding is for). Then the
model predicts each face two ways:

(a) direct: the original 48x48 crop, as `fer predict` takes a face crop;
(b) photo: the whole photo through `fer predict`'s own path, in-process: CenterFace
    detection (`detector.detect_faces`), the crop of each detected face
    (`FaceFinder.faces`, once per --crop setting: detection runs once and is shared),
    and the same runtime.

A detection at least half inside the pasted square found the face (the most
confident such one counts: the backgrounds hold no face, and a FER2013 crop may
show a whole head, whose face is a small part of the square); any other detection
is extra. `accuracy_all` counts a missed face as wrong (`gap_points`: direct minus
it); `accuracy_found` is over the found faces only, beside the direct accuracy on
those same faces (`gap_found_points`: what the crop alone costs). `pixel_mad` is the
mean absolute difference (0-255) between the detected crop and the original, over
found faces. `framing` says where the detector's box sits in the FER2013 frame
(centre and longer side as shares of the frame's side) and how far the eye lines
tilt, as median, 10th and 90th percentiles over found faces: what the crop's scale,
shift and levelling have to match. Throughput counts one thread (fer predict
detects on two): faces / (detection + cropping + prediction seconds). Prints JSON.

The no-face photos are third-party pictures kept as local test inputs (see their
README); without --photos only generated backgrounds are used.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# The photos in ../shared/data/photos that show no face (their README): safe backgrounds.
NO_FACE_PHOTOS = ("coffee_no_face.jpg", "cartoon_no_human_face.jpg")
# A detection with at least this share of its box inside the pasted face's square found it.
MATCH_INSIDE = 0.5
# The photo around a face: its width and height as multiples of the pasted face's side.
PHOTO_WIDTH = (1.6, 3.4)
PHOTO_HEIGHT = (1.4, 3.0)
BATCH = 64  # as `fer predict` batches its pictures (predictor.BATCH)


def load_faces(which: str, data: Path) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """The 48x48 faces of a FER2013 split, their labels and the data set's class names.

    Args:
        which: ``val`` (train's stratified 10% held out with seed 0, as the shipped model's
            recipe holds it out) or ``test`` (PublicTest).
        data: the FER2013 folder (or its .npz cache).

    Returns:
        uint8 (N, 48, 48) images, int (N,) labels, class names.
    """
    from fer_cli.data import load_dataset

    dataset = load_dataset(data)
    if which == "test":
        split = dataset.split("test")
        return split.images, split.labels, dataset.class_names
    from fer_cli.config import TrainConfig
    from fer_cli.training.inputs import split_for_training

    _, (images, labels) = split_for_training(dataset, TrainConfig(val_split=0.1, seed=0))
    return images, labels, dataset.class_names


def load_backgrounds(photos: Path | None) -> list:
    """The no-face photos as RGB Pillow images (none when `photos` is `None` or absent)."""
    from PIL import Image

    if photos is None or not photos.is_dir():
        return []
    return [Image.open(photos / name).convert("RGB") for name in NO_FACE_PHOTOS if (photos / name).is_file()]


def texture(rng: np.random.Generator, width: int, height: int):
    """A generated background: smooth coloured noise, fine grain, and stripes at a random angle."""
    from PIL import Image

    cells = rng.uniform(0, 255, (int(rng.integers(3, 9)), int(rng.integers(3, 9)), 3)).astype(np.uint8)
    smooth = np.asarray(Image.fromarray(cells, "RGB").resize((width, height), Image.Resampling.BICUBIC), np.float32)
    yy, xx = np.mgrid[0:height, 0:width]
    angle, period = rng.uniform(0, np.pi), rng.uniform(8, 60)
    stripes = 25 * rng.uniform(0, 1) * np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period)
    grain = rng.normal(0, rng.uniform(0, 12), (height, width, 1))
    return Image.fromarray(np.clip(smooth + stripes[..., None] + grain, 0, 255).astype(np.uint8), "RGB")


def background(rng: np.random.Generator, sources: list, width: int, height: int):
    """A width x height RGB picture: a random cut of one of `sources`, or a generated texture."""
    from PIL import Image, ImageOps

    pick = int(rng.integers(0, len(sources) + 1))
    if pick == len(sources):
        return texture(rng, width, height)
    source = sources[pick]
    scale = max(width / source.width, height / source.height) * rng.uniform(1.0, 1.6)
    size = (max(width, round(source.width * scale)), max(height, round(source.height * scale)))
    resized = source.resize(size, Image.Resampling.BILINEAR)
    x, y = int(rng.integers(0, size[0] - width + 1)), int(rng.integers(0, size[1] - height + 1))
    cut = resized.crop((x, y, x + width, y + height))
    return ImageOps.mirror(cut) if rng.uniform() < 0.5 else cut


def compose(face: np.ndarray, seed: int, index: int, sources: list, upscale: float = 4.0, edge_cut: float = 0.0):
    """Paste a face, upscaled, into a larger picture. Deterministic in (seed, index).

    Args:
        face: uint8 (48, 48) grayscale face.
        seed: the benchmark's seed.
        index: the face's index in its split (so a subset sees the same photos as the whole).
        sources: background photos (see `load_backgrounds`); generated textures too.
        upscale: the pasted face's side as a multiple of 48 (bicubic). Defaults to `4.0`.
        edge_cut: when above 0, the face is pushed past a random edge of the photo, so that
            between half of this share and this share of it is cut off. Defaults to `0.0`.

    Returns:
        The RGB photo and the pasted face's square [x, y, side, side] (past the photo's
        edge where the face is cut).
    """
    from PIL import Image

    rng = np.random.default_rng([seed, index])
    side = max(1, round(face.shape[0] * upscale))
    width = round(side * rng.uniform(*PHOTO_WIDTH))
    height = round(side * rng.uniform(*PHOTO_HEIGHT))
    photo = background(rng, sources, width, height)
    x, y = int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1))
    if edge_cut > 0:
        cut, edge = round(side * edge_cut * rng.uniform(0.5, 1.0)), int(rng.integers(0, 4))
        x, y = [(-cut, y), (width - side + cut, y), (x, -cut), (x, height - side + cut)][edge]
    photo.paste(Image.fromarray(face, "L").resize((side, side), Image.Resampling.BICUBIC).convert("RGB"), (x, y))
    return photo, (x, y, side, side)


def share_inside(box: tuple[int, int, int, int], square: tuple[int, int, int, int]) -> float:
    """The share of `box`'s area that lies inside `square` (both [x, y, w, h])."""
    width = max(0, min(box[0] + box[2], square[0] + square[2]) - max(box[0], square[0]))
    height = max(0, min(box[1] + box[3], square[1] + square[3]) - max(box[1], square[1]))
    return width * height / max(1, box[2] * box[3])


def visible(square: tuple[int, int, int, int], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The part of `square` ([x, y, w, h]) inside a picture of `size` (width, height)."""
    x0, y0 = max(square[0], 0), max(square[1], 0)
    x1, y1 = min(square[0] + square[2], size[0]), min(square[1] + square[3], size[1])
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)


def framing(detection, square: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
    """Where a detection sits in the FER2013 frame it was pasted as: box centre (x, y) and longer side
    as shares of the frame's side, and the tilt of its eye line in degrees (positive: descending to the right)."""
    x, y, w, h = detection.box
    (lx, ly), (rx, ry) = detection.eyes
    return ((x + w / 2 - square[0]) / square[2], (y + h / 2 - square[1]) / square[3], max(w, h) / square[2],
            float(np.degrees(np.arctan2(ry - ly, rx - lx))))


def match(detections, square: tuple[int, int, int, int]) -> int | None:
    """Index of the most confident detection on the pasted face (MATCH_INSIDE of it in `square`), or `None`."""
    hits = [i for i, d in enumerate(detections) if share_inside(d.box, square) >= MATCH_INSIDE]
    return max(hits, key=lambda i: detections[i].score) if hits else None


def parse_crop(text: str):
    """A --crop value: ``default`` (fer's defaults), ``previous`` (the defaults before this
    benchmark tuned them), or ``key=value,...`` over the defaults (scale, shift, level on/off, padding)."""
    from fer_cli.inference.faces import CropSettings

    if text == "default":
        return CropSettings()
    if text == "previous":
        return CropSettings(scale=1.0, shift=0.0, level_eyes=True, padding="black")
    fields = {}
    for part in filter(None, text.split(",")):
        key, _, value = part.partition("=")
        key = key.strip()
        if key == "scale" or key == "shift":
            fields[key] = float(value)
        elif key == "level":
            fields["level_eyes"] = value.strip().lower() in ("on", "true", "yes", "1")
        elif key == "padding":
            fields["padding"] = value.strip()
        else:
            raise SystemExit(f"--crop: unknown key {key!r} (scale, shift, level, padding)")
    return CropSettings(**fields)


def open_model(model: str | None):
    """The runtime `fer predict` would run for `model`: a Keras model's ONNX twin when it has one."""
    from fer_cli.runtimes import open_runtime, resolve_model
    from fer_cli.runtimes.twin import find_twin

    ref = resolve_model(model)
    if ref.format == "keras":
        ref = find_twin(ref) or ref
    return ref, open_runtime(ref)


def predict(runtime, crops: np.ndarray) -> np.ndarray:
    """Class probabilities of uint8 (N, 48, 48) crops, in batches, as `fer predict` feeds the runtime."""
    out = [runtime.predict(crops[i : i + BATCH].astype(np.float32)[..., None]) for i in range(0, len(crops), BATCH)]
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", choices=("val", "test"), default="val", help="which FER2013 faces (default: val)")
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "fer2013" / "images", help="FER2013 folder or cache")
    parser.add_argument("--photos", type=Path, default=SHARED_DATA / "photos", help="folder of the no-face photos")
    parser.add_argument("--limit", type=int, default=1000, help="faces, a seeded random sample (0 = all; default: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample and the photos (default: 0)")
    parser.add_argument("--upscale", type=float, default=4.0, help="pasted face side / 48 (default: 4)")
    parser.add_argument("--edge-cut", type=float, default=0.0,
                        help="push each face past a photo edge, cutting off up to this share of it (default: 0)")
    parser.add_argument("--model", default=None, help="model file or run folder (default: the shipped model)")
    parser.add_argument("--crop", action="append", help="crop settings to compare (repeatable; default: previous and default)")
    parser.add_argument("--per-face", type=Path, help="also write one JSON line per face here")
    args = parser.parse_args()

    from fer_cli.inference.detector import detect_faces
    from fer_cli.inference.faces import FaceFinder

    crops_wanted = {text: parse_crop(text) for text in (args.crop or ["previous", "default"])}
    images, labels, data_classes = load_faces(args.faces, args.data)
    picked = np.arange(len(labels))
    if 0 < args.limit < len(labels):
        picked = np.sort(np.random.default_rng(args.seed).permutation(len(labels))[: args.limit])
    ref, runtime = open_model(args.model)
    model_classes = ref.class_names
    # Labels index the data set's classes; predictions index the model's.
    truth = np.array([model_classes.index(data_classes[label]) for label in labels[picked]])
    sources = load_backgrounds(args.photos)

    predict(runtime, images[picked[:8]])  # warm-up
    start = time.perf_counter()
    direct = predict(runtime, images[picked]).argmax(axis=1)
    direct_seconds = time.perf_counter() - start

    finders = {name: FaceFinder(crop=settings) for name, settings in crops_wanted.items()}
    detect_seconds, crop_seconds = 0.0, dict.fromkeys(finders, 0.0)
    crops = {name: [] for name in finders}  # every detected face's crop (fer predict predicts them all)
    matched_row = {name: [] for name in finders}  # per face: its row in crops, or -1 when missed
    found, extra, detect_ms, frames = [], 0, [], []
    for count, index in enumerate(picked):
        photo, square = compose(images[index], args.seed, int(index), sources, args.upscale, args.edge_cut)
        start = time.perf_counter()
        detections = detect_faces(photo)
        elapsed = time.perf_counter() - start
        detect_seconds += elapsed
        detect_ms.append(elapsed * 1000)
        hit = match(detections, visible(square, photo.size))
        found.append(hit is not None)
        if hit is not None:
            frames.append(framing(detections[hit], square))
        extra += len(detections) - (hit is not None)
        for name, finder in finders.items():
            start = time.perf_counter()
            faces = finder.faces(photo, detections)
            crop_seconds[name] += time.perf_counter() - start
            matched_row[name].append(-1 if hit is None else len(crops[name]) + hit)
            crops[name].extend(face.crop for face in faces)
        if (count + 1) % 250 == 0:
            print(f"{count + 1}/{len(picked)} photos", file=sys.stderr)

    found = np.array(found)
    frames = np.array(frames).reshape(-1, 4)
    direct_right = direct == truth
    results = []
    per_face = {}
    for name, settings in crops_wanted.items():
        stack = np.stack(crops[name]) if crops[name] else np.zeros((0, 48, 48), np.uint8)
        start = time.perf_counter()
        predicted_all = predict(runtime, stack).argmax(axis=1) if len(stack) else np.zeros(0, int)
        predict_seconds = time.perf_counter() - start
        rows = np.array(matched_row[name])
        predicted = np.where(rows >= 0, predicted_all[np.maximum(rows, 0)] if len(stack) else -1, -1)
        right = predicted == truth
        matched = stack[rows[found]].astype(np.int16) if found.any() else np.zeros((0, 48, 48), np.int16)
        mad = np.abs(matched - images[picked[found]].astype(np.int16)).mean() if found.any() else None
        seconds = detect_seconds + crop_seconds[name] + predict_seconds
        results.append({
            "crop": name, "settings": asdict(settings),
            "accuracy_all": round(float(right.mean()), 4),
            "accuracy_found": round(float(right[found].mean()), 4) if found.any() else None,
            "direct_accuracy_found": round(float(direct_right[found].mean()), 4) if found.any() else None,
            "gap_points": round(float(direct_right.mean() - right.mean()) * 100, 2),
            # The crop's own cost: the same found faces, direct against detected and cropped.
            "gap_found_points": round(float(direct_right[found].mean() - right[found].mean()) * 100, 2) if found.any() else None,
            "pixel_mad": None if mad is None else round(float(mad), 2),
            "images_per_s": round(len(picked) / seconds, 1),
        })
        per_face[name] = predicted
    print(json.dumps({
        "faces": args.faces, "count": len(picked), "seed": args.seed, "upscale": args.upscale, "edge_cut": args.edge_cut,
        "model": str(ref.path),
        "found": int(found.sum()), "missed": int((~found).sum()), "extra_detections": extra,
        "accuracy_direct": round(float(direct_right.mean()), 4),
        "direct_images_per_s": round(len(picked) / direct_seconds, 1),
        "detect_ms_median": round(statistics.median(detect_ms), 1),
        # Where the detector's boxes sit in the FER2013 frames (found faces): median, 10th and 90th percentiles.
        "framing": {name: {stat: round(float(np.percentile(column, q)), 3) for stat, q in (("median", 50), ("p10", 10), ("p90", 90))}
                    for name, column in zip(("box_centre_x", "box_centre_y", "box_side", "eye_tilt_degrees"), frames.T)}
                   if len(frames) else None,
        "crops": results,
    }, indent=1))
    if args.per_face:
        with args.per_face.open("w") as out:
            for row, index in enumerate(picked):
                out.write(json.dumps({"index": int(index), "truth": int(truth[row]), "direct": int(direct[row]),
                                      "found": bool(found[row]),
                                      **{name: int(p[row]) for name, p in per_face.items()}}) + "\n")


if __name__ == "__main__":
    main()
