"""The timeline chart of ``fer predict VIDEO --plot``: each track's scores over time, one panel per track.

Drawn with matplotlib, which only the ``[plot]`` (or ``[train]``) install has;
it is imported through `fer_cli.optional.require`, so a light install gets one
line saying what to install. The figure is built without pyplot, so drawing
leaves no global state (backend, open figures) behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fer_cli.inference.annotate import COLOURS

# More panels than this make an unreadably tall picture; the longest tracks are drawn.
MAX_PANELS = 12
# A track unseen for longer than this many sampling intervals has a gap in its lines.
GAP_STEPS = 1.5


@dataclass
class TrackSeries:
    """What one track showed over time.

    Attributes:
        path: the video.
        track: its number in the video.
        times: seconds, one per frame it was seen in.
        scores: the scores shown in the records (smoothed with ``--smooth``), one row per time.
        labels: the label of each of those frames.
    """

    path: str
    track: int
    times: list[float] = field(default_factory=list)
    scores: list[list[float]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


class Timeline:
    """Collects the tracks of the videos predicted, then draws them.

    Args:
        class_names: the model's classes, in order (one line each).
    """

    def __init__(self, class_names: tuple[str, ...]):
        self.class_names = class_names
        self._series: dict[tuple[str, int], TrackSeries] = {}
        self._video_end: dict[str, float] = {}
        self._step: dict[str, float] = {}  # the sampling interval of each video

    def add(self, record: dict[str, Any]) -> None:
        """Add a video record (records without a track only extend their video's time axis)."""
        path, time = record["path"], record["time"]
        if path in self._video_end and time > self._video_end[path]:
            step = time - self._video_end[path]
            self._step[path] = min(self._step.get(path, step), step)
        self._video_end[path] = max(self._video_end.get(path, time), time)
        if record.get("track") is None:
            return
        series = self._series.setdefault((path, record["track"]), TrackSeries(path, record["track"]))
        series.times.append(time)
        series.scores.append([record["scores"][name] for name in self.class_names])
        series.labels.append(record["label"])

    def __len__(self) -> int:
        return len(self._series)

    def draw(self, target: Path, max_panels: int = MAX_PANELS) -> int:
        """Write the chart to `target` (atomically); its format follows the suffix (PNG unless .svg or .pdf).

        Args:
            target: the picture to write.
            max_panels: draw at most this many tracks, those seen in the most frames. Defaults to `12`.

        Returns:
            How many tracks were left out for want of room.
        """
        from fer_cli.atomic import atomic_path
        from fer_cli.optional import require

        figure_module = require("matplotlib.figure")
        chosen = sorted(self._series.values(), key=lambda s: -len(s.times))[:max_panels]
        order = list(dict.fromkeys(s.path for s in self._series.values()))
        chosen.sort(key=lambda s: (order.index(s.path), s.track))
        panels = max(1, len(chosen))
        figure = figure_module.Figure(figsize=(9, 0.6 + 1.9 * panels), dpi=100, layout="constrained")
        axes = figure.subplots(panels, 1, squeeze=False)[:, 0]
        for ax, series in zip(axes, chosen):
            self._draw_track(ax, series)
        if not chosen:
            axes[0].text(0.5, 0.5, "no face followed", ha="center", va="center", transform=axes[0].transAxes)
            axes[0].set_axis_off()
        else:
            handles = axes[0].get_lines()[: len(self.class_names)]
            figure.legend(handles, self.class_names, loc="outside upper center", ncols=len(self.class_names),
                          frameon=False, fontsize=9)
            axes[-1].set_xlabel("time (s)")
        suffix = Path(target).suffix.lower()
        fmt = suffix[1:] if suffix in (".png", ".svg", ".pdf") else "png"
        with atomic_path(Path(target)) as tmp:
            figure.savefig(tmp, format=fmt)
        return len(self._series) - len(chosen)

    def _draw_track(self, ax, series: TrackSeries) -> None:
        times = np.asarray(series.times)
        scores = np.asarray(series.scores)
        step = self._step.get(series.path, 1.0)
        # Break the lines where the track went unseen, rather than draw across the gap.
        breaks = np.nonzero(np.diff(times) > GAP_STEPS * step)[0] + 1
        times_gapped = np.insert(times, breaks, np.nan)
        scores_gapped = np.insert(scores, breaks, np.nan, axis=0)
        for index, name in enumerate(self.class_names):
            ax.plot(times_gapped, scores_gapped[:, index], color=_colour(name), linewidth=1.4)
        # The label of each frame as a coloured band above the lines, as long as the frame lasts.
        for time, label in zip(times, series.labels):
            ax.axvspan(time, time + step, ymin=0.93, ymax=1.0, color=_colour(label), linewidth=0)
        counts = {label: series.labels.count(label) for label in set(series.labels)}
        dominant = max(counts, key=counts.get)
        ax.set_title(f"{Path(series.path).name}, track {series.track}: {dominant} in "
                     f"{counts[dominant] / len(series.labels):.0%} of {len(series.labels)} frames", fontsize=10, loc="left")
        ax.set_xlim(0, self._video_end[series.path] + step)
        ax.set_ylim(0, 1.08)
        ax.set_ylabel("probability")
        ax.grid(alpha=0.3)


def _colour(label: str) -> tuple[float, float, float]:
    red, green, blue = COLOURS.get(label, (0, 160, 0))
    return red / 255, green / 255, blue / 255
