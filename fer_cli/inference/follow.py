"""Turning a video's per-frame records into per-person ones: a `track` on each, and optional smoothing."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fer_cli.inference.predictor import Failure, VideoEnd
from fer_cli.inference.smoothing import Smoother
from fer_cli.inference.tracking import DEFAULT_MAX_GAP, Tracker

Result = list[dict[str, Any]] | Failure | VideoEnd


def with_track(record: dict[str, Any], track: int | None) -> dict[str, Any]:
    """A copy of `record` with `track` placed right after `face`."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key == "track":
            continue
        out[key] = value
        if key == "face":
            out["track"] = track
    out.setdefault("track", track)
    return out


def follow_faces(results: Iterable[Result], max_gap: float = DEFAULT_MAX_GAP,
                 smooth: float | None = None) -> Iterator[Result]:
    """Give every video record its `track`, and smooth each track's scores if asked; the rest passes unchanged.

    Args:
        results: `Predictor.run_pictures`'s stream: each picture's records, failures, video ends.
        max_gap: seconds a track waits for a face it lost (`Tracker`). Defaults to `1.0`.
        smooth: window in seconds for `Smoother`, or `None` for raw scores. Defaults to `None`.

    Yields:
        The same stream, each video frame's records with `track` (null in a frame
        without a face). With `smooth`, a frame comes out once the window after it
        has been predicted (at the latest at its video's end), and its records carry
        the smoothed `label`, `score`, `scores` and the raw ones as `raw_label`,
        `raw_score`, `raw_scores`.
    """
    tracker: Tracker | None = None
    smoother: Smoother | None = None
    for result in results:
        if isinstance(result, list) and "frame" in result[0]:
            if tracker is None:
                tracker = Tracker(max_gap)
                smoother = Smoother(smooth) if smooth else None
            faces = [r for r in result if r["box"] is not None]
            tracks = iter(tracker.update(result[0]["time"], [r["box"] for r in faces]))
            frame = [with_track(r, next(tracks) if r["box"] is not None else None) for r in result]
            if smoother:
                yield from smoother.push(result[0]["time"], frame)
            else:
                yield frame
            continue
        if not isinstance(result, list) and smoother:  # the video ended (maybe with a failure): release its frames
            yield from smoother.finish()
        if isinstance(result, VideoEnd):
            tracker = smoother = None
        yield result
