"""Reading the original ``fer2013.csv`` (``emotion,pixels,Usage``)."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_cli.data.sources import Skipped
from fer_cli.errors import DataError
from fer_cli.labels import EMOTIONS, FER2013_CSV_CODES, FER2013_CSV_USAGE, IMAGE_SIZE


@dataclass
class CsvSplit:
    images: list[np.ndarray]
    labels: list[int]
    paths: list[str]


def _pixels(text: str) -> np.ndarray:
    values = np.array(text.split(), dtype=np.int64)
    side = math.isqrt(values.size)
    if values.size == 0 or side * side != values.size:
        raise ValueError(f"{values.size} pixel values, not a square image")
    if values.min() < 0 or values.max() > 255:
        raise ValueError("pixel values outside 0..255")
    image = values.astype(np.uint8).reshape(side, side)
    if side != IMAGE_SIZE:
        from PIL import Image

        from fer_cli.imaging import fit_to_input

        image = fit_to_input(Image.fromarray(image, mode="L"))
    return image


def read_fer2013_csv(path: Path) -> tuple[dict[str, CsvSplit], list[Skipped]]:
    """Read every row of a fer2013.csv into splits, skipping bad rows.

    Class indices follow `EMOTIONS` (the canonical order), not the csv's codes.
    Without a ``Usage`` column every row is in the ``train`` split.

    Args:
        path: the csv file.

    Returns:
        The rows per split, and the rows skipped with the reason.

    Raises:
        DataError: when the file is not such a csv.
    """
    splits: dict[str, CsvSplit] = {}
    skipped: list[Skipped] = []
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with handle:
        reader = csv.DictReader(handle)
        fields = {name.strip().lower(): name for name in (reader.fieldnames or [])}
        if "emotion" not in fields or "pixels" not in fields:
            raise DataError(f"{path} is not a fer2013.csv: expected columns emotion,pixels[,Usage]")
        usage_key = fields.get("usage")
        try:
            for row in reader:
                where = f"{path}:{reader.line_num}"
                try:
                    code = int(row[fields["emotion"]])
                    if not 0 <= code < len(FER2013_CSV_CODES):
                        raise ValueError(f"unknown emotion code {code}")
                    usage = (row.get(usage_key) or "").strip() if usage_key else "Training"
                    if usage not in FER2013_CSV_USAGE:
                        raise ValueError(f"unknown Usage {usage!r}")
                    image = _pixels(row[fields["pixels"]] or "")
                except (ValueError, TypeError) as exc:
                    skipped.append(Skipped(where, str(exc) if "invalid literal" not in str(exc) else "non-numeric value"))
                    continue
                split = splits.setdefault(FER2013_CSV_USAGE[usage], CsvSplit([], [], []))
                split.images.append(image)
                split.labels.append(EMOTIONS.index(FER2013_CSV_CODES[code]))
                split.paths.append(where)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: not a readable csv ({exc})") from exc
    if not splits:
        raise DataError(f"no usable rows in {path}")
    return splits, skipped
