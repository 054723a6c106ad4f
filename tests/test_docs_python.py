"""The examples of docs/python.md run, in order, in one namespace, as a reader would paste them.

Blocks fenced as ```python run; blocks fenced as ```py are shown only (they need files a
reader brings). They run in a folder with this repository's samples/, a small data set
in images/ and a two-face clip.mp4, as the page says.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

from helpers import REPO, write_class_folders
from video_clips import write_crossing_clip

PAGE = REPO / "docs" / "python.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_the_page_has_examples_to_run():
    blocks = python_blocks(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 8
    assert any("Recognizer(" in b for b in blocks) and any("fer_cli.evaluate(" in b for b in blocks)


def test_docs_python_examples_run(tmp_path, monkeypatch):
    (tmp_path / "samples").symlink_to(REPO / "samples")
    write_class_folders(tmp_path / "images" / "train", 12, seed=1)
    write_class_folders(tmp_path / "images" / "test", 4, seed=2)
    write_crossing_clip(tmp_path / "clip.mp4")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "docs_python"}
    printed = io.StringIO()
    for index, block in enumerate(python_blocks(PAGE.read_text(encoding="utf-8"))):
        with contextlib.redirect_stdout(printed):
            exec(compile(block, f"docs/python.md block {index + 1}", "exec"), namespace)  # noqa: S102
    output = printed.getvalue()
    # What the page's comments say the prints show.
    assert output.startswith("happy 0.94 (182, 58, 88, 120)\nTrue\n")
    assert "0 no face found\nhappy no face found\n" in output
    assert "(8, 3)\n['happy']\n" in output
    assert "2 ['end', 'frames', 'label', 'path', 'scores', 'share', 'shares', 'start', 'track']" in output
    assert ".npz 12\n" in output and f"{os.path.join('runs', 'train')} 1\n" in output and "best.onnx 1.0\n" in output
    assert "('angry', 'disgust', 'fear') 48\n" in output and "48 gray 7 crops 0.699" in output
    assert Path("runs/train/best.onnx").is_file()
