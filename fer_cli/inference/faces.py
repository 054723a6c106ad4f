"""Turning a picture into the face crops the model sees.

A picture that is already a face crop (as FER2013's 48x48 images are) is used
whole. Otherwise the faces are detected, and a square around each is cut out,
framed as FER2013 frames its faces, and resized to the model's input (its
card's size and colour: 48x48 grayscale for the shipped model). How that square
is framed is a `CropSettings`; the defaults below are the ones fer predicts
with, and docs/photos.md says how they were measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fer_cli.imaging import fit_to_input, to_grayscale, to_rgb
from fer_cli.labels import IMAGE_SIZE

# Pictures no larger than this on their longest side are taken as face crops:
# face data sets store crops of 48-128 px, and detectors are unreliable on faces
# that fill so small a frame.
CROP_MAX_SIDE = 128
# The defaults below were measured with benchmarks/photo_faces.py on the shipped model's 2,871
# validation faces (never PublicTest), upscaled 4x and pasted into photos; the 2,746 that
# CenterFace found were cropped and predicted, against the same faces predicted directly.
# Figures and commands: docs/photos.md.
#
# The square cut around a detected face, as a multiple of the detector box's longer side.
# CenterFace's box frames a face as FER2013 does: its longer side is 1.00x the FER2013 frame
# (median; 0.79-1.15 from the 10th to the 90th percentile, a spread no fixed rule removes:
# no mix of the five landmarks predicted the frame better). Scales 0.9 and 1.1 lost 1 point.
CROP_SCALE = 1.0
# The square's centre below the box's centre, as a share of its side. The box's centre sits at
# 0.50 across and 0.51 down the FER2013 frame (the landmarks' centroid is further off and more
# spread); shifts of -0.05 and +0.05 lost 0.3 and 0.7 points.
CROP_SHIFT = 0.0
# Rotate each face so the line between its eyes is level before cutting the square. Off:
# FER2013's faces keep their heads' tilt (eye lines from -11 to +10 degrees, 10th to 90th
# percentile), and the model predicts them best as they come; levelling lost 0.7 points.
LEVEL_EYES = False
# What fills the square where it reaches past the picture's edge: "black", "edge" (the
# nearest edge pixel repeated) or "reflect" (the picture mirrored at its edge). On faces cut
# 15-30% by the photo's edge (--edge-cut 0.3), reflect lost 0.55 points fewer than black and
# 0.12 fewer than edge: FER2013 has no black wedges, and a mirrored face is still face-like.
PADDING = "reflect"
PADDINGS = ("black", "edge", "reflect")


@dataclass(frozen=True)
class CropSettings:
    """How the square around a detected face is framed.

    Attributes:
        scale: the square's side as a multiple of the box's longer side. Defaults to `CROP_SCALE`.
        shift: the square's centre below the box's centre (along the face's own up-down
            axis when levelling), as a share of the square's side. Defaults to `CROP_SHIFT`.
        level_eyes: rotate the face so its eyes are level. Defaults to `LEVEL_EYES`.
        padding: ``black``, ``edge`` or ``reflect``, past the picture's edge. Defaults to `PADDING`.
    """

    scale: float = CROP_SCALE
    shift: float = CROP_SHIFT
    level_eyes: bool = LEVEL_EYES
    padding: str = PADDING

    def __post_init__(self):
        if self.scale <= 0:
            raise ValueError(f"crop scale must be positive, not {self.scale}")
        if self.padding not in PADDINGS:
            raise ValueError(f"padding must be one of {', '.join(PADDINGS)}, not {self.padding!r}")


@dataclass(frozen=True)
class FaceCrop:
    """A face in a picture.

    Attributes:
        box: [x, y, width, height] in the original picture's pixels.
        crop: uint8 input for the model: (size, size) grayscale or (size, size, 3) RGB.
        score: detector confidence, or `None` when the picture was used whole.
    """

    box: tuple[int, int, int, int]
    crop: np.ndarray
    score: float | None = None


def in_colour(picture, channels: int = 1):
    """A Pillow image of any mode as the model sees colour: ``L`` for 1 channel, ``RGB`` for 3."""
    return to_grayscale(picture) if channels == 1 else to_rgb(picture)


def whole_image(picture, size: int = IMAGE_SIZE, channels: int = 1) -> list[FaceCrop]:
    """The whole picture as one face (for pictures that are face crops already)."""
    width, height = picture.size
    return [FaceCrop(box=(0, 0, width, height), crop=fit_to_input(in_colour(picture, channels), size))]


def is_face_crop(picture) -> bool:
    """Whether a picture is small enough to be a face crop rather than a photo."""
    return max(picture.size) <= CROP_MAX_SIDE


def padded_region(gray, left: int, top: int, right: int, bottom: int, padding: str = PADDING):
    """Cut [left, right) x [top, bottom) out of a picture, filling what lies outside it.

    Args:
        gray: the picture in mode ``L`` (or ``RGB``).
        left, top, right, bottom: the region, which may reach past the picture's edges.
        padding: ``black``, ``edge`` or ``reflect``. Defaults to `PADDING`.

    Returns:
        The region as a Pillow image of the picture's mode, (right - left) x (bottom - top).
    """
    from PIL import Image

    width, height = gray.size
    inside = (max(left, 0), max(top, 0), min(right, width), min(bottom, height))
    if padding == "black" or inside == (left, top, right, bottom) or inside[0] >= inside[2] or inside[1] >= inside[3]:
        return gray.crop((left, top, right, bottom))  # Pillow fills outside the picture with black
    pads = ((inside[1] - top, bottom - inside[3]), (inside[0] - left, right - inside[2])) + ((0, 0),) * (gray.mode != "L")
    # numpy's "symmetric" mirrors including the edge pixel, as a photo continued by a mirror would look.
    array = np.pad(np.asarray(gray.crop(inside)), pads, mode="edge" if padding == "edge" else "symmetric")
    return Image.fromarray(array, mode=gray.mode)


def aligned_crop(gray, box: tuple[int, int, int, int], eyes, size: int = IMAGE_SIZE,
                 settings: CropSettings | None = None) -> np.ndarray:
    """Cut a detected face out of a picture as a size x size array.

    Args:
        gray: the picture in mode ``L`` (or ``RGB`` for a colour model).
        box: the face's [x, y, w, h].
        eyes: centres of the eye on the image's left and on its right.
        size: output side. Defaults to `48`.
        settings: how to frame the square. Defaults to `CropSettings()`.
    """
    from PIL import Image

    settings = settings or CropSettings()
    x, y, w, h = box
    side = max(w, h) * settings.scale
    (lx, ly), (rx, ry) = eyes
    radians = math.atan2(ry - ly, rx - lx) if settings.level_eyes else 0.0
    # "Down" is the face's own: perpendicular to the eye line when the face is levelled.
    down = settings.shift * side
    cx, cy = x + w / 2 - down * math.sin(radians), y + h / 2 + down * math.cos(radians)
    # Cut a margin around the square first, so rotating touches only the face's neighbourhood
    # (0.75 > half the diagonal, so no rotated corner reaches into the square).
    half = side * 0.75 if radians else side / 2
    region = padded_region(gray, round(cx - half), round(cy - half), round(cx + half), round(cy + half), settings.padding)
    if radians:
        # Pillow rotates counter-clockwise; a positive angle means the eye line descends to the right.
        region = region.rotate(math.degrees(radians), resample=Image.Resampling.BILINEAR,
                               center=(region.width / 2, region.height / 2))
    margin = (region.width - side) / 2
    square = region.crop((round(margin), round(margin), round(margin + side), round(margin + side)))
    return fit_to_input(square, size)


class FaceFinder:
    """Picture → faces, by detection or taking the picture whole.

    Args:
        detect: `True` always detects, `False` never does (the picture is the
            face), `None` detects unless the picture is a face crop already.
            Defaults to `None`.
        crop: how detected faces are framed. Defaults to `CropSettings()`.
        size: the side of the crops, the model's input size. Defaults to `48`.
        channels: 1 for grayscale crops, 3 for RGB. Defaults to `1`.
    """

    def __init__(self, detect: bool | None = None, crop: CropSettings | None = None, size: int = IMAGE_SIZE,
                 channels: int = 1):
        self.detect = detect
        self.crop = crop or CropSettings()
        self.size = size
        self.channels = channels

    def __call__(self, picture) -> list[FaceCrop]:
        if self.detect is False or (self.detect is None and is_face_crop(picture)):
            return whole_image(picture, self.size, self.channels)
        from fer_cli.inference.detector import detect_faces

        return self.faces(picture, detect_faces(picture))

    def faces(self, picture, detections) -> list[FaceCrop]:
        """The faces of `detections` (see `detector.detect_faces`) cut out of `picture`.

        Args:
            picture: a Pillow image of any mode.
            detections: the faces found in it.

        Returns:
            One `FaceCrop` per detection, in their order.
        """
        coloured = in_colour(picture, self.channels)
        return [FaceCrop(box=d.box, crop=aligned_crop(coloured, d.box, d.eyes, self.size, self.crop), score=d.score)
                for d in detections]
