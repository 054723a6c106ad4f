"""One record per track: when a person was in view, and how long they showed each expression."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class _TrackTotals:
    start: float
    end: float
    frames: int = 0
    score_sums: np.ndarray | None = None
    label_counts: dict[str, int] = field(default_factory=dict)


class VideoSummary:
    """Adds up the records of one video, track by track; `rows` gives one summary record per track.

    Each row says when the track was first and last seen, in how many sampled
    frames, its mean raw scores, its dominant label and the share of its frames
    that showed each label. The labels are the records' (the smoothed ones with
    ``--smooth``); the means are of the raw scores, which smoothing would only blur.

    Args:
        path: the video, as the records name it.
        class_names: the model's classes, in order.
    """

    def __init__(self, path: str, class_names: tuple[str, ...]):
        self.path = path
        self.class_names = class_names
        self._tracks: dict[int, _TrackTotals] = {}

    def add(self, record: dict[str, Any]) -> None:
        """Count one record (records without a track, from frames without a face, are skipped)."""
        track = record.get("track")
        if track is None:
            return
        totals = self._tracks.setdefault(track, _TrackTotals(start=record["time"], end=record["time"]))
        raw = record.get("raw_scores", record["scores"])
        scores = np.array([raw[name] for name in self.class_names], dtype=np.float64)
        totals.score_sums = scores if totals.score_sums is None else totals.score_sums + scores
        totals.end = record["time"]
        totals.frames += 1
        totals.label_counts[record["label"]] = totals.label_counts.get(record["label"], 0) + 1

    def rows(self) -> list[dict[str, Any]]:
        """One record per track, in track order.

        Returns:
            Records with `path`, `track`, `start` and `end` (seconds: the first and
            last frame it was seen in), `frames`, `label` (the label of most of its
            frames; a tie goes to the higher mean score), `share` (that label's share
            of its frames), `scores` (mean probability of each class) and `shares`
            (each class's share of its frames; they sum to 1).
        """
        rows = []
        for track, totals in sorted(self._tracks.items()):
            means = totals.score_sums / totals.frames
            shares = {name: totals.label_counts.get(name, 0) / totals.frames for name in self.class_names}
            label = max(self.class_names, key=lambda name: (shares[name], means[self.class_names.index(name)]))
            rows.append({
                "path": self.path, "track": track, "start": totals.start, "end": totals.end, "frames": totals.frames,
                "label": label, "share": round(shares[label], 6),
                "scores": {name: round(float(m), 6) for name, m in zip(self.class_names, means)},
                "shares": {name: round(s, 6) for name, s in shares.items()},
            })
        return rows


def describe_shares(shares: dict[str, float]) -> str:
    """The labels a track showed, most frequent first, e.g. ``happy 80%, neutral 20%`` (for tables)."""
    shown = sorted(((s, name) for name, s in shares.items() if s > 0), reverse=True)
    return ", ".join(f"{name} {s:.0%}" for s, name in shown)
