"""Smoothing each track's scores over a sliding time window, so one odd frame does not flip its label.

The window is centred on each frame: a frame's smoothed scores are the mean
of its track's raw scores at most half a window before and after it. So the
smoothed label changes when the expression does, not half a window later, at
the price of holding each frame back by half a window of video time while its
later neighbours are predicted.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np


def smoothed_record(record: dict[str, Any], scores: np.ndarray) -> dict[str, Any]:
    """`record` with `label`, `score`, `scores` (and `top_k`) from `scores`; its own kept as `raw_*`.

    Args:
        record: a face's record, with `scores` by class name.
        scores: the smoothed probabilities, in the order of ``record["scores"]``.

    Returns:
        A new record: the smoothed fields where the raw ones were, and
        `raw_label`, `raw_score`, `raw_scores` appended.
    """
    names = list(record["scores"])
    best = int(np.argmax(scores))
    out = {**record, "label": names[best], "score": round(float(scores[best]), 6),
           "scores": {name: round(float(p), 6) for name, p in zip(names, scores)}}
    if "top_k" in record:
        order = np.argsort(-scores, kind="stable")[: len(record["top_k"])]
        out["top_k"] = [{"label": names[i], "score": round(float(scores[i]), 6)} for i in order]
    out.update(raw_label=record["label"], raw_score=record["score"], raw_scores=record["scores"])
    return out


class Smoother:
    """Smooths the records of one video, frame by frame, in order; one smoother per video.

    Args:
        window: the window's length in seconds, centred on each frame.

    Example::

        smoother = Smoother(1.0)
        smoother.push(0.0, first)   # []: frames up to 0.5 s later may still come
        smoother.push(0.6, second)  # [the records of the frame at 0.0, smoothed]
        smoother.finish()           # [the records of the frame at 0.6, smoothed]
    """

    def __init__(self, window: float):
        if window <= 0:
            raise ValueError("the smoothing window must be positive")
        self.half = window / 2
        self._pending: deque[tuple[float, list[dict[str, Any]]]] = deque()  # frames not yet released
        self._history: dict[int, deque[tuple[float, np.ndarray]]] = {}  # track → (time, raw scores)

    def push(self, time: float, records: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """Add the records of the frame at `time` (each with `track`); return the frames now complete.

        A frame is complete once a frame more than half a window after it has
        come. Records without a track (a frame with no face) pass unchanged, in
        their place.

        Returns:
            The records of each complete frame, as a list, oldest frame first.
        """
        for record in records:
            if record.get("track") is not None:
                scores = np.fromiter(record["scores"].values(), dtype=np.float64)
                self._history.setdefault(record["track"], deque()).append((time, scores))
        self._pending.append((time, records))
        ready = []
        while self._pending[0][0] + self.half < time:
            ready.append(self._release())
        return ready

    def finish(self) -> list[list[dict[str, Any]]]:
        """The frames still held (at the end of the video), as `push` returns them."""
        return [self._release() for _ in range(len(self._pending))]

    def _release(self) -> list[dict[str, Any]]:
        time, records = self._pending.popleft()
        released = [record if record.get("track") is None else smoothed_record(record, self._mean(record["track"], time))
                    for record in records]
        # Scores older than half a window before the oldest held frame are needed no more.
        oldest = self._pending[0][0] if self._pending else np.inf
        for history in self._history.values():
            while history and history[0][0] < oldest - self.half - 1e-9:
                history.popleft()
        return released

    def _mean(self, track: int, time: float) -> np.ndarray:
        """The mean raw scores of `track` within half a window of `time`."""
        return np.mean([s for t, s in self._history[track] if abs(t - time) <= self.half + 1e-9], axis=0)
