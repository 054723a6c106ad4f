"""`VideoPrediction`: the frames of one video, each face with its track, and the per-track summary."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fer_cli.api.results import Faces, to_dataframe
from fer_cli.errors import DataError
from fer_cli.inference.follow import follow_faces
from fer_cli.inference.inputs import expand_inputs
from fer_cli.inference.predictor import Failure, Predictor, VideoEnd
from fer_cli.inference.summary import VideoSummary


class VideoPrediction:
    """Iterate for a `Faces` per sampled frame (with `frame` and `time`; each face has its `track`).

    Frames are predicted as they are read, so a long video streams. `summary`
    finishes the video and gives one row per track: what ``fer predict --summary``
    prints.

    Raises (while iterating):
        DataError: when the video cannot be read (the frames before the error have been given).
    """

    def __init__(self, predictor: Predictor, source: str | Path, *, fps: float | None, every: int | None,
                 smooth: float | None, track_gap: float):
        from fer_cli.inference.video import VIDEO_SUFFIXES, is_video_name

        if every and fps:
            raise ValueError("give every or fps, not both")
        self.path = str(source)
        if not is_video_name(self.path):
            raise DataError(f"{self.path}: not a video file name ({', '.join(sorted(VIDEO_SUFFIXES))})")
        self._summary = VideoSummary(self.path, predictor.class_names)
        self._frames = self._run(predictor, fps, every, smooth, track_gap)

    def __iter__(self) -> Iterator[Faces]:
        return self._frames

    def __next__(self) -> Faces:
        return next(self._frames)

    def _run(self, predictor: Predictor, fps, every, smooth, track_gap) -> Iterator[Faces]:
        stream = predictor.run_pictures(expand_inputs([self.path]), every=every, fps=fps)
        for result in follow_faces(stream, max_gap=track_gap, smooth=smooth):
            if isinstance(result, Failure):
                raise DataError(f"{result.path}: {result.reason}")
            if isinstance(result, VideoEnd):
                continue
            for record in result:
                self._summary.add(record)
            yield Faces(result)

    def summary(self) -> list[dict[str, Any]]:
        """One row per track (start, end, frames, label, share, mean scores, shares), after the frames not yet read."""
        for _ in self._frames:
            pass
        return self._summary.rows()

    def to_pandas(self):
        """The frames not yet read as a pandas DataFrame, a row per face (or per frame without one)."""
        return to_dataframe(list(self._frames))

