"""Face detection, cropping and the predict contract on real photos, annotation and video."""

import hashlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from fer_cli.inference.detector import MODEL, detect_faces
from fer_cli.inference.faces import CropSettings, FaceFinder, aligned_crop, is_face_crop, padded_region
from helpers import PHOTOS, REPO, jsonl, needs_shared

SINGLE_FACE = ["astronaut.png", "one_face_smile.jpg", "neutral_man.jpg", "angry_man_snarl.jpg", "angry_man_grimace.jpg"]
HARD_SINGLE_FACE = ["happy_child_closeup.jpg", "sad_woman_crying.jpg"]  # close-up, covered face
NO_FACE = ["coffee_no_face.jpg", "cartoon_no_human_face.jpg"]


def _faces(name):
    return FaceFinder()(Image.open(PHOTOS / name))


@needs_shared(PHOTOS)
@pytest.mark.parametrize("name", SINGLE_FACE)
def test_one_face_found(name):
    faces = _faces(name)
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    width, height = Image.open(PHOTOS / name).size
    assert 0 <= x and 0 <= y and x + w <= width and y + h <= height and w > 20 and h > 20
    assert faces[0].crop.shape == (48, 48) and faces[0].crop.dtype == np.uint8
    # Alignment levels the line from the image-left eye to the image-right eye: both inside the box, in that order.
    (lx, ly), (rx, ry) = detect_faces(Image.open(PHOTOS / name))[0].eyes
    assert x < lx < rx < x + w and y < ly < y + h / 2 and y < ry < y + h / 2


@needs_shared(PHOTOS)
@pytest.mark.parametrize("name", HARD_SINGLE_FACE)
def test_hard_faces_are_found_once(name):
    # A close-up cut by the frame and a face half covered by a hand: each holds one face (see the photos'
    # README), which a plain Haar detector misses. It fills much of the picture: the box must too.
    faces = _faces(name)
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    width, height = Image.open(PHOTOS / name).size
    assert 0 <= x and 0 <= y and x + w <= width and y + h <= height
    assert w * h > 0.25 * width * height


@needs_shared(PHOTOS)
@pytest.mark.parametrize("name", NO_FACE)
def test_no_face_photos(name):
    assert _faces(name) == []


# The centres of the group selfie's 7 faces (x, y), read off the photo: 5 fully visible, then the man
# cut by the top-right edge and the woman cut by the bottom-left edge, whose face sits low in the frame
# among the shirts and dresses where a Haar detector fires on clothing.
GROUP_FACES = [(38, 301), (150, 370), (261, 190), (418, 206), (547, 426), (570, 146), (30, 493)]


@needs_shared(PHOTOS)
def test_group_selfie_finds_the_faces_and_nothing_else():
    boxes = [f.box for f in _faces("group_selfie.jpg")]
    # Every box is on exactly one face (none on clothing, none spanning two), no face is boxed twice,
    # and at least 6 of the 7 are found (YuNet, the detector before CenterFace, found 6).
    hits = [[i for i, (cx, cy) in enumerate(GROUP_FACES) if x <= cx <= x + w and y <= cy <= y + h] for x, y, w, h in boxes]
    assert all(len(hit) == 1 for hit in hits), list(zip(boxes, hits))
    assert len({hit[0] for hit in hits}) == len(boxes) >= 6


def test_small_pictures_are_face_crops():
    assert is_face_crop(Image.new("L", (48, 48))) and is_face_crop(Image.new("RGB", (128, 100)))
    assert not is_face_crop(Image.new("RGB", (640, 480)))
    face = FaceFinder()(Image.new("L", (48, 48), 90))
    assert len(face) == 1 and face[0].box == (0, 0, 48, 48) and face[0].score is None
    assert FaceFinder(detect=True)(Image.new("L", (48, 48), 90)) == []  # forced detection on a blank square


def test_alignment_levels_the_eyes():
    # A picture with two dark "eyes" on a tilted line: after alignment they sit on one row.
    image = np.full((200, 200), 200, np.uint8)
    left, right = (70, 90), (130, 110)  # (x, y): the eye line descends to the right
    for x, y in (left, right):
        image[y - 4 : y + 5, x - 4 : x + 5] = 0
    crop = aligned_crop(Image.fromarray(image), (50, 50, 100, 100), (left, right), size=100,
                        settings=CropSettings(level_eyes=True))
    rows = [np.argmin(crop[:, :50].min(axis=1)), np.argmin(crop[:, 50:].min(axis=1))]
    assert abs(int(rows[0]) - int(rows[1])) <= 2


@needs_shared(PHOTOS)
def test_predict_schema_on_photos(runner, app, tmp_path):
    result = runner.invoke(app, ["predict", str(PHOTOS), "--annotate", str(tmp_path / "ann")])
    assert result.exit_code == 0, result.stderr
    records = jsonl(result.stdout)
    by_path = {}
    for record in records:
        by_path.setdefault(record["path"].rsplit("/", 1)[-1], []).append(record)
    assert set(by_path) == {p.name for p in PHOTOS.iterdir() if p.suffix in (".jpg", ".png")}
    for name in NO_FACE:
        (record,) = by_path[name]
        assert record["label"] is None and record["reason"] == "no face found" and record["box"] is None
    for name in SINGLE_FACE:
        (record,) = by_path[name]
        assert set(record) >= {"path", "face", "box", "label", "score", "scores"} and record["face"] == 0
        assert record["label"] in record["scores"] and len(record["box"]) == 4
    assert [r["face"] for r in by_path["group_selfie.jpg"]] == list(range(len(by_path["group_selfie.jpg"])))
    annotated = sorted(p.name for p in (tmp_path / "ann").iterdir())
    assert annotated == sorted(by_path) and Image.open(tmp_path / "ann" / "group_selfie.jpg").size == (600, 604)


@needs_shared(PHOTOS)
def test_quiet_silences_stderr_and_keeps_the_records(runner, app):
    result = runner.invoke(app, ["predict", str(PHOTOS / "astronaut.png"), str(PHOTOS / "coffee_no_face.jpg"), "-q"])
    assert result.exit_code == 0 and result.stderr == ""
    records = jsonl(result.stdout)
    assert [r["path"] for r in records] == [str(PHOTOS / "astronaut.png"), str(PHOTOS / "coffee_no_face.jpg")]
    assert records[0]["label"] == "happy" and records[1]["label"] is None and records[1]["reason"] == "no face found"


def test_no_detect_uses_whole_picture(runner, app, tmp_path):
    path = tmp_path / "big.png"
    Image.new("RGB", (300, 200), (120, 120, 120)).save(path)
    record = jsonl(runner.invoke(app, ["predict", str(path), "--no-detect"]).stdout)[0]
    assert record["box"] == [0, 0, 300, 200] and record["label"]
    blank = jsonl(runner.invoke(app, ["predict", str(path)]).stdout)[0]
    assert blank["label"] is None and blank["reason"] == "no face found"


def _write_clip(path, picture, frames=10, rate=5):
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = picture.width, picture.height, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_image(picture if i % 2 == 0 else picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


@needs_shared(PHOTOS)
def test_video_frames_are_predicted(runner, app, tmp_path):
    clip = tmp_path / "clip.mp4"
    _write_clip(clip, Image.open(PHOTOS / "astronaut.png").convert("RGB").resize((256, 256)))
    every = jsonl(runner.invoke(app, ["predict", str(clip), "--every", "3"]).stdout)
    assert [r["frame"] for r in every] == [0, 3, 6, 9]
    assert [r["time"] for r in every] == pytest.approx([0.0, 0.6, 1.2, 1.8])
    assert all(r["label"] and r["face"] == 0 for r in every)
    per_second = jsonl(runner.invoke(app, ["predict", str(clip), "--fps", "1"]).stdout)
    assert [r["frame"] for r in per_second] == [0, 5]
    assert len(jsonl(runner.invoke(app, ["predict", str(clip)]).stdout)) == 10


def test_bad_video_is_one_error(runner, app, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    result = runner.invoke(app, ["predict", str(bad)])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("Error:") and "bad.mp4" in result.stderr and len(result.stderr.splitlines()) == 1


def test_every_and_fps_together_is_usage_error(runner, app, tmp_path):
    assert runner.invoke(app, ["predict", str(tmp_path), "--every", "2", "--fps", "1"]).exit_code == 2


def test_shipped_model_predicts_without_tensorflow():
    code = (
        "import sys\nfrom fer_cli.cli import app\ntry:\n app(sys.argv[1:])\nexcept SystemExit as e:\n code = e.code\n"
        "print('TF' if 'tensorflow' in sys.modules else 'NO-TF', file=sys.stderr)\nsys.exit(code)"
    )
    result = subprocess.run([sys.executable, "-c", code, "predict", str(REPO / "samples")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "NO-TF" in result.stderr
    assert jsonl(result.stdout)[0]["label"] == "happy"


RACE = """
import sys, threading
from PIL import Image
from fer_cli.inference.detector import detect_faces
picture = Image.open(sys.argv[1])
picture.load()
barrier = threading.Barrier(8)
found = []
def first_call():
    barrier.wait()
    found.append(len(detect_faces(picture)))
threads = [threading.Thread(target=first_call) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(found)
"""


@pytest.mark.parametrize("attempt", range(2))
def test_first_detections_from_many_threads(attempt):
    # fer predict detects on a thread pool, so the first calls race to create the detector's
    # session: each must wait for the one session and find the face, none hang or fail.
    result = subprocess.run([sys.executable, "-c", RACE, str(REPO / "samples" / "astronaut.png")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == str([1] * 8), result.stderr


@pytest.mark.parametrize("size", [(1, 1), (5, 40), (33, 31), (700, 90)])
@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "I;16"])
def test_detector_takes_any_size_and_mode(size, mode):
    # The graph wants sides in multiples of 32: odd, tiny and long thin pictures are padded, not refused.
    assert detect_faces(Image.new(mode, size)) == []


def test_shipped_detector_is_the_one_its_notice_describes():
    notice = (MODEL.parent / "centerface.LICENSE").read_text()
    assert hashlib.sha256(MODEL.read_bytes()).hexdigest() in notice and "MIT License" in notice


def test_crop_settings_are_checked():
    with pytest.raises(ValueError, match="padding"):
        CropSettings(padding="mirror")
    with pytest.raises(ValueError, match="scale"):
        CropSettings(scale=0)


@pytest.mark.parametrize("padding", ["black", "edge", "reflect"])
def test_padding_past_the_picture_edge(padding):
    # Columns 0..99 hold their own index: what fills the 10 columns left of the picture tells the padding.
    gray = Image.fromarray(np.tile(np.arange(100, dtype=np.uint8), (60, 1)))
    region = np.asarray(padded_region(gray, -10, 5, 20, 25, padding))
    assert region.shape == (20, 30)
    assert np.array_equal(region[:, 10:], np.tile(np.arange(20, dtype=np.uint8), (20, 1)))
    expected = {"black": np.zeros(10), "edge": np.zeros(10), "reflect": np.arange(9, -1, -1)}[padding]
    assert np.array_equal(region[0, :10], expected)
    # Past the right edge, black stays black while the others carry the picture on.
    right = np.asarray(padded_region(gray, 90, 0, 110, 10, padding))[0, 10:]
    assert np.array_equal(right, {"black": np.zeros(10), "edge": np.full(10, 99), "reflect": np.arange(99, 89, -1)}[padding])


def test_shift_moves_the_square_down_and_scale_widens_it():
    # A vertical ramp: a crop's mean row value tells where its centre is, its spread how tall it is.
    gray = Image.fromarray(np.repeat(np.arange(200, dtype=np.uint8)[:, None], 200, axis=1))
    level = ((80.0, 100.0), (120.0, 100.0))
    plain = aligned_crop(gray, (50, 50, 100, 100), level, size=100, settings=CropSettings(shift=0.0, scale=1.0))
    lower = aligned_crop(gray, (50, 50, 100, 100), level, size=100, settings=CropSettings(shift=0.1, scale=1.0))
    wider = aligned_crop(gray, (50, 50, 100, 100), level, size=100, settings=CropSettings(shift=0.0, scale=1.5))
    assert plain.mean() == pytest.approx(100, abs=1) and lower.mean() == pytest.approx(110, abs=1)
    assert wider.mean() == pytest.approx(100, abs=1) and np.ptp(wider) > 1.4 * np.ptp(plain)


def test_without_levelling_the_face_stays_as_it_is():
    image = np.random.default_rng(0).integers(0, 255, (200, 200), dtype=np.uint8)
    tilted = ((70.0, 90.0), (130.0, 110.0))
    crop = aligned_crop(Image.fromarray(image), (50, 50, 100, 100), tilted, size=100,
                        settings=CropSettings(scale=1.0, shift=0.0, level_eyes=False))
    assert np.array_equal(crop, image[50:150, 50:150])
