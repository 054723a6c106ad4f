"""Data-layer fixes of issue 12: path spellings, strict split lookup, usable CPUs, no import cycle."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fer_cli.errors import DataError
from helpers import REPO, write_class_folders


@pytest.fixture
def images_in_cwd(tmp_path, monkeypatch) -> Path:
    """A data folder ``images/`` (train and test) in the current directory; returns its absolute path."""
    work = tmp_path / "work"
    write_class_folders(work / "images" / "train", 2, seed=3, classes=("happy", "sad"))
    write_class_folders(work / "images" / "test", 1, seed=4, classes=("happy", "sad"))
    monkeypatch.chdir(work)
    return work / "images"


def _no_decoding(*args, **kwargs):
    raise AssertionError("images were decoded again although the cache is up to date")


# Item 6: the cache and the shards do not depend on how the data path is typed.


def test_cache_is_reused_whatever_the_path_spelling(images_in_cwd, tmp_path, monkeypatch):
    from fer_cli.data import build_cache, decode

    first = build_cache(Path("images"))
    assert not first.reused
    (tmp_path / "link").symlink_to(images_in_cwd, target_is_directory=True)
    monkeypatch.setattr(decode, "decode_images", _no_decoding)
    for spelling in (str(images_in_cwd), "./images", "images/", str(tmp_path / "link")):
        again = build_cache(Path(spelling))
        assert again.reused, spelling
        assert again.path == first.path, spelling


def test_cache_given_by_out_is_reused_from_another_directory(images_in_cwd, tmp_path, monkeypatch):
    from fer_cli.data import build_cache, decode
    from fer_cli.data.cache import load_cache

    out = tmp_path / "c.npz"
    assert not build_cache(Path("images"), out=out).reused
    monkeypatch.chdir(images_in_cwd / "train")
    monkeypatch.setattr(decode, "decode_images", _no_decoding)
    assert build_cache(Path("..").resolve().parent / "images" / ".." / "images", out=out).reused
    assert build_cache(Path(".."), out=out).reused
    # The paths kept in the cache name the files from anywhere, not only from where it was built.
    paths = load_cache(out).split("train").paths
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in paths)


def test_prepare_cli_reuses_after_a_change_of_spelling(runner, app, images_in_cwd):
    first = runner.invoke(app, ["prepare", "images"])
    assert first.exit_code == 0, first.stderr
    second = runner.invoke(app, ["prepare", str(images_in_cwd)])
    assert second.exit_code == 0, second.stderr
    assert "reused cache" in second.stderr and second.stdout == first.stdout


def test_shard_buckets_do_not_depend_on_the_typed_root(images_in_cwd, tmp_path, monkeypatch):
    from fer_cli.data import decode
    from fer_cli.data.shards import build_shards, load_shards

    relative = build_shards(Path("images"), out=tmp_path / "a.shards", shard_size=100)
    absolute = build_shards(images_in_cwd, out=tmp_path / "b.shards", shard_size=100)
    assert relative.manifest["buckets"] == absolute.manifest["buckets"]
    a, b = (load_shards(tmp_path / f"{n}.shards").read_split("train") for n in "ab")
    assert sorted(a.paths) == sorted(b.paths)
    assert all(Path(p).is_absolute() for p in a.paths)
    # The same images, spelled differently, reuse the shards too.
    monkeypatch.setattr(decode, "iter_decoded", _no_decoding)
    assert build_shards(Path("./images/"), out=tmp_path / "b.shards", shard_size=100).reused


def test_image_bucket_is_keyed_on_the_path_within_the_data_root(tmp_path):
    from fer_cli.data.shards import image_bucket

    inside = Path("train/happy/a.png")
    assert image_bucket(Path("images"), Path("images") / inside) == image_bucket(tmp_path / "images", tmp_path / "images" / inside)
    assert image_bucket(Path("images"), Path("images") / inside) != image_bucket(Path("images"), Path("images/train/happy/b.png"))


# Item 7: a missing split is an error, except where a caller asks for the fallback.


def _dataset(*names: str):
    from fer_cli.data.types import Dataset, Split

    split = Split(np.zeros((2, 48, 48), np.uint8), np.array([0, 1]), np.array(["a", "b"]))
    return Dataset(("happy", "sad"), {name: split for name in names})


def test_split_lookup_is_strict_and_names_the_splits_there_are():
    dataset = _dataset("train")
    with pytest.raises(DataError, match=r"no split 'test' in the data \(it has: train\)"):
        dataset.split("test")
    assert dataset.split("train") is dataset.splits["train"]


def test_split_or_only_falls_back_and_says_which():
    assert _dataset("train").split_or_only("test")[0] == "train"
    assert _dataset("train", "test").split_or_only("test")[0] == "test"
    with pytest.raises(DataError, match="it has: test, train"):
        _dataset("train", "test").split_or_only("val")


def test_evaluate_warns_when_it_uses_another_split(runner, app, tiny_data, tmp_path):
    import shutil

    shipped = REPO / "fer_cli" / "assets" / "default.onnx"  # any model will do; this one needs no training
    shutil.copytree(tiny_data / "train", tmp_path / "only_train" / "train")
    result = runner.invoke(app, ["evaluate", str(tmp_path / "only_train"), "--model", str(shipped), "-f", "json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["split"] == "train"
    warnings = [line for line in result.stderr.splitlines() if "Warning" in line]
    assert len(warnings) == 1 and "'test'" in warnings[0] and "'train'" in warnings[0], result.stderr
    # A plain folder of class folders has no split to choose: its one split is used without a warning.
    write_class_folders(tmp_path / "plain", 1, seed=9, classes=("happy", "sad"))
    plain = runner.invoke(app, ["evaluate", str(tmp_path / "plain"), "--model", str(shipped), "-f", "json"])
    assert plain.exit_code == 0 and json.loads(plain.stdout)["split"] == "all" and "Warning" not in plain.stderr


# Item 11: decoding uses the CPUs this process may run on.


def test_usable_cpus_follow_affinity_and_quota(monkeypatch, tmp_path):
    from fer_cli.data import cpus

    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    monkeypatch.setattr(cpus, "CGROUP_CPU_MAX", tmp_path / "missing")
    assert cpus.usable_cpu_count() == 3
    quota = tmp_path / "cpu.max"
    quota.write_text("150000 100000\n")
    monkeypatch.setattr(cpus, "CGROUP_CPU_MAX", quota)
    assert cpus.usable_cpu_count() == 2
    quota.write_text("max 100000\n")
    assert cpus.usable_cpu_count() == 3
    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "process_cpu_count", lambda: 5, raising=False)
    assert cpus.usable_cpu_count() == 5
    monkeypatch.delattr(os, "process_cpu_count")
    assert cpus.usable_cpu_count() == 64


def test_decoding_starts_one_process_per_usable_cpu(monkeypatch, tmp_path):
    from fer_cli.data import cpus, decode

    started = []

    class FakePool:
        def __init__(self, max_workers, mp_context):
            started.append(max_workers)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def map(self, function, items):
            return map(function, items)

    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {5, 6}, raising=False)
    monkeypatch.setattr(cpus, "CGROUP_CPU_MAX", tmp_path / "no-quota")
    monkeypatch.setattr(decode, "ProcessPoolExecutor", FakePool)
    monkeypatch.setattr(decode, "PARALLEL_MIN_FILES", 1)
    write_class_folders(tmp_path, 1, seed=0, classes=("happy",))
    images, failures = decode.decode_images(sorted(tmp_path.rglob("*.png")))
    assert started == [2] and len(images) == 1 and not failures


def test_no_module_in_fer_cli_calls_cpu_count_directly():
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "fer_cli").rglob("*.py")
        if re.search(r"os\.(process_)?cpu_count\(", path.read_text()) and path.name != "cpus.py"
    ]
    assert offenders == []


# Structure: cache and shards do not import each other.


@pytest.mark.parametrize("module", ["fer_cli.data.cache", "fer_cli.data.shards", "fer_cli.data.types", "fer_cli.data.paths"])
def test_data_modules_import_alone_without_a_cycle(module):
    code = (
        f"import sys, {module}\n"
        "other = {'fer_cli.data.cache': 'fer_cli.data.shards', 'fer_cli.data.shards': 'fer_cli.data.cache'}\n"
        f"assert other.get('{module}') not in sys.modules, 'imports ' + other['{module}']\n"
        "assert 'tensorflow' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_public_names_stay_importable():
    from fer_cli.data import (  # noqa: F401
        CacheResult,
        Dataset,
        build_cache,
        default_cache_path,
        load_dataset,
    )
    from fer_cli.data.cache import Dataset as CacheDataset
    from fer_cli.data.cache import Split, cache_dir, load_cache  # noqa: F401
    from fer_cli.data.types import Dataset as TypesDataset

    assert CacheDataset is TypesDataset is Dataset


def test_prepare_help_says_how_the_cache_is_stored(runner, app, images_in_cwd, tmp_path):
    import zipfile

    from fer_cli.data import build_cache

    build_cache(images_in_cwd, out=tmp_path / "c.npz")
    with zipfile.ZipFile(tmp_path / "c.npz") as archive:
        stored = {info.filename: info.compress_type == zipfile.ZIP_STORED for info in archive.infolist()}
    assert stored["train_images.npy"] and not stored["train_paths.npy"]
    result = runner.invoke(app, ["prepare", "--help"])
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "compressed .npz" not in text and "uncompressed" in text


def test_decode_processes_start_without_posix_only_methods(monkeypatch):
    """Windows has no forkserver: decoding must fall back to spawn there, and never fork."""
    import multiprocessing

    from fer_cli.data import decode

    assert decode.pool_context().get_start_method() in {"forkserver", "spawn"}
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert decode.pool_context().get_start_method() == "spawn"
