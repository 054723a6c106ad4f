"""Reading a model's input size and channels off the shape its runtime reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def input_facts(shape: Sequence[Any]) -> dict[str, int]:
    """``input_size`` and ``channels`` of an (N, H, W, C) input shape, where they are fixed numbers.

    Runtimes name a free dimension differently (None, -1, a string such as ``"N"``
    or ``"unk__12"``); those are left out, as is a non-square or non-NHWC shape.
    """
    dims = [_dimension(d) for d in shape]
    if len(dims) != 4:
        return {}
    _, height, width, channels = dims
    facts: dict[str, int] = {}
    if height is not None and height == width:
        facts["input_size"] = height
    if channels in (1, 3):
        facts["channels"] = channels
    return facts


def _dimension(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
