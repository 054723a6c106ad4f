"""Bad inputs and unsafe files: each gets a clear one-line error, never a traceback."""

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import jsonl, write_class_folders


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG that declares a huge size (a decompression bomb) without the pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def lambda_model(tmp_path_factory) -> Path:
    """A .keras file whose Lambda layer would run arbitrary Python code if loaded unsafely."""
    from fer_cli.tf_env import keras as _keras

    keras = _keras()
    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Lambda(lambda t: t * 2)(inputs)
    outputs = keras.layers.Dense(7, activation="softmax")(keras.layers.Flatten()(x))
    path = tmp_path_factory.mktemp("unsafe") / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    return path


def test_model_with_code_is_refused(runner, app, lambda_model, tiny_data):
    for args in (["evaluate", str(tiny_data)], ["predict", str(next((tiny_data / "test" / "sad").iterdir()))]):
        result = runner.invoke(app, [*args, "--model", str(lambda_model)])
        assert result.exit_code == 1, result.stdout
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and "Lambda" in errors[0] and "Traceback" not in result.stderr


@pytest.mark.parametrize("side", [12_000, 40_000])  # 144 MP: past fer's limit, below Pillow's error; 1,600 MP: past both
def test_decompression_bomb_is_named(runner, app, tmp_path, side):
    data = tmp_path / "d"
    write_class_folders(data, 2, seed=0, classes=("happy", "sad"))
    _png_header_only(data / "happy" / "bomb.png", side, side)
    result = runner.invoke(app, ["prepare", str(data), "-o", str(tmp_path / "c.npz")])
    assert result.exit_code == 0 and "skipped" in result.stderr and "bomb.png: image too large" in result.stderr
    predicted = runner.invoke(app, ["predict", str(data / "happy" / "bomb.png")])
    assert predicted.exit_code == 1
    assert predicted.stderr.startswith(f"Error: {data / 'happy' / 'bomb.png'}: image too large"), predicted.stderr
    assert "Warning" not in predicted.stderr and "DecompressionBomb" not in predicted.stderr


def test_symlink_loop_does_not_hang(runner, app, tmp_path):
    data = tmp_path / "d"
    write_class_folders(data, 2, seed=0, classes=("happy", "sad"))
    os.symlink(data / "happy", data / "happy" / "loop")
    result = runner.invoke(app, ["prepare", str(data), "-o", str(tmp_path / "c.npz")])
    assert result.exit_code == 0
    predicted = runner.invoke(app, ["predict", str(data), "--no-detect"])
    assert predicted.exit_code == 0 and len(jsonl(predicted.stdout)) == 4


def test_non_utf8_file_names(runner, app, tmp_path):
    data = tmp_path / "d"
    write_class_folders(data, 2, seed=0, classes=("happy", "sad"))
    odd = os.fsdecode(b"caf\xe9-\xff.png")  # Latin-1 bytes: not valid UTF-8
    Image.fromarray(np.full((48, 48), 100, np.uint8)).save(data / "sad" / odd)
    result = runner.invoke(app, ["prepare", str(data), "-o", str(tmp_path / "c.npz")])
    assert result.exit_code == 0, result.stderr
    from fer_cli.data.cache import load_cache

    assert len(load_cache(tmp_path / "c.npz").split("all")) == 5
    predicted = runner.invoke(app, ["predict", str(data / "sad")])
    assert predicted.exit_code == 0 and len(jsonl(predicted.stdout)) == 3


def test_unwritable_output_is_one_line(runner, app, tmp_path, tiny_data):
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    result = runner.invoke(app, ["prepare", str(tiny_data), "-o", str(blocker / "cache.npz")])
    assert result.exit_code == 1 and result.stderr.startswith("Error:") and len(result.stderr.splitlines()) == 1
    assert blocker.read_text() == "a file, not a folder"


def test_truncated_onnx_is_refused(runner, app, tmp_path, tiny_data):
    broken = tmp_path / "m.onnx"
    broken.write_bytes(b"\x08\x07\x12\x04trunc")
    result = runner.invoke(app, ["evaluate", str(tiny_data), "--model", str(broken)])
    assert result.exit_code == 1 and result.stderr.startswith(f"Error: {broken} is not an ONNX model")
    assert len(result.stderr.splitlines()) == 1


def test_modes_and_exif_rotation_are_handled(tmp_path):
    from fer_cli.data import load_dataset

    folder = tmp_path / "d" / "happy"
    folder.mkdir(parents=True)
    # A 60x30 picture, left half black, right half white, stored sideways with EXIF orientation 6 (rotate 90°).
    array = np.zeros((30, 60), np.uint8)
    array[:, 30:] = 255
    sideways = Image.fromarray(np.rot90(array, k=1).copy())  # 30 wide, 60 tall as stored
    exif = Image.Exif()
    exif[0x0112] = 6
    sideways.save(folder / "exif.jpg", exif=exif.tobytes())
    Image.new("CMYK", (40, 40), (0, 0, 0, 0)).save(folder / "cmyk.jpg")
    Image.new("P", (40, 40), 3).save(folder / "palette.gif")
    Image.new("LA", (40, 40), (10, 0)).save(folder / "la.png")
    dataset = load_dataset(tmp_path / "d")
    split = dataset.split("all")
    names = [Path(p).name for p in split.paths]
    assert sorted(names) == ["cmyk.jpg", "exif.jpg", "la.png", "palette.gif"] and dataset.manifest["skipped"] == []
    upright = split.images[names.index("exif.jpg")]
    # Upright again: the dark half is on the left whatever the file's storage order.
    assert upright[:, :20].mean() < 60 and upright[:, 28:].mean() > 190
    assert split.images[names.index("cmyk.jpg")].min() > 200  # CMYK zero ink is white
    assert split.images[names.index("la.png")].min() == 255  # fully transparent → white


def test_empty_and_unknown_class_folders_are_reported(runner, app, tmp_path):
    from fer_cli.data.cache import load_cache

    data = tmp_path / "d"
    write_class_folders(data / "train", 2, seed=0, classes=("happy", "sad"))
    (data / "train" / "contempt").mkdir()
    result = runner.invoke(app, ["prepare", str(data), "-o", str(tmp_path / "c.npz")])
    assert result.exit_code == 0 and "contempt holds no image; not used as a class" in result.stderr
    assert load_cache(tmp_path / "c.npz").class_names == ("happy", "sad")
    (data / "train" / "contempt" / "x.png").write_bytes((data / "train" / "sad" / "sad_0.png").read_bytes())
    again = runner.invoke(app, ["prepare", str(data), "-o", str(tmp_path / "c.npz")])
    assert "not among the FER2013 emotions, used as classes: contempt" in again.stderr
    assert load_cache(tmp_path / "c.npz").class_names == ("contempt", "happy", "sad")


def test_a_failed_write_leaves_the_old_file(tmp_path):
    from fer_cli.atomic import atomic_path

    target = tmp_path / "model.keras"
    target.write_bytes(b"the good one")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half of a new o")
            raise RuntimeError("disk full, process killed, ...")
    assert target.read_bytes() == b"the good one"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_stdin_with_bad_lines(runner, app, tmp_path):
    good = tmp_path / "ok.png"
    Image.fromarray(np.full((48, 48), 120, np.uint8)).save(good)
    lines = f"{good}\n\n   \n{tmp_path / 'nope.png'}\n{tmp_path}\n"
    result = runner.invoke(app, ["predict", "-"], input=lines)
    assert result.exit_code == 1
    assert [r["path"] for r in jsonl(result.stdout)] == [str(good), str(good)]  # the folder holds ok.png too
    assert result.stderr.count("Error:") == 1 and "nope.png" in result.stderr
