"""Turning a picture into the face crops the model sees.

A picture that is already a face crop (as FER2013's 48x48 images are) is used
whole. Otherwise the faces are detected, each is rotated so its eyes are level,
and a square around it is cut out and resized to 48x48 grayscale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fer_cli.imaging import fit_to_input, to_grayscale
from fer_cli.labels import IMAGE_SIZE

# Pictures no larger than this on their longest side are taken as face crops:
# face data sets store crops of 48-128 px, and detectors are unreliable on faces
# that fill so small a frame.
CROP_MAX_SIDE = 128
# The square cut around a detected face, as a multiple of the detector box's
# longer side: FER2013 crops run from the forehead to just below the chin.
CROP_SCALE = 1.0


@dataclass(frozen=True)
class Face:
    """A face in a picture.

    Attributes:
        box: [x, y, width, height] in the original picture's pixels.
        crop: uint8 (48, 48) grayscale input for the model.
        score: detector confidence, or `None` when the picture was used whole.
    """

    box: tuple[int, int, int, int]
    crop: np.ndarray
    score: float | None = None


def whole_image(picture) -> list[Face]:
    """The whole picture as one face (for pictures that are face crops already)."""
    width, height = picture.size
    return [Face(box=(0, 0, width, height), crop=fit_to_input(to_grayscale(picture)))]


def is_face_crop(picture) -> bool:
    """Whether a picture is small enough to be a face crop rather than a photo."""
    return max(picture.size) <= CROP_MAX_SIDE


def aligned_crop(gray, box: tuple[int, int, int, int], eyes, size: int = IMAGE_SIZE) -> np.ndarray:
    """Cut a detected face out of a grayscale picture, eyes level, as a size x size array.

    Args:
        gray: the picture in mode ``L``.
        box: the face's [x, y, w, h].
        eyes: centres of the eye on the image's left and on its right.
        size: output side. Defaults to `48`.
    """
    from PIL import Image

    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    side = max(w, h) * CROP_SCALE
    (lx, ly), (rx, ry) = eyes
    angle = math.degrees(math.atan2(ry - ly, rx - lx))
    # Cut a margin around the square first, so rotating touches only the face's neighbourhood.
    half = side * 0.75
    region = gray.crop((round(cx - half), round(cy - half), round(cx + half), round(cy + half)))
    # Pillow rotates counter-clockwise; a positive angle means the eye line descends to the right.
    region = region.rotate(angle, resample=Image.Resampling.BILINEAR, center=(region.width / 2, region.height / 2))
    margin = (region.width - side) / 2
    square = region.crop((round(margin), round(margin), round(margin + side), round(margin + side)))
    return fit_to_input(square, size)


class FaceFinder:
    """Picture → faces, by detection or taking the picture whole.

    Args:
        detect: `True` always detects, `False` never does (the picture is the
            face), `None` detects unless the picture is a face crop already.
            Defaults to `None`.
    """

    def __init__(self, detect: bool | None = None):
        self.detect = detect

    def __call__(self, picture) -> list[Face]:
        if self.detect is False or (self.detect is None and is_face_crop(picture)):
            return whole_image(picture)
        from fer_cli.inference.detector import detect_faces

        gray = to_grayscale(picture)
        return [Face(box=d.box, crop=aligned_crop(gray, d.box, d.eyes), score=d.score) for d in detect_faces(picture)]
