"""Finding the labelled images a data set holds: image folders or fer2013.csv.

Three layouts are understood:

- a folder with ``train/``, ``test/`` and optionally ``val/`` subfolders, each a
  folder of class folders (the folder name is the label);
- a single folder of class folders (one split, named ``all``);
- the original ``fer2013.csv`` (``emotion,pixels,Usage``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from fer_cli.errors import DataError
from fer_cli.imaging import is_image_name
from fer_cli.labels import EMOTIONS

SPLIT_FOLDERS: dict[str, str] = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
}
SINGLE_SPLIT = "all"
# Bump when decoding changes, so caches built by older code are rebuilt.
DECODER_VERSION = 2


@dataclass
class Skipped:
    """A file left out of the data set, and why."""

    path: str
    reason: str


@dataclass
class FolderSource:
    """Image files found under a folder layout, before decoding.

    Attributes:
        root: the data folder.
        files: per split, a list of (path, class name).
        class_names: the classes, sorted by name.
        ignored: files that are not images or are hidden (not decoded, only reported as a count).
        notes: things worth telling the user (empty class folders, stray files).
    """

    root: Path
    files: dict[str, list[tuple[Path, str]]]
    class_names: tuple[str, ...]
    ignored: int = 0
    notes: list[str] = field(default_factory=list)

    def fingerprint(self) -> str:
        """A hash of every file's path within `root`, size and modification time (cheap: no reads).

        Paths are taken relative to the data folder, so ``images``, ``$PWD/images``
        and a symlink to it give one fingerprint and reuse one cache.
        """
        digest = hashlib.sha256(f"folders:{DECODER_VERSION}".encode())
        for split in sorted(self.files):
            for path, label in self.files[split]:
                stat = path.stat()
                inside = self.relative(path)
                digest.update(f"{split}\0{label}\0{inside}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode(errors="surrogateescape"))
        return digest.hexdigest()

    def relative(self, path: Path) -> str:
        """`path` (a file found under `root`) as a POSIX path within the data folder, e.g. ``train/happy/a.png``."""
        return path.relative_to(self.root).as_posix()


def _visible_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _walk_images(folder: Path) -> tuple[list[Path], int]:
    """Image files under `folder` (recursive, symlinked folders not followed), and a count of ignored files."""
    images: list[Path] = []
    ignored = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if is_image_name(path):
                images.append(path)
            else:
                ignored += 1
    return images, ignored


def scan_folder(root: Path) -> FolderSource:
    """Find the labelled image files under `root`.

    Args:
        root: a folder with split subfolders, or a folder of class folders.

    Returns:
        The files per split and the class names; file paths are absolute (not
        resolved), so they name the files from any working directory.

    Raises:
        DataError: when no class folder or no image is found.
    """
    typed, root = root, Path(os.path.abspath(root))
    subdirs = _visible_dirs(root)
    split_dirs = {SPLIT_FOLDERS[d.name.lower()]: d for d in subdirs if d.name.lower() in SPLIT_FOLDERS}
    notes: list[str] = []
    if split_dirs:
        stray = [d.name for d in subdirs if d.name.lower() not in SPLIT_FOLDERS]
        if stray:
            notes.append(f"ignored folders beside the splits: {', '.join(stray)}")
    else:
        split_dirs = {SINGLE_SPLIT: root}

    files: dict[str, list[tuple[Path, str]]] = {}
    ignored = 0
    classes: set[str] = set()
    for split, split_dir in sorted(split_dirs.items()):
        entries: list[tuple[Path, str]] = []
        loose = [p for p in split_dir.iterdir() if p.is_file() and is_image_name(p)]
        if loose:
            notes.append(f"{len(loose)} image(s) directly in {split_dir} (not in a class folder) ignored")
        for class_dir in _visible_dirs(split_dir):
            images, n_ignored = _walk_images(class_dir)
            ignored += n_ignored
            if not images:
                notes.append(f"class folder {class_dir} holds no image; not used as a class")
                continue
            classes.add(class_dir.name)
            entries.extend((path, class_dir.name) for path in images)
        if entries:
            files[split] = entries
        else:
            notes.append(f"split folder {split_dir} holds no labelled image")
    if not files:
        raise DataError(f"no labelled images in {typed} (expected class folders, e.g. {typed}/train/happy/*.jpg)")
    unknown = sorted(classes - set(EMOTIONS))
    if unknown:
        notes.append(f"class folder(s) not among the FER2013 emotions, used as classes: {', '.join(unknown)}")
    return FolderSource(root=root, files=files, class_names=tuple(sorted(classes)), ignored=ignored, notes=notes)


def file_fingerprint(path: Path) -> str:
    """A hash of one file's path, size and modification time."""
    stat = path.stat()
    text = f"file:{DECODER_VERSION}\0{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}"
    return hashlib.sha256(text.encode(errors="surrogateescape")).hexdigest()
