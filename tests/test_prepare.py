"""fer prepare: folder layouts, fer2013.csv, the cache and its manifest, bad files."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from fer_cli.data import load_dataset
from fer_cli.data.cache import load_cache
from fer_cli.errors import DataError
from fer_cli.labels import EMOTIONS, FER2013_CSV_CODES
from helpers import face_like, write_class_folders


def _prepare(runner, app, *args):
    result = runner.invoke(app, ["prepare", *map(str, args)])
    return result, Path(result.stdout.strip()) if result.stdout.strip() else None


def test_split_folders_become_splits(runner, app, tiny_data, tmp_path):
    result, cache = _prepare(runner, app, tiny_data, "-o", tmp_path / "c.npz")
    assert result.exit_code == 0, result.stderr
    assert cache == tmp_path / "c.npz"
    dataset = load_cache(cache)
    assert dataset.class_names == EMOTIONS
    assert len(dataset.splits["train"]) == 12 * 7 and len(dataset.splits["test"]) == 4 * 7
    assert dataset.splits["train"].images.shape[1:] == (48, 48)
    assert dataset.splits["train"].images.dtype == np.uint8
    manifest = json.loads((tmp_path / "c.json").read_text())
    assert manifest["counts"]["train"]["happy"] == 12
    assert manifest["skipped"] == [] and len(manifest["content_fingerprint"]) == 64
    assert "happy" in result.stderr  # the per-class table


def test_rerun_reuses_and_change_rebuilds(runner, app, tmp_path):
    data = tmp_path / "d"
    write_class_folders(data / "train", 3, seed=0)
    first, cache = _prepare(runner, app, data, "-o", tmp_path / "c.npz")
    mtime = cache.stat().st_mtime_ns
    again, _ = _prepare(runner, app, data, "-o", tmp_path / "c.npz")
    assert "reused" in again.stderr and cache.stat().st_mtime_ns == mtime
    write_class_folders(data / "train", 4, seed=5)  # adds one image per class
    changed, _ = _prepare(runner, app, data, "-o", tmp_path / "c.npz")
    assert "wrote" in changed.stderr
    assert len(load_cache(cache).split("train")) == 4 * 7


def test_plain_class_folder_is_one_split(runner, app, tmp_path):
    write_class_folders(tmp_path / "faces", 2, seed=0, classes=("happy", "sad"))
    result, cache = _prepare(runner, app, tmp_path / "faces", "-o", tmp_path / "c.npz")
    assert result.exit_code == 0
    dataset = load_cache(cache)
    assert list(dataset.splits) == ["all"] and dataset.class_names == ("happy", "sad")


def test_bad_files_are_skipped_and_named(runner, app, tmp_path):
    data = tmp_path / "d"
    write_class_folders(data / "train", 2, seed=0)
    (data / "train" / "happy" / "broken.jpg").write_bytes(b"not a jpeg at all")
    (data / "train" / "happy" / "empty.png").write_bytes(b"")
    (data / "train" / "happy" / ".DS_Store").write_bytes(b"\0\1")
    (data / "train" / "happy" / "._happy_0.png").write_bytes(b"junk")
    (data / "train" / "happy" / "notes.txt").write_text("hello")
    result, cache = _prepare(runner, app, data, "-o", tmp_path / "c.npz")
    assert result.exit_code == 0
    assert "broken.jpg" in result.stderr and "empty.png" in result.stderr
    manifest = json.loads((tmp_path / "c.json").read_text())
    assert sorted(Path(s["path"]).name for s in manifest["skipped"]) == ["broken.jpg", "empty.png"]
    assert len(load_cache(cache).split("train")) == 14


def test_strict_refuses_and_writes_nothing(runner, app, tmp_path):
    data = tmp_path / "d"
    write_class_folders(data / "train", 2, seed=0)
    (data / "train" / "sad" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    result, _ = _prepare(runner, app, data, "-o", tmp_path / "c.npz", "--strict")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error:") and "broken.jpg" in result.stderr
    assert not (tmp_path / "c.npz").exists() and not (tmp_path / "c.json").exists()


def test_odd_sizes_and_modes_are_converted(tmp_path):
    from PIL import Image

    data = tmp_path / "d" / "happy"
    data.mkdir(parents=True)
    Image.new("RGB", (100, 80), (200, 10, 10)).save(data / "rgb.jpg")
    Image.new("RGBA", (48, 48), (0, 0, 0, 0)).save(data / "rgba.png")
    Image.fromarray(np.full((30, 30), 40000, dtype=np.uint16)).save(data / "deep.png")
    dataset = load_dataset(tmp_path / "d")
    images = dataset.split("all").images
    assert images.shape == (3, 48, 48)
    by_name = dict(zip((Path(p).name for p in dataset.split("all").paths), images))
    assert by_name["rgba.png"].min() == 255  # transparent → white, not black
    assert 150 < by_name["deep.png"].mean() < 160  # 16-bit scaled, not clipped


def _write_csv(path: Path, rows: list[str]) -> None:
    path.write_text("emotion,pixels,Usage\n" + "\n".join(rows) + "\n")


def test_fer2013_csv_codes_and_usage(runner, app, tmp_path):
    rng = np.random.default_rng(0)
    pixels = lambda: " ".join(map(str, face_like(0, rng).ravel()))  # noqa: E731
    rows = [f"{code},{pixels()},{usage}" for code in range(7) for usage in ("Training", "PublicTest", "PrivateTest")]
    rows += ["3,1 2 3,Training", f"9,{pixels()},Training", f"x,{pixels()},Training", f"2,{pixels()},Elsewhere"]
    _write_csv(tmp_path / "fer2013.csv", rows)
    result, cache = _prepare(runner, app, tmp_path / "fer2013.csv", "-o", tmp_path / "c.npz")
    assert result.exit_code == 0, result.stderr
    dataset = load_cache(cache)
    assert set(dataset.splits) == {"train", "val", "test"}
    train = dataset.splits["train"]
    # csv code 4 is sad and 6 is neutral; the cache uses the canonical (folder) order.
    names = [dataset.class_names[i] for i in train.labels]
    assert names == list(FER2013_CSV_CODES)
    assert dataset.class_names == EMOTIONS
    reasons = " ".join(s["reason"] for s in json.loads((tmp_path / "c.json").read_text())["skipped"])
    for expected in ("3 pixel values", "unknown emotion code 9", "non-numeric", "unknown Usage"):
        assert expected in reasons


def test_no_images_is_an_error(runner, app, tmp_path):
    (tmp_path / "empty" / "train" / "happy").mkdir(parents=True)
    result, _ = _prepare(runner, app, tmp_path / "empty")
    assert result.exit_code == 1 and result.stderr.startswith("Error:") and "Traceback" not in result.stderr


def test_missing_path_is_an_error(runner, app, tmp_path):
    result, _ = _prepare(runner, app, tmp_path / "nowhere")
    assert result.exit_code == 1 and "no such file or folder" in result.stderr


def test_foreign_npz_is_refused(tmp_path):
    np.savez(tmp_path / "x.npz", a=np.zeros(3))
    with pytest.raises(DataError, match="not a fer data cache"):
        load_cache(tmp_path / "x.npz")
    (tmp_path / "t.npz").write_bytes(b"PK\x03\x04trunc")
    with pytest.raises(DataError):
        load_cache(tmp_path / "t.npz")


def test_default_cache_location_is_printed(runner, app, tiny_data):
    result, cache = _prepare(runner, app, tiny_data)
    assert result.exit_code == 0
    assert cache.is_file() and cache.parent == Path(os.environ["FER_CACHE_DIR"])


def test_audit_reports_leakage_duplicates_and_blanks(runner, app, tmp_path):
    from PIL import Image

    data = tmp_path / "d"
    write_class_folders(data / "train", 3, seed=0)
    write_class_folders(data / "test", 2, seed=1)
    # A train image copied into test under another label, one copied within train, and a blank image.
    Image.open(data / "train" / "happy" / "happy_0.png").save(data / "test" / "sad" / "leak.png")
    Image.open(data / "train" / "happy" / "happy_1.png").save(data / "train" / "angry" / "dup.png")
    Image.new("L", (48, 48), 0).save(data / "train" / "fear" / "black.png")
    result, _ = _prepare(runner, app, data, "-o", tmp_path / "c.npz")
    assert result.exit_code == 0
    audit = json.loads((tmp_path / "c.json").read_text())["audit"]
    assert audit["leakage"]["test"] == {"images_in_train": 1, "with_other_label": 1}
    assert audit["duplicates"]["train"]["groups"] == 1 and audit["duplicates"]["train"]["conflicting_groups"] == 1
    assert [Path(p).name for p in audit["blank"]] == ["black.png"]
    assert "leakage: 1 test images are also in train (1 with another label)" in result.stderr
