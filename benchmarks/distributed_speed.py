"""Training throughput of one process against two replicas and two worker processes, side by side.

Usage: python benchmarks/distributed_speed.py DATA [--model resnet_s] [--epochs 2] [--batch-size 128] [--repeats 1]

Runs `fer train DATA` three ways, each a whole run into its own folder:

- ``one-device``: one process, `model.fit` (the default on a machine without GPUs);
- ``mirrored``: one process, MirroredStrategy over the CPU split into two logical devices;
- ``multi-worker``: two processes on loopback ports, MultiWorkerMirroredStrategy via TF_CONFIG,
  which is how two machines would run, simulated on this one.

Throughput is training images per second over the epochs after the first (which pays for
graph tracing), from the wall-clock seconds in each run's history.csv. On one machine the
workers share its cores, so this measures the cost of the distributed machinery, not the
speed-up of adding machines. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TWO_CPUS = """
import sys
from fer_cli.tf_env import tensorflow
tf = tensorflow()
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from fer_cli.cli import app
sys.argv = ["fer", *sys.argv[1:]]
app()
"""


def _ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _throughput(run: Path, stderr: str) -> float:
    images = int(re.search(r"on (\d+) images", stderr).group(1))
    rows = (run / "history.csv").read_text().splitlines()
    header = rows[0].split(",")
    seconds = [float(row.split(",")[header.index("seconds")]) for row in rows[1:]]
    return images * (len(seconds) - 1) / (seconds[-1] - seconds[0])


def run_once(how: str, args, runs: Path) -> float:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    train = ["train", str(args.data), "--model", args.model, "--epochs", str(args.epochs), "--batch-size",
             str(args.batch_size), "--runs-dir", str(runs), "--name", how, "--val-split", "0.1"]
    if how == "one-device":
        done = subprocess.run([sys.executable, "-m", "fer_cli", *train, "--strategy", "one-device"],
                              capture_output=True, text=True, env=env)
        outputs = [done]
    elif how == "mirrored":
        done = subprocess.run([sys.executable, "-c", TWO_CPUS, *train, "--strategy", "mirrored"],
                              capture_output=True, text=True, env=env)
        outputs = [done]
    else:
        ports = _ports(2)
        workers = []
        for index in range(2):
            cluster = {"cluster": {"worker": [f"localhost:{p}" for p in ports]}, "task": {"type": "worker", "index": index}}
            workers.append(subprocess.Popen([sys.executable, "-m", "fer_cli", *train, "--strategy", "multi-worker"],
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                            env={**env, "TF_CONFIG": json.dumps(cluster)}))
        outputs = []
        for worker in workers:
            out, err = worker.communicate()
            outputs.append(subprocess.CompletedProcess(worker.args, worker.returncode, out, err))
    for done in outputs:
        if done.returncode:
            raise SystemExit(f"{how} failed:\n{done.stderr[-2000:]}")
    return _throughput(runs / how, outputs[0].stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--model", default="resnet_s")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    ways = ("one-device", "mirrored", "multi-worker")
    rates: dict[str, list[float]] = {how: [] for how in ways}
    for _ in range(args.repeats):
        for how in ways:
            with tempfile.TemporaryDirectory() as runs:
                rates[how].append(run_once(how, args, Path(runs)))
            print(json.dumps({how: round(rates[how][-1], 1)}), file=sys.stderr)
    medians = {how: statistics.median(values) for how, values in rates.items()}
    print(json.dumps({
        "images_per_second": {how: round(value, 1) for how, value in medians.items()},
        "ratio_to_one_device": {how: round(value / medians["one-device"], 2) for how, value in medians.items()},
        "model": args.model, "batch_size": args.batch_size, "epochs": args.epochs, "repeats": args.repeats,
    }, indent=2))


if __name__ == "__main__":
    main()
