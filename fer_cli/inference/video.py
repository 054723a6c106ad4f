"""Reading frames from video files (PyAV, which bundles FFmpeg in its wheel)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv"})


def is_video_name(path: Path | str) -> bool:
    """Whether a file name looks like a video we read."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES and not Path(path).name.startswith(".")


@dataclass(frozen=True)
class Frame:
    """One sampled frame of a video.

    Attributes:
        index: frame number, from 0.
        time: presentation time in seconds.
        picture: the frame as a Pillow RGB image.
    """

    index: int
    time: float
    picture: object


def sample_frames(path: Path | str, every: int | None = None, fps: float | None = None) -> Iterator[Frame]:
    """Yield frames of a video: every `every`-th frame, or about `fps` frames per second, or all.

    Args:
        path: the video file.
        every: keep frames 0, N, 2N, ... Defaults to `None`.
        fps: keep the first frame at or after each multiple of 1/fps seconds. Defaults to `None`.

    Raises:
        av.error.FFmpegError (an OSError or ValueError): when the file cannot be decoded.
    """
    import av

    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or 25)
        next_time = 0.0
        for index, frame in enumerate(container.decode(stream)):
            time = float(frame.time) if frame.time is not None else index / rate
            if every and index % every:
                continue
            if fps:
                if time + 1e-6 < next_time:
                    continue
                next_time = (math.floor(time * fps + 1e-6) + 1) / fps
            yield Frame(index=index, time=round(time, 3), picture=frame.to_image())


def expected_samples(path: Path | str, every: int | None = None, fps: float | None = None) -> int | None:
    """About how many frames `sample_frames` will yield (for a progress bar), or `None` if unknown."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            frames = int(stream.frames or 0)
            duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
    except Exception:  # an unreadable video is reported when it is decoded
        return None
    if fps and duration:
        return max(1, math.ceil(duration * fps))
    if frames:
        return math.ceil(frames / every) if every else frames
    return None
