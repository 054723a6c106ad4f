"""A small video the tracking tests make: two faces on paths that cross in x, one hidden for a while.

Face A (the astronaut of samples/astronaut.png) moves left to right along the
top; face B (her mirror image, in gray) moves right to left along the bottom.
They pass each other in the middle of the clip, and B is hidden (not drawn) for
a stretch around that moment, during which it moves about one face width: a
tracker that looked for B where it was last seen, rather than where it is
heading, would lose it.

Run it to write a clip: ``python tests/video_clips.py clip.mp4 [--expressive]``.
With ``--expressive`` (needs ../shared/data/photos) B is a man whose expression
changes at 70% of the clip, from neutral to angry: two different photos, glued into one
person, to show a change on a timeline.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO.parent / "shared" / "data" / "photos"
# The astronaut's head in samples/astronaut.png (CenterFace finds her face at 182, 58, 88x120), with a margin.
ASTRONAUT_HEAD = (160, 30, 294, 200)
# The heads of two of the shared photos, found the same way.
NEUTRAL_HEAD = ("neutral_man.jpg", (60, 120, 930, 1300))
ANGRY_HEAD = ("angry_man_snarl.jpg", (240, 0, 820, 660))


@dataclass(frozen=True)
class CrossingClip:
    """Where each face is drawn in each frame.

    Attributes:
        path: the video file.
        rate: frames per second.
        frames: how many frames.
        boxes: for each face ("A", "B"), per frame, the sprite's [x, y, w, h], or None when hidden.
        hidden: the first and last frame in which B is hidden.
    """

    path: Path
    rate: int
    frames: int
    boxes: dict[str, list[tuple[int, int, int, int] | None]]
    hidden: tuple[int, int]

    def face_at(self, frame: int, box: list[int]) -> str | None:
        """Which face's sprite holds the centre of `box` in `frame` (None if neither)."""
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        for name, boxes in self.boxes.items():
            sprite = boxes[frame]
            if sprite and sprite[0] <= cx <= sprite[0] + sprite[2] and sprite[1] <= cy <= sprite[1] + sprite[3]:
                return name
        return None


def _head(path: Path, region: tuple[int, int, int, int], height: int) -> Image.Image:
    head = Image.open(path).convert("RGB").crop(region)
    return head.resize((round(head.width * height / head.height), height), Image.Resampling.LANCZOS)


def write_crossing_clip(path: Path, size: tuple[int, int] = (320, 240), rate: int = 10, seconds: float = 3.0,
                        hidden: tuple[float, float] | None = None, expressive: bool = False) -> CrossingClip:
    """Write the clip (MPEG-4 part 2 in MP4, as FFmpeg's own encoder is in every PyAV build).

    Args:
        path: the .mp4 to write.
        size: width and height. Defaults to `(320, 240)`.
        rate: frames per second. Defaults to `10`.
        seconds: length. Defaults to `3.0`.
        hidden: B is not drawn from this time to that. Defaults to 0.4 s either side of the
            middle, where the faces pass each other.
        expressive: B is a man who turns from neutral to angry at 70% of the clip (needs ../shared). Defaults to `False`.

    Returns:
        Where each face was drawn.
    """
    import av

    width, height = size
    sprite_height = round(height * 0.36)
    face_a = _head(REPO / "samples" / "astronaut.png", ASTRONAUT_HEAD, sprite_height)
    if expressive:
        faces_b = [_head(PHOTOS / name, region, sprite_height) for name, region in (NEUTRAL_HEAD, ANGRY_HEAD)]
    else:
        faces_b = [ImageOps.grayscale(ImageOps.mirror(face_a)).convert("RGB")]
    # A soft vertical gradient: a background with some texture, but nothing face-like.
    background = Image.fromarray(np.repeat(np.linspace(150, 90, height, dtype=np.uint8)[:, None, None], width, 1)
                                 .repeat(3, 2))
    frames = round(seconds * rate)
    margin = width // 32
    boxes: dict[str, list] = {"A": [], "B": []}
    hidden = hidden or (seconds / 2 - 0.4, seconds / 2 + 0.4)
    first_hidden, last_hidden = round(hidden[0] * rate), round(hidden[1] * rate)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = 2_000_000
        for index in range(frames):
            progress = index / (frames - 1)
            picture = background.copy()
            face_b = faces_b[0] if progress < 0.7 else faces_b[-1]
            ax = round(margin + progress * (width - 2 * margin - face_a.width))
            bx = round(width - margin - face_b.width - progress * (width - 2 * margin - face_b.width))
            a_box = (ax, margin, face_a.width, face_a.height)
            b_box = (bx, height - margin - face_b.height, face_b.width, face_b.height)
            picture.paste(face_a, a_box[:2])
            boxes["A"].append(a_box)
            if first_hidden <= index <= last_hidden:
                boxes["B"].append(None)
            else:
                picture.paste(face_b, b_box[:2])
                boxes["B"].append(b_box)
            container.mux(stream.encode(av.VideoFrame.from_image(picture)))
        container.mux(stream.encode())
    return CrossingClip(Path(path), rate, frames, boxes, (first_hidden, last_hidden))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--expressive", action="store_true")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    write_crossing_clip(args.out, expressive=args.expressive, seconds=args.seconds)
