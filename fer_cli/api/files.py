"""`FileRun`: the records of files and folders, photos and videos, as `fer predict` prints them."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from fer_cli.inference.follow import follow_faces
from fer_cli.inference.inputs import expand_inputs
from fer_cli.inference.predictor import Failure, Predictor, VideoEnd
from fer_cli.inference.tracking import DEFAULT_MAX_GAP
from fer_cli.inference.video_outputs import VideoOutputs


class FileRun:
    """Iterate for each picture's records (a list of dicts), each video's summary rows, and a `Failure` per bad input.

    Args:
        predictor: the model and face finder (`Recognizer.predictor()`).
        paths: files and folders (searched recursively for images and videos).
        every: videos: predict every N-th frame. Defaults to every frame.
        fps: videos: predict about F frames per second. Defaults to every frame.
        smooth: videos: average each track's scores over a window of this many seconds. Defaults to off.
        track_gap: videos: seconds a track waits for a face it lost. Defaults to `1`.
        summary: videos: one row per track instead of one per frame (photos are left out). Defaults to `False`.
        annotate: write annotated copies of the photos and videos into this folder. Defaults to `None`.
        plot: draw each track's scores over time to this PNG when the run ends. Defaults to `None`.
        on_video: called with a video's path as it starts; returns a callback run per sampled frame.

    Attributes:
        records: how many records came out.
        failures: how many inputs failed.
        notes: warnings for people, known once the run ends.
    """

    def __init__(self, predictor: Predictor, paths: Iterable[str], *, every: int | None = None,
                 fps: float | None = None, smooth: float | None = None, track_gap: float | None = None,
                 summary: bool = False, annotate: Path | None = None, plot: Path | None = None,
                 on_video: Callable[[str], Callable[[], None] | None] | None = None):
        if every and fps:
            raise ValueError("give every or fps, not both")
        self.class_names = predictor.class_names
        self.records = 0
        self.failures = 0
        self.inputs = 0
        self.notes: list[str] = []
        self._summary = summary
        self._outputs = VideoOutputs(self.class_names, annotate, plot, summary)
        items = (self._count(item) for item in expand_inputs(paths))
        pictures = predictor.run_pictures(items, every=every, fps=fps, on_video=on_video)
        gap = DEFAULT_MAX_GAP if track_gap is None else track_gap
        self._stream = self._run(follow_faces(pictures, max_gap=gap, smooth=smooth))

    def _count(self, item):
        self.inputs += 1
        return item

    def __iter__(self) -> Iterator[list[dict[str, Any]] | Failure]:
        return self._stream

    def _run(self, results) -> Iterator[list[dict[str, Any]] | Failure]:
        for result in results:
            if isinstance(result, Failure):
                self.failures += 1
                yield result
            elif isinstance(result, VideoEnd):
                yield from self._finish_video(result.path)
            else:
                self._outputs.add(result)
                if not self._summary:
                    self.records += len(result)
                    yield result
        self._finish()

    def _finish_video(self, path: str) -> Iterator[list[dict[str, Any]] | Failure]:
        try:
            rows = self._outputs.finish(path)
        except Exception as exc:  # one video's annotation failing must not stop the batch
            from fer_cli.imaging import describe_error

            self.failures += 1
            yield Failure(path, f"cannot write the annotated video: {describe_error(exc)}")
            return
        if rows:
            self.records += len(rows)
            yield rows

    def _finish(self) -> None:
        if self._outputs.skipped_photos:
            self.notes.append(f"--summary summarises videos: {self._outputs.skipped_photos} photo(s) left out")
        if self._outputs.plot:
            left_out = self._outputs.draw_plot()
            if left_out:
                drawn = self._outputs.plotted_tracks - left_out
                self.notes.append(f"{self._outputs.plot}: drew the {drawn} longest tracks, {left_out} left out")
        if self.inputs == 0:
            self.notes.append("no images or videos found: nothing to predict")
        elif self._summary and self.records == 0 and self.inputs > self.failures:
            self.notes.append("no face found in any video: no track to summarise")


def chain_paths(arguments: Iterable[str], stdin_lines: Callable[[], Iterable[str]]) -> Iterator[str]:
    """The paths of the arguments, ``-`` replaced by the lines `stdin_lines` gives."""
    return itertools.chain.from_iterable(stdin_lines() if a == "-" else [a] for a in arguments)
