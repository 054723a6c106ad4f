"""Property-based fuzzing of the predict path: random and mutated image bytes, tiny and odd images.

Every input must end as records or as one reported failure: no exception escapes,
nothing hangs (hypothesis' deadline). FER_FUZZ_EXAMPLES sets how many inputs to try
(default 150 per property, to keep the suite fast).
"""

import io
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from fer_cli.inference.inputs import InputItem
from fer_cli.inference.predictor import Failure, Predictor

EXAMPLES = int(os.environ.get("FER_FUZZ_EXAMPLES", "150"))
SUFFIXES = [".jpg", ".png", ".gif", ".bmp", ".webp", ".tif", ".mp4", ".JPG", ""]
FUZZ = settings(max_examples=EXAMPLES, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def predictor():
    from fer_cli.runtimes import open_runtime, resolve_model
    from fer_cli.runtimes.twin import find_twin

    ref = find_twin(resolve_model(None))  # the shipped model's ONNX twin, as fer predict runs it
    assert ref is not None
    return Predictor(open_runtime(ref), ref.class_names)


def _seed_images() -> list[bytes]:
    out = []
    for fmt, mode in (("JPEG", "L"), ("PNG", "RGBA"), ("GIF", "P"), ("BMP", "RGB"), ("WEBP", "RGB"), ("TIFF", "I;16")):
        buffer = io.BytesIO()
        array = np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)
        image = Image.fromarray(array).convert(mode) if mode != "I;16" else Image.fromarray(array.astype(np.uint16) * 200)
        image.save(buffer, format=fmt)
        out.append(buffer.getvalue())
    return out


SEEDS = _seed_images()


def _check(predictor, path: Path) -> None:
    results = list(predictor.run([InputItem(str(path))]))
    assert results, "every input gives at least one record or failure"
    if any(isinstance(r, Failure) for r in results):
        assert len(results) == 1 and results[0].reason and "\n" not in results[0].reason
    else:
        for record in results:
            assert record["label"] is None or abs(sum(record["scores"].values()) - 1) < 1e-3


@FUZZ
@given(data=st.binary(max_size=4096), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes(predictor, tmp_path, data, suffix):
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    _check(predictor, path)


@FUZZ
@given(seed=st.sampled_from(SEEDS), flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=12),
       cut=st.one_of(st.none(), st.integers(0, 10**6)), suffix=st.sampled_from(SUFFIXES))
def test_mutated_images(predictor, tmp_path, seed, flips, cut, suffix):
    data = bytearray(seed)
    for position, value in flips:
        data[position % len(data)] = value
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    path = tmp_path / f"mutated{suffix}"
    path.write_bytes(bytes(data))
    _check(predictor, path)


# File names Linux takes: any characters but "/" and NUL; 30 characters are at most 120 bytes, under its 255.
FILE_NAMES = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1, max_size=30)


@FUZZ
@given(width=st.integers(1, 700), height=st.integers(1, 700), mode=st.sampled_from(["L", "RGB", "RGBA", "P", "1", "CMYK", "I;16"]),
       name=FILE_NAMES)
def test_odd_sizes_modes_and_names(predictor, tmp_path, width, height, mode, name):
    # Every generated picture is saved (no example is skipped): JPEG for CMYK, which PNG cannot hold.
    path = tmp_path / f"{name}{'.jpg' if mode == 'CMYK' else '.png'}"
    Image.new(mode, (width, height)).save(path)
    _check(predictor, path)


def test_huge_image_is_refused_quickly(predictor, tmp_path):
    path = tmp_path / "huge.png"
    Image.new("1", (12_000, 16_000)).save(path)  # 192 Mpx: over Pillow's decompression-bomb limit
    (result,) = list(predictor.run([InputItem(str(path))]))
    assert isinstance(result, Failure) and result.reason.startswith("image too large")
