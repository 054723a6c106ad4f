"""The records `fer predict` and `fer evaluate -f json` print are those of the golden files.

tests/golden/records.json was written by tests/golden/make_golden.py before the commands
became thin layers over the public API (`fer_cli.Recognizer`, `fer_cli.evaluate`); any
change to what they print fails here. Scores may differ by float noise only (a Keras model
and its ONNX twin agree to about 1e-6); labels, boxes, paths and counts must be equal.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from golden_inputs import fer_slice, golden_commands, run_fer
from helpers import FER_IMAGES

GOLDEN = json.loads((Path(__file__).parent / "golden" / "records.json").read_text(encoding="utf-8"))
TOLERANCE = 1e-4
UNTIMED = {"seconds"}  # wall time differs on every run


def assert_same(actual, expected, where: str = "") -> None:
    """Equal, except floats may differ by `TOLERANCE`; `model` paths compare by file name."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and actual.keys() == expected.keys(), f"{where}: keys {actual} != {expected}"
        for key in expected:
            if key in UNTIMED:
                continue
            if key == "model":
                assert Path(actual[key]).name == Path(expected[key]).name, f"{where}.model"
                continue
            assert_same(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: {len(actual)} != {len(expected)} items"
        for index, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, f"{where}[{index}]")
    elif isinstance(expected, float) and not isinstance(expected, bool):
        assert isinstance(actual, (int, float)) and math.isclose(actual, expected, abs_tol=TOLERANCE), f"{where}: {actual} != {expected}"
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


@pytest.fixture(scope="module")
def golden_folder(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("golden")
    if FER_IMAGES.exists():
        fer_slice(tmp / "slice")
    return tmp


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_records_match_the_golden_files(name, golden_folder):
    commands = golden_commands(golden_folder)
    if name not in commands:
        pytest.skip(f"{FER_IMAGES} is not here (only CI and developers have ../shared)")
    cwd, arguments = commands[name]
    assert_same(run_fer(arguments, cwd), GOLDEN[name], name)


def test_the_comparison_can_fail():
    record = GOLDEN["predict_samples"][0]
    changed = json.loads(json.dumps(record))
    changed["scores"]["happy"] += 10 * TOLERANCE
    with pytest.raises(AssertionError):
        assert_same(changed, record)
    with pytest.raises(AssertionError):
        assert_same({**record, "label": "sad"}, record)
    assert_same(json.loads(json.dumps(record)), record)
