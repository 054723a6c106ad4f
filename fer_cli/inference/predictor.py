"""The predictor: decode pictures (images or video frames), find faces, batch them through a runtime."""

from __future__ import annotations

import itertools
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from fer_cli.errors import debug
from fer_cli.imaging import describe_error
from fer_cli.inference.faces import FaceCrop, FaceFinder
from fer_cli.inference.inputs import InputItem

# Pictures per batch: enough to keep the runtime's matrix products efficient,
# few enough that results stream out steadily.
BATCH = 64
NO_FACE = "no face found"


@dataclass
class Failure:
    """An input that could not be predicted."""

    path: str
    reason: str


@dataclass(frozen=True)
class VideoEnd:
    """Marks where a video's records end in the stream of `Predictor.run_pictures`.

    Tracking, summaries and annotated videos finish a video when they see it;
    it comes after the video's last frame, also when decoding failed midway.
    """

    path: str


@dataclass
class Picture:
    """One picture to find faces in: an image file, or a frame of a video.

    Attributes:
        meta: the fields that lead its records (path; frame and time for video).
        load: returns the Pillow image (decoding happens on the worker threads).
    """

    meta: dict[str, Any]
    load: Callable[[], Any]


def _pictures(items: Iterable[InputItem | Picture], every: int | None, fps: float | None,
              on_video: Callable[[str], Callable[[], None] | None] | None) -> Iterator[Picture | Failure | VideoEnd]:
    """Expand inputs into pictures: one per image, the sampled frames of each video and then its `VideoEnd`.

    A `Picture` (an image in memory) passes as it is.
    """
    from fer_cli.imaging import open_upright
    from fer_cli.inference.video import is_video_name, sample_frames

    for item in items:
        if isinstance(item, Picture):
            yield item
        elif item.error:
            yield Failure(item.path, item.error)
        elif is_video_name(item.path):
            advance = on_video(item.path) if on_video else None
            try:
                for frame in sample_frames(item.path, every, fps):
                    if advance:
                        advance()
                    yield Picture({"path": item.path, "frame": frame.index, "time": frame.time},
                                  lambda picture=frame.picture: picture)
            except Exception as exc:  # FFmpeg errors come in many types; each is one bad input
                if debug():
                    traceback.print_exc()
                yield Failure(item.path, f"cannot read video: {describe_error(exc)}")
            yield VideoEnd(item.path)
        else:
            yield Picture({"path": item.path}, lambda path=item.path: open_upright(path))


class Predictor:
    """Predicts the expression of every face in a stream of inputs.

    Args:
        runtime: a loaded runtime (see `fer_cli.runtimes`).
        class_names: the model's class names.
        find_faces: picture → faces. Defaults to `FaceFinder()` (detect unless a face crop).
        top_k: also report the `top_k` best classes. Defaults to `0` (off).
        workers: threads decoding pictures and finding faces. Defaults to `2`.
        batch_size: pictures per runtime call. Defaults to `BATCH`.
    """

    def __init__(self, runtime, class_names: tuple[str, ...], find_faces: Callable[[Any], list[FaceCrop]] | None = None,
                 top_k: int = 0, workers: int = 2, batch_size: int = BATCH):
        self.runtime = runtime
        self.class_names = class_names
        self.find_faces = find_faces or FaceFinder()
        self.top_k = top_k
        self.workers = workers
        self.batch_size = batch_size

    def record(self, meta: dict[str, Any], index: int, face: FaceCrop, probabilities: np.ndarray) -> dict[str, Any]:
        """The output record of one face."""
        best = int(probabilities.argmax())
        record: dict[str, Any] = {
            **meta,
            "face": index,
            "box": list(face.box),
            "label": self.class_names[best],
            "score": round(float(probabilities[best]), 6),
            "scores": {name: round(float(p), 6) for name, p in zip(self.class_names, probabilities)},
        }
        if self.top_k:
            order = np.argsort(-probabilities)[: self.top_k]
            record["top_k"] = [{"label": self.class_names[i], "score": round(float(probabilities[i]), 6)} for i in order]
        return record

    def run(self, items: Iterable[InputItem], every: int | None = None, fps: float | None = None,
            on_video: Callable[[str], Callable[[], None] | None] | None = None) -> Iterator[dict[str, Any] | Failure]:
        """Yield one record per face, in input order; a record with `label` None per picture without a face;
        a `Failure` per bad input.

        Args:
            items: the inputs.
            every: for videos, keep every N-th frame. Defaults to `None`.
            fps: for videos, keep about this many frames per second. Defaults to `None`.
            on_video: called with a video's path as it starts; returns a per-frame callback.
        """
        for result in self.run_pictures(items, every, fps, on_video):
            if isinstance(result, list):
                yield from result
            elif isinstance(result, Failure):
                yield result

    def run_pictures(self, items: Iterable[InputItem], every: int | None = None, fps: float | None = None,
                     on_video: Callable[[str], Callable[[], None] | None] | None = None,
                     ) -> Iterator[list[dict[str, Any]] | Failure | VideoEnd]:
        """Yield the records of each picture (photo or sampled frame) together, in input order.

        Pictures are decoded and searched for faces on a thread pool, then
        predicted a batch at a time, so results stream out as each batch is done.

        Args:
            items: the inputs.
            every: for videos, keep every N-th frame. Defaults to `None`.
            fps: for videos, keep about this many frames per second. Defaults to `None`.
            on_video: called with a video's path as it starts; returns a per-frame callback.

        Yields:
            Per picture, the list of its records (one per face, most confident
            first, or one with `label` None when it has no face); a `Failure` per
            bad input; a `VideoEnd` after each video's frames.
        """
        stream = _pictures(items, every, fps, on_video)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            while batch := list(itertools.islice(stream, self.batch_size)):
                yield from self._run_batch(batch, pool)

    def predict_crops(self, crops: list[np.ndarray]) -> np.ndarray:
        """Class probabilities (N, classes) of face crops (uint8, H x W gray or H x W x 3), in one runtime call."""
        if not crops:
            return np.zeros((0, len(self.class_names)), np.float32)
        batch = np.stack(crops).astype(np.float32)
        return self.runtime.predict(batch[..., None] if batch.ndim == 3 else batch)

    def _faces(self, unit: Picture | Failure | VideoEnd) -> tuple[Picture, list[FaceCrop]] | Failure | VideoEnd:
        if not isinstance(unit, Picture):
            return unit
        try:
            return unit, self.find_faces(unit.load())
        except Exception as exc:  # every decoder failure is one bad input, reported by name
            if debug():
                traceback.print_exc()  # FER_DEBUG=1: the whole story of a per-item error, on stderr
            return Failure(unit.meta.get("path", "image"), describe_error(exc))

    def _run_batch(self, batch: list[Picture | Failure | VideoEnd],
                   pool: ThreadPoolExecutor) -> Iterator[list[dict[str, Any]] | Failure | VideoEnd]:
        found = list(pool.map(self._faces, batch))
        crops = [face.crop for result in found if isinstance(result, tuple) for face in result[1]]
        probabilities = self.predict_crops(crops)
        row = 0
        for result in found:
            if not isinstance(result, tuple):
                yield result
                continue
            picture, faces = result
            if not faces:
                yield [{**picture.meta, "face": None, "box": None, "label": None, "score": None, "scores": None,
                        "reason": NO_FACE}]
                continue
            yield [self.record(picture.meta, index, face, probabilities[row + index]) for index, face in enumerate(faces)]
            row += len(faces)
