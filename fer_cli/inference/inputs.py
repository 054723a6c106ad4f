"""Expanding the PATH arguments of ``fer predict`` into image files."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from fer_cli.imaging import is_image_name
from fer_cli.inference.video import is_video_name


@dataclass(frozen=True)
class InputItem:
    """One thing to predict, or a reason it cannot be.

    Attributes:
        path: as the user gave it (or as found under a folder they gave).
        error: why it cannot be read, or `None`.
    """

    path: str
    error: str | None = None


def expand_inputs(arguments: Iterable[str]) -> Iterator[InputItem]:
    """Yield inputs for each argument: a file as is, a folder recursively (its images and videos).

    A missing path yields an item with an error; the rest go on.
    """
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    child = Path(dirpath) / name
                    if is_image_name(child) or is_video_name(child):
                        yield InputItem(str(child))
        elif path.is_file():
            yield InputItem(argument)
        elif path.exists():
            yield InputItem(argument, "not a regular file")
        else:
            yield InputItem(argument, "no such file or folder")
