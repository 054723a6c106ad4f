"""The inputs and commands of the golden test (tests/test_golden.py, tests/golden/make_golden.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from helpers import FER_IMAGES, REPO

SLICE_PER_CLASS = 3  # the first 3 PublicTest images of each class, in name order: 21 faces


def fer_slice(root: Path) -> Path:
    """A small FER2013 slice, root/test/<emotion>/*.jpg, copied from ../shared (never into the project)."""
    for folder in sorted((FER_IMAGES / "test").iterdir()):
        target = root / "test" / folder.name
        target.mkdir(parents=True, exist_ok=True)
        for image in sorted(folder.iterdir())[:SLICE_PER_CLASS]:
            shutil.copy(image, target / image.name)
    return root


def golden_commands(tmp: Path) -> dict[str, tuple[Path, list[str]]]:
    """Name → (working folder, arguments of `fer`): paths in the records are relative to the folder.

    The FER2013 slice's commands are left out where ../shared is absent; `tmp`
    must hold the slice (`fer_slice(tmp / "slice")`) where it is present.
    """
    commands = {"predict_samples": (REPO, ["predict", "samples", "-f", "jsonl", "--top-k", "3"])}
    if FER_IMAGES.exists():
        commands["predict_slice"] = (tmp, ["predict", "slice", "-f", "jsonl"])
        commands["evaluate_slice"] = (tmp, ["evaluate", "slice", "--split", "test", "-f", "json", "-q"])
    return commands


def run_fer(arguments: list[str], cwd: Path) -> list | dict:
    """Run `fer` as a process in `cwd`; the JSON lines (or the JSON document) it printed."""
    done = subprocess.run([sys.executable, "-m", "fer_cli", *arguments], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "FER_NO_PROGRESS": "1"})
    assert done.returncode == 0, done.stderr
    if arguments[0] == "evaluate":
        return json.loads(done.stdout)
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
