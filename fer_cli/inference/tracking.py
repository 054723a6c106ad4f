"""Following faces through a video: which face in this frame is which person of the frames before.

Each person in view is a track. At each sampled frame every live track
predicts where its face is now (its last box moved at its recent velocity),
and the detections are paired with the predictions at the least total cost
(`fer_cli.inference.assignment`), the cost mixing box overlap, centre distance
and size. A detection nobody claims starts a new track; a track nobody matches
waits (a face turned away, a missed detection) and ends once it has been gone
too long. The motion model is what keeps two faces apart when their paths
cross: each is looked for where it is heading, not where it was.

There is no appearance model: a person who leaves and comes back after the gap
gets a new track.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from fer_cli.inference.assignment import linear_sum_assignment

# How long a track waits for its face, in seconds. Detectors miss faces for a
# few frames (a turn of the head, motion blur, a hand); SORT-style trackers keep
# tracks for about 30 frames, a second of 30 fps video.
DEFAULT_MAX_GAP = 1.0
# A track can still be found after missing this many sampled frames, however sparse
# the sampling (at --fps 0.5, one missed frame is already two seconds).
MIN_MISSES_KEPT = 2
# A detection can continue a track only if its centre lies within this many face
# sizes of the predicted centre, and its size is within this factor of the track's.
MAX_DISTANCE = 1.0
MAX_SIZE_RATIO = 2.0
# The velocity is an exponential average of the observed motion with this time
# constant (seconds): long enough to smooth the detector's jitter at 30 fps, short
# enough to follow a change of direction within a few tenths of a second.
VELOCITY_TIME_CONSTANT = 0.3
# The cost of a pair outside the gates: above any sum of allowed costs, so the
# assignment first pairs as many faces as the gates allow, then the cheapest way.
_FORBIDDEN = 1e6


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box of `a` with every box of `b`.

    Args:
        a: float (N, 4) boxes [x, y, w, h].
        b: float (M, 4) boxes [x, y, w, h].

    Returns:
        float (N, M) in [0, 1].
    """
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    left = np.maximum(a[:, None, 0], b[None, :, 0])
    top = np.maximum(a[:, None, 1], b[None, :, 1])
    right = np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2])
    bottom = np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None, :] - inter
    return inter / np.maximum(union, 1e-9)


def association_cost(predicted: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """The cost of continuing each predicted track box with each detected box.

    ``(1 - IoU) + centre distance in face sizes + |log(size ratio)|``: 0 for the
    same box, about 1 for an adjacent one. Pairs outside the gates
    (`MAX_DISTANCE`, `MAX_SIZE_RATIO`) cost `_FORBIDDEN`.

    Args:
        predicted: float (T, 4) boxes [x, y, w, h] where the tracks are expected.
        boxes: float (D, 4) detected boxes.

    Returns:
        float (T, D).
    """
    predicted, boxes = np.asarray(predicted, float).reshape(-1, 4), np.asarray(boxes, float).reshape(-1, 4)
    centres_p = predicted[:, :2] + predicted[:, 2:] / 2
    centres_d = boxes[:, :2] + boxes[:, 2:] / 2
    size_p = np.sqrt(np.maximum(predicted[:, 2] * predicted[:, 3], 1e-9))
    size_d = np.sqrt(np.maximum(boxes[:, 2] * boxes[:, 3], 1e-9))
    distance = np.linalg.norm(centres_p[:, None, :] - centres_d[None, :, :], axis=2)
    distance = distance / ((size_p[:, None] + size_d[None, :]) / 2)
    size_change = np.abs(np.log(size_d[None, :] / size_p[:, None]))
    cost = (1 - box_iou(predicted, boxes)) + distance + size_change
    allowed = (distance <= MAX_DISTANCE) & (size_change <= math.log(MAX_SIZE_RATIO))
    return np.where(allowed, cost, _FORBIDDEN)


@dataclass
class _Track:
    id: int
    box: np.ndarray  # [x, y, w, h] where the face was last seen
    seen: float  # when, in seconds
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))  # of the box's centre, pixels per second
    hits: int = 1
    misses: int = 0  # sampled frames missed since last seen

    def predict(self, time: float) -> np.ndarray:
        """Where the box should be at `time`, moving at the track's velocity."""
        return np.concatenate([self.box[:2] + self.velocity * (time - self.seen), self.box[2:]])

    def see(self, time: float, box: np.ndarray) -> None:
        """Move the track to a new detection of its face."""
        elapsed = time - self.seen
        if elapsed > 0:
            observed = ((box[:2] + box[2:] / 2) - (self.box[:2] + self.box[2:] / 2)) / elapsed
            weight = 1.0 if self.hits == 1 else 1 - math.exp(-elapsed / VELOCITY_TIME_CONSTANT)
            self.velocity = weight * observed + (1 - weight) * self.velocity
        self.box, self.seen = box, time
        self.hits += 1
        self.misses = 0


class Tracker:
    """Gives each face of each sampled frame the number of its track; one tracker per video.

    Args:
        max_gap: seconds a track waits for its face before it ends (it always
            survives `MIN_MISSES_KEPT` missed sampled frames). Defaults to `1.0`.

    Example:
        >>> tracker = Tracker()
        >>> tracker.update(0.0, [(10, 10, 50, 50), (200, 10, 50, 50)])
        [0, 1]
        >>> tracker.update(0.1, [(205, 12, 50, 50), (14, 10, 50, 50)])
        [1, 0]
    """

    def __init__(self, max_gap: float = DEFAULT_MAX_GAP):
        if max_gap < 0:
            raise ValueError("max_gap must be >= 0")
        self.max_gap = max_gap
        self._tracks: list[_Track] = []
        self._next_id = 0

    def update(self, time: float, boxes: Sequence[Sequence[float]]) -> list[int]:
        """Match the faces of the frame at `time` to tracks; call it for every sampled frame, in order.

        Args:
            time: the frame's time in seconds (not earlier than the last call's).
            boxes: the faces found in the frame, [x, y, w, h] each (none is fine: the tracks wait).

        Returns:
            The track number of each box, in the order given. Numbers start at 0 and
            count up in order of first appearance; a number is never reused.
        """
        self._tracks = [t for t in self._tracks if t.misses <= MIN_MISSES_KEPT or time - t.seen <= self.max_gap]
        detected = np.asarray(boxes, dtype=float).reshape(-1, 4)
        ids: list[int | None] = [None] * len(detected)
        matched: set[int] = set()
        if self._tracks and len(detected):
            cost = association_cost(np.stack([t.predict(time) for t in self._tracks]), detected)
            for row, column in zip(*linear_sum_assignment(cost)):
                if cost[row, column] < _FORBIDDEN:
                    track = self._tracks[row]
                    track.see(time, detected[column])
                    ids[column] = track.id
                    matched.add(row)
        for row, track in enumerate(self._tracks):
            if row not in matched:
                track.misses += 1
        for column, box in enumerate(detected):
            if ids[column] is None:
                self._tracks.append(_Track(self._next_id, box, time))
                ids[column] = self._next_id
                self._next_id += 1
        return [int(i) for i in ids]
