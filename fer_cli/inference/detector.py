"""Finding faces in a photo with YuNet (libfacedetection), offline.

The detector is the `yuface` package: the YuNet-family CNN of libfacedetection
with its weights compiled into a 1 MB extension inside the wheel, so nothing is
downloaded, and no TensorFlow or OpenCV is imported. It was chosen over
OpenCV's Haar cascade and MediaPipe on ../shared/data/photos (README, "Face
detection"): it found the faces Haar misses (a close-up, a covered face),
fired on no clothing, and ran 4-8x faster.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
from dataclasses import dataclass

import numpy as np

from fer_cli.errors import FerError

# Photos are downscaled to this longest side before detection: full-size photos
# give weaker hits and junk boxes, and detection time grows with pixels.
MAX_SIDE = 640
MIN_SCORE = 0.5


@dataclass(frozen=True)
class Detection:
    """A face found in a photo.

    Attributes:
        box: [x, y, width, height] in the photo's pixels, clipped to the photo.
        score: detector confidence in [0, 1].
        eyes: centres of the eye on the image's left and the eye on its right, in pixels.
    """

    box: tuple[int, int, int, int]
    score: float
    eyes: tuple[tuple[float, float], tuple[float, float]]


_detect = None
_load_lock = threading.Lock()


def _load():
    """Import yuface once, with its OpenMP pool cut to one thread, and make its first call.

    fer runs detection on several photos at once in threads (the library
    releases the GIL); nested OpenMP threads on top of that stall on a 2-core
    machine (about 420 ms a call instead of 40 ms).

    The first call is made here, under a lock, on a blank picture: it sets up the
    extension's numpy bindings (pybind11 imports numpy in a C++ static
    initialiser), and two threads making their first call at once deadlock
    there, one holding the GIL and waiting for the initialiser, the other inside
    the initialiser waiting for the GIL.
    """
    global _detect
    with _load_lock:
        if _detect is None:
            try:
                import yuface.yuface as yunet
            except ImportError as exc:  # the wheel exists for CPython 3.11 on x86-64 Linux and Windows
                raise FerError(f"face detection needs the yuface package, which did not import here ({exc}); use --no-detect") from exc
            for lib in glob.glob(os.path.join(os.path.dirname(yunet.__file__), os.pardir, "yuface.libs", "libgomp*")):
                ctypes.CDLL(lib).omp_set_num_threads(1)
            yunet.detect(np.zeros((32, 32, 3), np.uint8))
            _detect = yunet.detect
    return _detect


def detect_faces(picture, max_side: int = MAX_SIDE, min_score: float = MIN_SCORE) -> list[Detection]:
    """Find the faces in a Pillow image.

    Args:
        picture: a Pillow image of any mode.
        max_side: downscale so the longest side is at most this before detecting. Defaults to `640`.
        min_score: keep detections at least this confident. Defaults to `0.5`.

    Returns:
        The faces, most confident first.
    """
    from PIL import Image

    from fer_cli.imaging import to_grayscale

    detect = _load()
    if picture.mode.startswith("I") or picture.mode == "F":
        picture = to_grayscale(picture)  # 16-bit and float pictures: scaled, not clipped
    rgb = picture.convert("RGB")
    scale = min(1.0, max_side / max(rgb.size))
    if scale < 1.0:
        rgb = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))), Image.Resampling.BILINEAR)
    # The library wants C-contiguous uint8 BGR; a strided view silently gives wrong boxes.
    bgr = np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])
    rows = np.asarray(detect(bgr), dtype=np.float64).reshape(-1, 16)
    width, height = picture.size
    faces = []
    for row in rows:
        score = row[0] / 100.0  # columns: score (0-100), x, y, w, h, 5 landmarks (x, y), unused
        if score < min_score:
            continue
        x, y, w, h = row[1:5] / scale
        x0, y0 = max(0.0, x), max(0.0, y)
        x1, y1 = min(float(width), x + w), min(float(height), y + h)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        eyes = row[5:9] / scale
        faces.append(Detection(
            box=(round(x0), round(y0), round(x1 - x0), round(y1 - y0)),
            score=round(float(score), 4),
            eyes=((float(eyes[0]), float(eyes[1])), (float(eyes[2]), float(eyes[3]))),
        ))
    return sorted(faces, key=lambda f: -f.score)
