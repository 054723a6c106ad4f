"""Reading and writing video files (PyAV, which bundles FFmpeg in its wheel)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
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
    next_time = 0.0
    for index, time, frame in _decoded(path):
        if every and index % every:
            continue
        if fps:
            if time + 1e-6 < next_time:
                continue
            next_time = (math.floor(time * fps + 1e-6) + 1) / fps
        yield Frame(index=index, time=round(time, 3), picture=frame.to_image())


def _video_stream(container):
    """The first video stream of an open container.

    Raises:
        ValueError: when the file has none.
    """
    if not container.streams.video:
        raise ValueError("no video stream")
    return container.streams.video[0]


def _decoded(path: Path | str) -> Iterator[tuple[int, float, object]]:
    """Yield every frame of a video as (index from 0, time in seconds, PyAV frame), decoded on FFmpeg's threads.

    Raises:
        av.error.FFmpegError (an OSError or ValueError): when the file cannot be decoded.
    """
    import av

    with av.open(str(path)) as container:
        stream = _video_stream(container)
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or 25)
        for index, frame in enumerate(container.decode(stream)):
            yield index, float(frame.time) if frame.time is not None else index / rate, frame


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


def frame_rate(path: Path | str) -> Fraction:
    """A video's average frame rate (25 when the file does not say).

    Raises:
        av.error.FFmpegError (an OSError or ValueError): when the file cannot be opened.
    """
    import av

    with av.open(str(path)) as container:
        return Fraction(_video_stream(container).average_rate or 25)


def decode_frames(path: Path | str) -> Iterator[tuple[int, object]]:
    """Yield every frame of a video as (index from 0, Pillow RGB image), numbered as `sample_frames` numbers them.

    Raises:
        av.error.FFmpegError (an OSError or ValueError): when the file cannot be decoded.
    """
    for index, _, frame in _decoded(path):
        yield index, frame.to_image()


# Encoders for annotated videos, best first. H.264 plays in every browser and player; PyAV's
# wheels build FFmpeg with libx264 (av 18.1 on x86-64 Linux has it). MPEG-4 part 2 is FFmpeg's
# own encoder, in every build, for a PyAV built against an FFmpeg without libx264.
ENCODERS = ("libx264", "mpeg4")


def pick_encoder() -> str:
    """The first of `ENCODERS` this PyAV can write with."""
    import av

    for name in ENCODERS:
        try:
            av.codec.Codec(name, "w")
        except Exception:  # UnknownCodecError, or a codec without an encoder: try the next one
            continue
        return name
    raise RuntimeError(f"this FFmpeg (PyAV {av.__version__}) has none of the video encoders {', '.join(ENCODERS)}")


class VideoEncoder:
    """Writes Pillow images as the frames of an MP4 video, H.264 where available (see `ENCODERS`).

    The first picture sets the size (cut to even sides: 4:2:0 video needs them);
    later ones are cut to it. Use as a context manager: leaving the block
    without an error flushes the encoder and finishes the file.

    Args:
        target: the .mp4 file to write.
        rate: frames per second.
    """

    def __init__(self, target: Path | str, rate: Fraction | float):
        import av

        self._av = av
        self.codec = pick_encoder()
        self.rate = Fraction(rate).limit_denominator(100_000)
        self._container = av.open(str(target), "w", format="mp4")
        self._stream = None
        self.frames = 0

    def __enter__(self) -> VideoEncoder:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        try:
            if kind is None:
                if self._stream is None:
                    raise ValueError("no frames to write")
                self._container.mux(self._stream.encode())
        finally:
            self._container.close()

    def write(self, picture) -> None:
        """Encode one RGB Pillow image as the next frame."""
        if self._stream is None:
            self._stream = self._open_stream(picture.width - picture.width % 2, picture.height - picture.height % 2)
        size = (self._stream.width, self._stream.height)
        if picture.size != size:
            picture = picture.crop((0, 0, *size))
        self._container.mux(self._stream.encode(self._av.VideoFrame.from_image(picture)))
        self.frames += 1

    def _open_stream(self, width: int, height: int):
        stream = self._container.add_stream(self.codec, rate=self.rate)
        stream.width, stream.height, stream.pix_fmt = max(2, width), max(2, height), "yuv420p"
        if self.codec == "libx264":
            # crf 23 is x264's default quality; "veryfast" encodes 720p several times faster than
            # "medium" for a slightly larger file, which suits a preview.
            stream.options = {"crf": "23", "preset": "veryfast"}
        else:
            stream.bit_rate = max(1_000_000, round(width * height * float(self.rate) * 0.15))
        return stream
