"""Strategies (tf.distribute), two workers on loopback ports, sharded data streamed into training."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fer_cli.errors import UsageError
from fer_cli.training.strategy import ClusterSpec, read_tf_config, resolve_name
from helpers import write_class_folders


def _tf_config(ports: list[int], index: int) -> str:
    return json.dumps({"cluster": {"worker": [f"localhost:{p}" for p in ports]}, "task": {"type": "worker", "index": index}})


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _fer(*args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "fer_cli", *args], env=environment, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


@pytest.fixture(scope="module")
def learnable(tmp_path_factory) -> Path:
    """40 train and 10 test images per class of a pattern a small net learns in a few epochs."""
    root = tmp_path_factory.mktemp("learnable") / "images"
    write_class_folders(root / "train", 40, seed=3)
    write_class_folders(root / "test", 10, seed=4)
    return root


@pytest.fixture(scope="module")
def shards(learnable, tmp_path_factory) -> Path:
    from fer_cli.data.shards import build_shards

    out = tmp_path_factory.mktemp("shards") / "learnable.shards"
    build_shards(learnable, out, shard_size=64)
    return out


# Strategy selection ----------------------------------------------------------------------------


def test_auto_picks_by_cluster_and_gpus():
    two = ClusterSpec(tasks=2, task_type="worker", task_index=1)
    assert resolve_name("auto", None, 0) == "one-device"
    assert resolve_name("auto", None, 1) == "one-device"
    assert resolve_name("auto", None, 4) == "mirrored"
    assert resolve_name("auto", two, 0) == "multi-worker"
    assert resolve_name("auto", ClusterSpec(1, "worker", 0), 0) == "one-device"
    assert resolve_name("mirrored", two, 0) == "mirrored"
    with pytest.raises(UsageError, match="TF_CONFIG"):
        resolve_name("multi-worker", None, 0)
    with pytest.raises(UsageError, match="unknown strategy"):
        resolve_name("tpu", None, 0)


def test_tf_config_roles():
    assert read_tf_config({}) is None
    worker1 = read_tf_config({"TF_CONFIG": _tf_config([1, 2], 1)})
    assert (worker1.tasks, worker1.is_chief, worker1.worker_id) == (2, False, "worker1")
    assert read_tf_config({"TF_CONFIG": _tf_config([1, 2], 0)}).is_chief
    with_chief = {"cluster": {"chief": ["a:1"], "worker": ["b:1"]}, "task": {"type": "worker", "index": 0}}
    spec = read_tf_config({"TF_CONFIG": json.dumps(with_chief)})
    assert spec.tasks == 2 and not spec.is_chief
    for bad, message in [
        ("{not json", "not valid JSON"),
        ('{"cluster": {}}', "needs"),
        (_tf_config([1, 2], 5), "not in its cluster"),
        (json.dumps({"cluster": {"ps": ["a:1"], "worker": ["b:1"]}, "task": {"type": "ps", "index": 0}}), "does not train"),
    ]:
        with pytest.raises(UsageError, match=message):
            read_tf_config({"TF_CONFIG": bad})


def test_multi_worker_without_tf_config_is_a_usage_error(runner, app, tiny_data, tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    result = runner.invoke(app, ["train", str(tiny_data), "--strategy", "multi-worker", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --strategy multi-worker needs TF_CONFIG") and result.stderr.count("\n") == 1
    assert not list(tmp_path.iterdir())  # no run folder left behind


def test_bad_tf_config_is_one_line(runner, app, tiny_data, tmp_path, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", "{oops")
    result = runner.invoke(app, ["train", str(tiny_data), "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2 and result.stderr.startswith("Error: TF_CONFIG is not valid JSON")


# Mirrored over two CPU devices, in one process --------------------------------------------------

MIRRORED = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from fer_cli.cli import app
sys.argv = ["fer", *sys.argv[1:]]
app()
"""


@pytest.mark.slow
def test_mirrored_trains_on_two_replicas(learnable, tmp_path):
    process = subprocess.run(
        [sys.executable, "-c", MIRRORED, "train", str(learnable), "--strategy", "mirrored", "--model", "resnet_s",
         "--epochs", "5", "--batch-size", "8", "--runs-dir", str(tmp_path), "--seed", "1"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert process.returncode == 0, process.stderr[-2000:]
    assert "2 replicas (mirrored)" in process.stderr
    run = Path(process.stdout.strip().splitlines()[-1])
    rows = (run / "history.csv").read_text().splitlines()
    assert len(rows) == 6 and (run / "best.keras").is_file()
    header = rows[0].split(",")
    assert float(rows[-1].split(",")[header.index("val_accuracy")]) > 0.5  # chance is 1/7


def test_global_batch_must_split_evenly(learnable, tmp_path):
    process = subprocess.run(
        [sys.executable, "-c", MIRRORED, "train", str(learnable), "--strategy", "mirrored", "--batch-size", "15",
         "--runs-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert process.returncode == 2
    assert "Error: batch_size 15 must be a multiple of the 2 replicas" in process.stderr
    assert not list(tmp_path.iterdir())


# Two workers on loopback ports ------------------------------------------------------------------


def _start_workers(args: list[str], ports: list[int]) -> list[subprocess.Popen]:
    return [_fer(*args, env={"TF_CONFIG": _tf_config(ports, i)}) for i in range(len(ports))]


@pytest.mark.slow
def test_two_workers_train_together_survive_a_dead_worker_and_resume(shards, learnable, tmp_path, runner, app):
    # Batches of 8: batch normalization needs a few hundred steps before its averages serve for inference.
    args = ["train", str(shards), "--strategy", "multi-worker", "--model", "resnet_s", "--epochs", "6",
            "--batch-size", "8", "--runs-dir", str(tmp_path), "--name", "pair", "--seed", "2"]
    chief, worker = _start_workers(args, _free_ports(2))
    run = tmp_path / "pair"
    deadline = time.monotonic() + 300
    while not (run / "workers" / "worker1" / "state.json").is_file() and time.monotonic() < deadline:
        time.sleep(0.5)
    # Worker 1 dies after its first checkpoint: the chief stops with one line that says how to go on.
    worker.send_signal(signal.SIGKILL)
    worker.communicate()
    _, err = chief.communicate(timeout=300)
    assert chief.returncode == 1
    message = [line for line in err.splitlines() if line.startswith("Error:")]
    assert message and "a worker of the cluster died or is unreachable" in message[0] and "--resume" in message[0]
    done = json.loads((run / "state.json").read_text())["epochs_done"]
    assert 1 <= done < 6

    # Both start again from their own last checkpoint and train together to the end of the plan.
    resumed = _start_workers(["train", "--resume", str(run)], _free_ports(2))
    results = [process.communicate(timeout=600) for process in resumed]
    for process, (_, err) in zip(resumed, results, strict=True):
        assert process.returncode == 0, err[-2000:]
    assert [out.strip() for out, _ in results] == [str(run)] * 2
    # Both workers saw the same all-reduced metrics at every epoch.
    epochs = [[line for line in err.splitlines() if line.startswith("epoch ")] for _, err in results]
    assert len(epochs[0]) == 6 - done and [e.split("(")[0] for e in epochs[0]] == [e.split("(")[0] for e in epochs[1]]
    history = (run / "history.csv").read_text().splitlines()
    assert [int(float(line.split(",")[0])) for line in history[1:]] == [1, 2, 3, 4, 5, 6]
    # Only the chief wrote the run folder; worker 1's own checkpoints were removed at the end.
    assert sorted(p.name for p in run.iterdir()) == sorted(
        ["best.keras", "last.keras", "history.csv", "state.json", "config.yaml", "classes.json", "data.json", "curves.png",
         "tensorboard"]
    )
    # A real accuracy, measured apart from training, on the test split.
    result = runner.invoke(app, ["evaluate", str(learnable), "--model", str(run), "-f", "json", "-q"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["accuracy"] > 0.7  # chance is 1/7


# Sharded data -----------------------------------------------------------------------------------


def test_prepare_writes_shards(runner, app, learnable, tmp_path):
    out = tmp_path / "data.shards"
    result = runner.invoke(app, ["prepare", str(learnable), "--shard-size", "100", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["train"] == {name: 40 for name in manifest["class_names"]}
    sizes = [s["images"] for s in manifest["shards"]["train"]]
    assert sizes == [100, 100, 80] and [s["images"] for s in manifest["shards"]["test"]] == [70]
    assert np.asarray(manifest["buckets"]["train"]).sum() == 280
    assert "wrote 4 shards" in result.stderr
    again = runner.invoke(app, ["prepare", str(learnable), "--shard-size", "100", "-o", str(out)])
    assert "reused 4 shards" in again.stderr


def test_shards_hold_every_image_once_in_mixed_order(shards, learnable):
    from fer_cli.data import load_dataset
    from fer_cli.data.shards import load_shards

    streamed = load_shards(shards).read_split("train")
    in_memory = load_dataset(learnable).splits["train"]
    order = np.argsort(streamed.paths)
    expected = np.argsort(in_memory.paths)
    assert np.array_equal(streamed.paths[order], in_memory.paths[expected])
    assert np.array_equal(streamed.images[order], in_memory.images[expected])
    assert np.array_equal(streamed.labels[order], in_memory.labels[expected])
    first_shard = streamed.labels[:64]
    assert len(set(first_shard.tolist())) == 7  # shuffled at write time: each shard mixes the classes


def test_prepare_shards_refuses_csv_and_foreign_folder(runner, app, tmp_path, learnable):
    csv = tmp_path / "fer2013.csv"
    csv.write_text("emotion,pixels,Usage\n")
    result = runner.invoke(app, ["prepare", str(csv), "--shard-size", "10"])
    assert result.exit_code == 1 and "image folders" in result.stderr
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    result = runner.invoke(app, ["prepare", str(learnable), "--shard-size", "10", "-o", str(busy)])
    assert result.exit_code == 1 and "not a shard folder" in result.stderr
    assert (busy / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("pipelines", [2, 3, 7])
def test_streamed_splits_cover_the_data_once_per_epoch(shards, pipelines):
    from fer_cli.config import TrainConfig
    from fer_cli.data.shards import load_shards
    from fer_cli.training.inputs import StreamInputs

    class Context:
        num_input_pipelines = pipelines

        def __init__(self, i):
            self.input_pipeline_id = i

    inputs = StreamInputs(load_shards(shards), TrainConfig(val_split=0.2))
    seen = {"train": 0, "val": 0}
    for i in range(pipelines):
        for images, _ in inputs.train(16, 0, Context(i)):
            seen["train"] += len(images)
        for images, _ in inputs.val(16, Context(i)):
            seen["val"] += len(images)
        assert inputs.largest_share(None, pipelines) >= sum(1 for _ in inputs.val(1, Context(i)))
    assert seen == {"train": inputs.train_count, "val": inputs.val_count}
    assert inputs.train_count + inputs.val_count == 280
    assert 0.1 < inputs.val_count / 280 < 0.3


def test_train_streams_shards_with_report_split(runner, app, shards, tmp_path):
    config = tmp_path / "stream.yaml"
    config.write_text(f"data: {shards}\nmodel: resnet_s\nepochs: 2\nbatch_size: 32\nreport_split: test\n"
                      f"shuffle_buffer: 50\nruns_dir: {tmp_path}\naugment:\n  flip: true\n")
    result = runner.invoke(app, ["train", "--config", str(config)])
    assert result.exit_code == 0, result.stderr
    assert "streamed from shards" in result.stderr
    run = Path(result.stdout.strip())
    assert "strategy: auto" in (run / "config.yaml").read_text()
    header, *rows = (run / "history.csv").read_text().splitlines()
    assert len(rows) == 2 and "test_accuracy" in header and "val_accuracy" in header


def test_evaluate_reads_a_shard_folder(runner, app, shards, tiny_run):
    result = runner.invoke(app, ["evaluate", str(shards), "--model", str(tiny_run), "-f", "json", "-q"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n"] == 70 and report["split"] == "test"


def test_strategy_is_a_config_key():
    from fer_cli.config import load_config
    from fer_cli.errors import ConfigError

    assert load_config(overrides={"strategy": "mirrored"}).strategy == "mirrored"
    with pytest.raises(ConfigError, match="strategy must be one of"):
        load_config(overrides={"strategy": "tpu"})


def test_streamed_decode_keeps_order_with_a_bounded_window(learnable, monkeypatch):
    from fer_cli.data import decode

    monkeypatch.setattr(decode, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(decode, "CHUNK", 16)
    paths = sorted(learnable.rglob("*.png"))[:100] + [learnable / "missing.png"]
    chunks = list(decode.iter_decoded(paths, workers=2, window=1))
    assert [start for start, _, _ in chunks] == list(range(0, 101, 16))
    images = np.concatenate([c[1] for c in chunks])
    expected, failures = decode.decode_images(paths, workers=1)
    assert np.array_equal(images, expected)
    assert chunks[-1][2] == [(100 - 96, "no such file or directory")] and failures == {100: "no such file or directory"}
