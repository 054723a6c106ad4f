"""fer predict on a clip the tests make: tracks, smoothing, summaries, the timeline chart, annotated videos.

The clip (tests/video_clips.py) holds two faces on paths that cross in x, one
of them hidden for 0.9 s while they pass; each run uses the shipped model.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from PIL import Image

from helpers import jsonl
from video_clips import write_crossing_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_crossing_clip(tmp_path_factory.mktemp("clip") / "crossing.mp4")


@pytest.fixture(scope="module")
def traced(clip, tmp_path_factory):
    """One run with every per-frame output: records (smoothed), the annotated copy and the timeline."""
    pytest.importorskip("matplotlib")
    from typer.testing import CliRunner

    from fer_cli.cli import app

    out = tmp_path_factory.mktemp("out")
    result = CliRunner().invoke(app, ["predict", str(clip.path), "--smooth", "0.5", "--format", "jsonl",
                                      "--annotate", str(out / "annotated"), "--plot", str(out / "timeline.png")])
    assert result.exit_code == 0, result.stderr
    return jsonl(result.stdout), out


def test_each_track_stays_with_its_face(clip, traced):
    records, _ = traced
    faces_of_track: dict[int, set[str]] = {}
    for record in records:
        face = clip.face_at(record["frame"], record["box"])
        assert face is not None, f"a box on no face: {record}"
        faces_of_track.setdefault(record["track"], set()).add(face)
    # Two tracks, one per face, from the first frame to the last: no swap as they cross, and B
    # continues its own track after the frames where it was hidden.
    assert faces_of_track == {0: {"A"}, 1: {"B"}} or faces_of_track == {0: {"B"}, 1: {"A"}}
    frames_of = {face: sorted(r["frame"] for r in records if clip.face_at(r["frame"], r["box"]) == face) for face in "AB"}
    first_hidden, last_hidden = clip.hidden
    assert frames_of["A"] == list(range(clip.frames))
    assert frames_of["B"] == [i for i in range(clip.frames) if not first_hidden <= i <= last_hidden]


def test_smoothed_records_keep_the_raw_ones(traced):
    records, _ = traced
    for record in records:
        assert set(record) >= {"track", "raw_label", "raw_score", "raw_scores"}
        assert record["label"] == max(record["scores"], key=record["scores"].get)
        assert abs(sum(record["scores"].values()) - 1) < 1e-3
    assert any(r["scores"] != r["raw_scores"] for r in records)


def test_the_timeline_is_drawn(traced):
    _, out = traced
    with Image.open(out / "timeline.png") as picture:
        picture.load()
        # One panel per track: two panels make a picture taller than it is wide, at 100 dpi.
        assert picture.format == "PNG" and picture.width == 900 and picture.height == round(100 * (0.6 + 1.9 * 2))


def test_the_annotated_video_has_every_frame(clip, traced):
    import av

    _, out = traced
    with av.open(str(out / "annotated" / "crossing.mp4")) as container:
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        assert stream.codec_context.name in ("h264", "mpeg4")
    assert len(frames) == clip.frames and frames[0].shape == (240, 320, 3)
    # The boxes are drawn: pixels of the label colours ("happy" yellow) around face A in the first frame.
    x, y, w, h = clip.boxes["A"][0]
    edge = frames[0][y:y + h, x:x + w].reshape(-1, 3).astype(int)
    assert ((edge[:, 0] > 200) & (edge[:, 1] > 150) & (edge[:, 2] < 80)).sum() > 20


@pytest.mark.parametrize("fmt", ["csv", "table"])  # the two formats that reshape records; JSON writes them as they are
def test_summary_has_one_row_per_person(runner, app, clip, fmt, monkeypatch):
    monkeypatch.chdir(clip.path.parent)  # a short path, which a table does not fold
    # Every other frame: B is unseen from 1.0 s to 2.0 s, which --track-gap 1.5 bridges.
    result = runner.invoke(app, ["predict", clip.path.name, "--summary", "--format", fmt, "--every", "2",
                                 "--track-gap", "1.5"])
    assert result.exit_code == 0, result.stderr
    if fmt == "table":
        assert "track" in result.stdout and "labels" in result.stdout
        assert len([line for line in result.stdout.splitlines() if "happy" in line]) == 2
        return
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [int(r["track"]) for r in rows] == [0, 1]
    sampled = len(range(0, clip.frames, 2))
    hidden = len([i for i in range(0, clip.frames, 2) if clip.hidden[0] <= i <= clip.hidden[1]])
    assert sorted(int(r["frames"]) for r in rows) == [sampled - hidden, sampled]
    for row in rows:
        assert float(row["start"]) == 0.0 and float(row["end"]) == pytest.approx((clip.frames - 2) / clip.rate)
        shares = {k.split(".")[1]: float(v) for k, v in row.items() if k.startswith("shares.")}
        assert len(shares) == 7 and sum(shares.values()) == pytest.approx(1) and shares[row["label"]] == pytest.approx(float(row["share"]))
        assert row["label"] == "happy"  # the astronaut, smiling, in both faces


def test_photos_have_no_track_and_no_summary(runner, app):
    from helpers import REPO

    photo = str(REPO / "samples" / "astronaut.png")
    (record,) = jsonl(runner.invoke(app, ["predict", photo]).stdout)
    assert "track" not in record and "frame" not in record and record["label"]
    result = runner.invoke(app, ["predict", photo, "--summary", "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    assert "--summary summarises videos: 1 photo(s) left out" in result.stderr


def test_plot_without_matplotlib_stops_before_predicting(runner, app, clip, tmp_path, monkeypatch):
    import fer_cli.optional

    real = fer_cli.optional.available
    monkeypatch.setattr(fer_cli.optional, "available", lambda module: module != "matplotlib" and real(module))
    result = runner.invoke(app, ["predict", str(clip.path), "--plot", str(tmp_path / "t.png")])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip() == "Error: fer predict --plot needs matplotlib: pip install 'fer-cli[plot]'"
    assert not (tmp_path / "t.png").exists()


def test_csv_columns_when_the_first_frame_has_no_face(runner, app, tmp_path):
    # CSV's header comes from the first record: a frame without a face (null scores, no raw scores)
    # must still give every column the later frames fill.
    import av

    from video_clips import ASTRONAUT_HEAD, REPO, _head

    clip = tmp_path / "late.mp4"
    face = _head(REPO / "samples" / "astronaut.png", ASTRONAUT_HEAD, 90)
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for index in range(4):
            picture = Image.new("RGB", (320, 240), (120, 120, 120))
            if index:
                picture.paste(face, (100 + 10 * index, 70))
            container.mux(stream.encode(av.VideoFrame.from_image(picture)))
        container.mux(stream.encode())
    result = runner.invoke(app, ["predict", str(clip), "--format", "csv", "--smooth", "1"])
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["track"] for r in rows] == ["", "0", "0", "0"] and rows[0]["reason"] == "no face found"
    assert rows[0]["scores.happy"] == "" and rows[1]["raw_label"] and float(rows[1]["raw_scores.happy"]) > 0
    assert float(rows[1]["scores.happy"]) > 0
