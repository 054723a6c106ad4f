"""What the commands print: user text shown as it is, one-line usage errors, empty results said, CSV columns."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys

from PIL import Image

from helpers import REPO

ASTRONAUT = REPO / "samples" / "astronaut.png"


def _fer(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fer_cli", *args], capture_output=True, text=True,
                          env={**os.environ, "FER_NO_PROGRESS": "1", **env})


def test_square_brackets_in_user_text_are_shown_as_they_are(runner, app, tmp_path, tiny_data):
    picture = tmp_path / "photo[red].png"
    shutil.copy(ASTRONAUT, picture)
    table = runner.invoke(app, ["predict", str(picture), "-f", "table"])
    assert "photo[red].png" in table.stdout.replace("\n", "").replace("│", "").replace(" ", "")
    data = tmp_path / "data[all]"
    shutil.copytree(tiny_data, data)
    title = runner.invoke(app, ["evaluate", str(data), "-f", "table", "-q"], env={"COLUMNS": "400"})
    words = " ".join(title.stdout.split())  # the title wraps to the table's width
    assert "data[all] [test], n=28" in words
    missing = runner.invoke(app, ["predict", str(tmp_path / "gone[bold].png")])
    assert f"Error: {tmp_path / 'gone[bold].png'}: no such file or folder" in missing.stderr
    assert "box [x, y, w, h]" in runner.invoke(app, ["predict", "--help"], env={"COLUMNS": "200"}).stdout


def test_usage_errors_are_one_error_line():
    for args in (["predict", "samples", "--format", "xml"], ["predict"], ["frobnicate"], ["train", "--epochs", "x"]):
        done = _fer(*args)
        assert done.returncode == 2 and done.stderr.startswith("Error: ") and done.stderr.count("\n") == 1, done.stderr
        assert "╭" not in done.stderr and done.stdout == ""


def test_nothing_found_is_said_on_stderr(tmp_path):
    (tmp_path / "empty").mkdir()
    done = _fer("predict", str(tmp_path / "empty"), "-f", "csv")
    assert done.returncode == 0 and "no images or videos found" in done.stderr
    assert done.stdout.splitlines()[0].startswith("path,frame,time,face,track,box,label,score,reason")
    piped = _fer("predict", "-", "-f", "jsonl")
    assert piped.returncode == 0 and piped.stdout == "" and "no images or videos found" in piped.stderr


def test_a_summary_of_a_video_without_faces_says_so_and_keeps_its_csv_header(tmp_path):
    import av

    with av.open(str(tmp_path / "blank.mp4"), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for _ in range(5):
            container.mux(stream.encode(av.VideoFrame.from_image(Image.new("RGB", (160, 120), (90, 120, 150)))))
        container.mux(stream.encode())
    done = _fer("predict", str(tmp_path / "blank.mp4"), "--summary", "-f", "csv")
    assert done.returncode == 0 and "no face found in any video" in done.stderr
    assert done.stdout.strip() == "path,track,start,end,frames,label,share"


def test_csv_has_a_reason_column_whatever_comes_first(runner, app):
    for order in ([ASTRONAUT, REPO / "samples" / "coffee_no_face.jpg"], [REPO / "samples" / "coffee_no_face.jpg", ASTRONAUT]):
        result = runner.invoke(app, ["predict", *map(str, order), "-f", "csv", "-q"])
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        reasons = {row["path"]: row["reason"] for row in rows}
        assert reasons == {str(ASTRONAUT): "", str(REPO / "samples" / "coffee_no_face.jpg"): "no face found"}


def test_fer_debug_shows_the_traceback_of_a_bad_item(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG broken")
    quiet = _fer("predict", str(bad))
    assert quiet.returncode == 1 and "Traceback" not in quiet.stderr
    loud = _fer("predict", str(bad), FER_DEBUG="1")
    assert loud.returncode == 1 and "Traceback" in loud.stderr and "UnidentifiedImageError" in loud.stderr
