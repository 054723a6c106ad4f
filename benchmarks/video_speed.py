"""How fast fer predict follows faces through a 720p video, every frame and at --fps 5, and what limits it.

Usage: python benchmarks/video_speed.py [CLIP] [--seconds 6] [--repeats 3] [--fps 5]

Without CLIP it writes a 1280x720, 30 fps H.264 clip (in a temporary folder) of
two faces (the astronaut of samples/astronaut.png and her gray mirror image,
heads about 220 px tall) crossing the frame. For every frame and for
`--fps`, it times:

- the whole pipeline as `fer predict` runs it in-process (`Predictor.run_pictures`
  and `follow_faces`: decoding on the main thread, detection on 2 worker
  threads, the model on batches of faces), as frames/s and as video seconds per
  wall-clock second (over 1 = faster than the clip plays);
- each stage alone, on one thread unless said: decoding (PyAV; converting the
  kept frames to RGB images included), detection (CenterFace, alignment and
  cropping; the detector's ONNX Runtime session has 1 thread, the pipeline runs
  2 at once), and the model (the shipped model's ONNX twin on ONNX Runtime,
  its default threads) on the faces found;
- `fer predict CLIP --fps F` as a command (a new process: start-up and model
  load included), against the clip's length.

Each figure is the median of `--repeats` runs, in wall-clock and in CPU time
(all threads). The machine this project runs on is shared with training runs,
so wall-clock figures are noisy and mostly say how busy it was; CPU time says
what the work costs, and half of it is what two idle cores would take
(`..._on_2_free_cores`, an estimate that assumes both cores kept busy).
Prints JSON.
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

import numpy as np

REPO = Path(__file__).resolve().parents[1]
ASTRONAUT_HEAD = (160, 30, 294, 200)  # her head in samples/astronaut.png, with a margin


def write_clip(path: Path, seconds: float, size=(1280, 720), rate: int = 30) -> None:
    """Two faces crossing a 720p frame, encoded as H.264 (or MPEG-4 part 2 without libx264)."""
    from PIL import Image, ImageOps

    from fer_cli.inference.video import VideoEncoder

    width, height = size
    head = Image.open(REPO / "samples" / "astronaut.png").convert("RGB").crop(ASTRONAUT_HEAD)
    head = head.resize((round(head.width * 0.3 * height / head.height), round(0.3 * height)), Image.Resampling.LANCZOS)
    mirror = ImageOps.grayscale(ImageOps.mirror(head)).convert("RGB")
    ramp = np.linspace(170, 70, height, dtype=np.uint8)[:, None, None]
    background = Image.fromarray(np.repeat(np.repeat(ramp, width, 1), 3, 2))
    frames = round(seconds * rate)
    with VideoEncoder(path, rate) as encoder:
        for index in range(frames):
            progress = index / max(1, frames - 1)
            picture = background.copy()
            picture.paste(head, (round(40 + progress * (width - 80 - head.width)), 60))
            picture.paste(mirror, (round(width - 40 - mirror.width - progress * (width - 80 - mirror.width)), height - 60 - mirror.height))
            encoder.write(picture)


def clip_seconds(path: Path) -> float:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        last = 0.0
        for frame in container.decode(stream):
            last = float(frame.time or 0.0)
        return last + 1 / float(stream.average_rate or 25)


def median_times(run, repeats: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds (this process's threads and its children) of `run()`."""
    walls, cpus = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), _cpu_seconds()
        run()
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu_seconds() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def _cpu_seconds() -> float:
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(path: Path, fps: float | None, repeats: int, predictor, seconds: float) -> dict:
    from fer_cli.inference.follow import follow_faces
    from fer_cli.inference.inputs import InputItem
    from fer_cli.inference.video import sample_frames

    frames = list(sample_frames(path, fps=fps))
    pictures = [frame.picture for frame in frames]
    faces = [predictor.find_faces(picture) for picture in pictures]
    crops = np.stack([face.crop for found in faces for face in found]).astype(np.float32)[..., None]

    def pipeline():
        for _ in follow_faces(predictor.run_pictures([InputItem(str(path))], fps=fps)):
            pass

    stages = {
        "decode": median_times(lambda: list(sample_frames(path, fps=fps)), repeats),
        "detect": median_times(lambda: [predictor.find_faces(p) for p in pictures], repeats),
        "model": median_times(lambda: predictor.runtime.predict(crops), repeats),
    }
    whole, whole_cpu = median_times(pipeline, repeats)
    per_frame = {name: {"wall_ms": round(1000 * wall / len(frames), 1), "cpu_ms": round(1000 * cpu / len(frames), 1)}
                 for name, (wall, cpu) in stages.items()}
    return {
        "frames": len(frames), "faces": len(crops),
        "pipeline": {"frames_per_s": round(len(frames) / whole, 2), "video_s_per_s": round(seconds / whole, 2),
                     "wall_ms_per_frame": round(1000 * whole / len(frames), 1),
                     "cpu_ms_per_frame": round(1000 * whole_cpu / len(frames), 1),
                     # What two idle cores would take if every stage kept both busy: the CPU time halved.
                     "video_s_per_s_on_2_free_cores": round(seconds / (whole_cpu / 2), 2)},
        "stages_per_frame": per_frame,
        "limit": max(per_frame, key=lambda name: per_frame[name]["cpu_ms"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", nargs="?", type=Path)
    parser.add_argument("--seconds", type=float, default=6.0, help="length of the clip made without CLIP")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fps", type=float, default=5.0)
    args = parser.parse_args()

    from fer_cli.inference.faces import FaceFinder
    from fer_cli.inference.predictor import Predictor
    from fer_cli.runtimes import open_runtime, resolve_model
    from fer_cli.runtimes.twin import find_twin

    with tempfile.TemporaryDirectory() as folder:
        path = args.clip
        if path is None:
            path = Path(folder) / "two_faces_720p.mp4"
            write_clip(path, args.seconds)
        seconds = clip_seconds(path)
        ref = find_twin(resolve_model(None))
        predictor = Predictor(open_runtime(ref), ref.class_names, FaceFinder())
        report = {"clip": str(args.clip or "generated 1280x720, 30 fps, H.264, two faces"), "seconds": round(seconds, 2),
                  "cpus": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2)}
        report["every_frame"] = measure(path, None, args.repeats, predictor, seconds)
        report[f"fps_{args.fps:g}"] = measure(path, args.fps, args.repeats, predictor, seconds)
        command = [sys.executable, "-m", "fer_cli", "predict", str(path), "--fps", f"{args.fps:g}", "--format", "jsonl", "-q"]
        wall, cpu = median_times(lambda: subprocess.run(command, check=True, capture_output=True), args.repeats)
        report[f"command_fps_{args.fps:g}"] = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                                               "video_s_per_s": round(seconds / wall, 2),
                                               "video_s_per_s_on_2_free_cores": round(seconds / (cpu / 2), 2)}
        report["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
