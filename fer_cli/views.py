"""The test-time views of a face (`--tta`): their names, how many, and how each is made.

One definition, in NumPy, shared by the runtimes that average views at
prediction time and by the Keras layers that build them into a model's graph
(`fer_cli.models.view_layers`), which a test holds to this one.
"""

from __future__ import annotations

import enum
from typing import Any

SHIFT = 2  # pixels; a small fraction of a 48-pixel face, like the training shifts
OFFSETS = ((0, -SHIFT), (0, SHIFT), (-SHIFT, 0), (SHIFT, 0))  # (dy, dx) of the shifted crops views


class TTA(str, enum.Enum):
    """Views averaged at prediction time."""

    none = "none"
    flip = "flip"  # the image and its mirror (2 views)
    crops = "crops"  # the image and 4 shifts by 2 pixels, each also mirrored (10 views)


def views(images: Any, mode: TTA) -> list:
    """The views of a batch (N, H, W, 1) that `mode` averages over."""
    import numpy as np

    if mode is TTA.none:
        return [images]
    bases = [images]
    if mode is TTA.crops:
        padded = np.pad(images, ((0, 0), (SHIFT, SHIFT), (SHIFT, SHIFT), (0, 0)), mode="reflect")
        height, width = images.shape[1:3]
        for dy, dx in OFFSETS:
            bases.append(padded[:, SHIFT + dy : SHIFT + dy + height, SHIFT + dx : SHIFT + dx + width])
    return [view for base in bases for view in (base, base[:, :, ::-1])]


def view_count(mode: TTA) -> int:
    """How many views `mode` averages over."""
    return {TTA.none: 1, TTA.flip: 2, TTA.crops: 2 * (1 + len(OFFSETS))}[TTA(mode)]
