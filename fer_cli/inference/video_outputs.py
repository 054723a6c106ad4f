"""What a prediction run makes besides its per-frame records: annotated copies, per-track summaries, the timeline chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class VideoOutputs:
    """Routes each picture's records to the outputs asked for.

    Args:
        class_names: the model's classes, in order.
        annotate: write annotated copies of photos and videos into this folder. Defaults to `None`.
        plot: draw each track's scores over time to this PNG at the end. Defaults to `None`.
        summary: summarise each video as one row per track. Defaults to `False`.
    """

    def __init__(self, class_names: tuple[str, ...], annotate: Path | None = None, plot: Path | None = None,
                 summary: bool = False):
        from fer_cli.inference.summary import VideoSummary

        self.class_names = class_names
        self.annotator = None
        if annotate:
            from fer_cli.inference.annotate import Annotator

            self.annotator = Annotator(annotate)
        self.plot = plot
        self.timeline = None
        if plot:
            from fer_cli.inference.timeline_plot import Timeline

            self.timeline = Timeline(class_names)
        self._summary_of = VideoSummary if summary else None
        self._summary = None
        self._video_records: list[dict[str, Any]] = []
        self.skipped_photos = 0

    def add(self, records: list[dict[str, Any]]) -> None:
        """Take the records of one photo or video frame."""
        if "frame" not in records[0]:  # a photo
            if self.annotator:
                self.annotator.write(records[0]["path"], records)
            if self._summary_of:
                self.skipped_photos += 1
            return
        if self.annotator:
            self._video_records.extend(records)
        for record in records:
            if self.timeline is not None:
                self.timeline.add(record)
            if self._summary_of:
                if self._summary is None:
                    self._summary = self._summary_of(record["path"], self.class_names)
                self._summary.add(record)

    def finish(self, path: str) -> list[dict[str, Any]]:
        """End a video: write its annotated copy; return its summary rows (none without `summary`)."""
        records, self._video_records = self._video_records, []
        summary, self._summary = self._summary, None
        if self.annotator and records:
            self.annotator.write_video(path, records)
        return summary.rows() if summary else []

    def draw_plot(self) -> int:
        """Write the timeline chart; return how many tracks were left out."""
        return self.timeline.draw(self.plot) if self.timeline is not None else 0

    @property
    def plotted_tracks(self) -> int:
        return len(self.timeline) if self.timeline is not None else 0
