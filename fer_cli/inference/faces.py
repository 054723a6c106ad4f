"""Turning a decoded picture into face crops for the model.

Today the whole picture is the face. Face detection plugs in here: a face
finder returns, for one grayscale picture, a list of `Face` (its box in the
original picture and the 48x48 crop).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fer_cli.imaging import fit_to_input


@dataclass(frozen=True)
class Face:
    """A face found in a picture.

    Attributes:
        box: [x, y, width, height] in the original picture's pixels.
        crop: uint8 (48, 48) grayscale input for the model.
    """

    box: tuple[int, int, int, int]
    crop: np.ndarray


def whole_image(picture) -> list[Face]:
    """The whole picture as one face (for pictures that are face crops already)."""
    width, height = picture.size
    return [Face(box=(0, 0, width, height), crop=fit_to_input(picture))]
