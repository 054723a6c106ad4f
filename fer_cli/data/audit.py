"""Data quality checks done while caching: duplicates, train/test leakage, blank images."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

import numpy as np

# An image whose pixels span at most this many grey levels shows nothing (FER2013 has all-black
# images and one flat grey one, values 127 to 130).
BLANK_RANGE = 3
EVALUATION_SPLITS = ("val", "test")


def _digests(images: np.ndarray) -> list[bytes]:
    return [hashlib.blake2b(image.tobytes(), digest_size=12).digest() for image in images]


def audit(splits: dict[str, Any]) -> dict[str, Any]:
    """Exact duplicates within and across splits, and blank images.

    Args:
        splits: split name → `Split` (images, labels, paths).

    Returns:
        ``duplicates``: per split, groups of identical images and how many of
        those carry different labels; ``leakage``: per evaluation split, its
        images identical to a training image and how many with another label;
        ``blank``: paths of uniform images.
    """
    digests = {name: _digests(split.images) for name, split in splits.items()}
    labels = {name: split.labels.tolist() for name, split in splits.items()}
    blank = [
        str(path)
        for split in splits.values()
        for image, path in zip(split.images, split.paths)
        if is_blank(image)
    ]
    return audit_digests(digests, labels, blank)


def is_blank(image: np.ndarray) -> bool:
    """Whether an image is uniform (shows nothing)."""
    return int(image.max()) - int(image.min()) <= BLANK_RANGE


class StreamingAudit:
    """Collects what `audit` needs image by image, for data sets that never sit in memory whole.

    It keeps a 12-byte digest per image, not the image.
    """

    def __init__(self):
        self.digests: dict[str, list[bytes]] = defaultdict(list)
        self.labels: dict[str, list[int]] = defaultdict(list)
        self.blank: list[str] = []

    def add(self, split: str, images: np.ndarray, labels: list[int], paths: list[str]) -> None:
        self.digests[split].extend(_digests(images))
        self.labels[split].extend(labels)
        self.blank.extend(path for image, path in zip(images, paths) if is_blank(image))

    def report(self) -> dict[str, Any]:
        return audit_digests(dict(self.digests), dict(self.labels), self.blank)


def audit_digests(digests: dict[str, list[bytes]], labels: dict[str, list[int]], blank: list[str]) -> dict[str, Any]:
    """The `audit` report from per-split image digests and labels, and the blank images' paths."""
    duplicates = {}
    for name in digests:
        groups: dict[bytes, set[int]] = defaultdict(set)
        counts: dict[bytes, int] = defaultdict(int)
        for digest, label in zip(digests[name], labels[name]):
            groups[digest].add(label)
            counts[digest] += 1
        repeated = [d for d, n in counts.items() if n > 1]
        duplicates[name] = {
            "images": len(labels[name]),
            "distinct": len(counts),
            "groups": len(repeated),
            "conflicting_groups": sum(1 for d in repeated if len(groups[d]) > 1),
        }
    leakage = {}
    train = "train" if "train" in digests else None
    if train:
        train_labels: dict[bytes, set[int]] = defaultdict(set)
        for digest, label in zip(digests[train], labels[train]):
            train_labels[digest].add(label)
        for name in EVALUATION_SPLITS:
            if name not in digests:
                continue
            shared = [(d, label) for d, label in zip(digests[name], labels[name]) if d in train_labels]
            leakage[name] = {
                "images_in_train": len(shared),
                "with_other_label": sum(1 for d, label in shared if label not in train_labels[d]),
            }
    return {"duplicates": duplicates, "leakage": leakage, "blank": blank}


def warnings(report: dict[str, Any]) -> list[str]:
    """One line per finding worth a user's attention."""
    lines = []
    for name, found in report.get("leakage", {}).items():
        if found["images_in_train"]:
            lines.append(
                f"leakage: {found['images_in_train']} {name} images are also in train "
                f"({found['with_other_label']} with another label); {name} accuracy is flattered"
            )
    for name, found in report.get("duplicates", {}).items():
        if found["groups"]:
            lines.append(
                f"duplicates: {name} holds {found['distinct']} distinct images in {found['images']} "
                f"({found['groups']} groups of copies, {found['conflicting_groups']} with conflicting labels)"
            )
    if report.get("blank"):
        lines.append(f"{len(report['blank'])} blank (uniform) images, e.g. {report['blank'][0]}")
    return lines
