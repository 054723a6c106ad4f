"""Drawing the faces found and their labels on a copy of a photo, or of a video (with track numbers)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

COLOURS = {
    "angry": (220, 40, 40), "disgust": (120, 160, 30), "fear": (150, 60, 200), "happy": (240, 190, 0),
    "neutral": (150, 150, 150), "sad": (40, 110, 220), "surprise": (240, 120, 20),
}


class Annotator:
    """Writes annotated copies of photos into one folder, never overwriting one with another.

    Args:
        folder: where the copies go (created if missing).
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._taken: set[str] = set()

    def _target(self, source: Path, suffix: str | None = None) -> Path:
        stem, suffix = source.stem, suffix or source.suffix.lower()
        if suffix not in (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".mp4"):
            suffix = ".png"
        name, number = f"{stem}{suffix}", 1
        while name in self._taken:
            number += 1
            name = f"{stem}-{number}{suffix}"
        self._taken.add(name)
        return self.folder / name

    def write(self, path: str, records: list[dict[str, Any]]) -> Path:
        """Draw each record's box and label on the photo at `path`; return the copy's path."""
        from fer_cli.atomic import atomic_path
        from fer_cli.imaging import open_upright

        picture = open_upright(path).convert("RGB")
        draw_faces(picture, records, photo_caption)
        target = self._target(Path(path))
        with atomic_path(target) as tmp:
            picture.save(tmp, format="PNG" if target.suffix == ".png" else None)
        return target

    def write_video(self, path: str, records: list[dict[str, Any]]) -> Path:
        """Write a copy of the video at `path` with each record's box, track and label drawn; return its path.

        The copy has every frame of the source, at its frame rate and size
        (cut to even sides, as the encoder needs), no audio, as an MP4 (see
        `fer_cli.inference.video.VideoEncoder`). A frame that was not predicted
        (``--every``, ``--fps``) shows the faces of the last one that was.

        Args:
            path: the video.
            records: its records (with `frame`; `track` is drawn when present).
        """
        from fer_cli.atomic import atomic_path
        from fer_cli.inference.video import VideoEncoder, decode_frames, frame_rate

        by_frame: dict[int, list[dict[str, Any]]] = {}
        for record in records:
            by_frame.setdefault(record["frame"], []).append(record)
        target = self._target(Path(path), ".mp4")
        shown: list[dict[str, Any]] = []
        with atomic_path(target) as tmp:
            with VideoEncoder(tmp, frame_rate(path)) as encoder:
                for index, picture in decode_frames(path):
                    shown = by_frame.get(index, shown)
                    draw_faces(picture, shown, video_caption)
                    encoder.write(picture)
        return target


def photo_caption(record: dict[str, Any]) -> str:
    """``happy 82%``."""
    return f"{record['label']} {record['score']:.0%}"


def video_caption(record: dict[str, Any]) -> str:
    """``#1 happy 82%``: the track first, so a person can be followed from frame to frame."""
    track = record.get("track")
    return f"#{track} {photo_caption(record)}" if track is not None else photo_caption(record)


def draw_faces(picture, records: list[dict[str, Any]], caption: Callable[[dict[str, Any]], str] = photo_caption) -> None:
    """Draw each record's box, in its label's colour, and its caption on an RGB Pillow image, in place.

    Args:
        picture: the image the records' boxes refer to.
        records: records with `box`, `label` and `score` (those without a box are skipped).
        caption: the text above each box. Defaults to `photo_caption`.
    """
    from PIL import ImageDraw, ImageFont

    draw = ImageDraw.Draw(picture)
    line = max(2, round(max(picture.size) / 300))
    font = ImageFont.load_default(size=max(12, round(max(picture.size) / 40)))
    for record in records:
        if not record.get("box"):
            continue
        x, y, w, h = record["box"]
        colour = COLOURS.get(record["label"], (0, 200, 0))
        draw.rectangle((x, y, x + w, y + h), outline=colour, width=line)
        text = caption(record)
        left, top, right, bottom = draw.textbbox((x, y), text, font=font)
        lift = bottom - top + 2 * line
        top_y = y - lift if y - lift >= 0 else y + h
        draw.rectangle((x, top_y, x + (right - left) + 2 * line, top_y + lift), fill=colour)
        draw.text((x + line, top_y + line - (top - y)), text, fill=(0, 0, 0), font=font)
