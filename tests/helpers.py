"""Helpers for tests: generated pictures and data sets, paths to the shared data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer_cli.labels import EMOTIONS

SHARED = Path(__file__).resolve().parents[2] / "shared"
FER_IMAGES = SHARED / "data" / "fer2013" / "images"
PHOTOS = SHARED / "data" / "photos"
REPO = Path(__file__).resolve().parents[1]


def face_like(label: int, rng: np.random.Generator, size: int = 48) -> np.ndarray:
    """A 48x48 uint8 picture whose pattern depends on `label`, so a model can learn it."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    angle = label * np.pi / len(EMOTIONS)
    image = 128 + 90 * np.sin(8 * (np.cos(angle) * xx + np.sin(angle) * yy))
    image = image + rng.normal(0, 12, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def write_class_folders(root: Path, per_class: int, seed: int, classes=EMOTIONS, suffix=".png") -> None:
    rng = np.random.default_rng(seed)
    for label, name in enumerate(classes):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(face_like(EMOTIONS.index(name) if name in EMOTIONS else label, rng)).save(folder / f"{name}_{i}{suffix}")


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def needs_shared(path: Path):
    return pytest.mark.skipif(not path.exists(), reason=f"{path} is not here (only CI and developers have ../shared)")




# Folders that session or module fixtures share between tests → what was in them when they were made.
SHARED_FOLDERS: dict[Path, dict[str, tuple[int, int]]] = {}


def folder_snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder`: relative path → (size, modification time in ns)."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def share_read_only(folder: Path) -> Path:
    """Record `folder` as shared between tests: from now on, a test that changes it fails (see conftest).

    Args:
        folder: a folder a session or module fixture made.

    Returns:
        `folder`, for the fixture to return.
    """
    SHARED_FOLDERS[folder] = folder_snapshot(folder)
    return folder
