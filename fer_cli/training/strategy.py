"""Choosing where training runs: one device, the local devices, or a cluster of workers.

Everything runs on TensorFlow's own distributed engine, `tf.distribute`:

- ``one-device``: the default strategy, on the first GPU or the CPU.
- ``mirrored``: `MirroredStrategy` over all local GPUs, or all local CPU devices
  where there is no GPU.
- ``multi-worker``: `MultiWorkerMirroredStrategy`, configured by the standard
  ``TF_CONFIG`` variable (a ``cluster`` of workers and this process's ``task``).
- ``auto``: multi-worker when ``TF_CONFIG`` names more than one task, mirrored
  when there are several GPUs, else one device.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

# The names live with the rest of the config, which must not depend on training.
from fer_cli.config import STRATEGIES, StrategyName
from fer_cli.errors import UsageError


@dataclass(frozen=True)
class ClusterSpec:
    """What ``TF_CONFIG`` says about the cluster and this process.

    Attributes:
        tasks: number of tasks (chief and workers) that train.
        task_type: this process's role, ``chief`` or ``worker``.
        task_index: its index within that role.
        has_chief: the cluster names a ``chief`` task apart from the workers.
    """

    tasks: int
    task_type: str
    task_index: int

    has_chief: bool = False

    @property
    def is_chief(self) -> bool:
        """The chief writes the run folder: the ``chief`` task, or worker 0 when there is none."""
        return self.task_type == "chief" or (self.task_index == 0 and not self.has_chief)

    @property
    def worker_id(self) -> str:
        return f"{self.task_type}{self.task_index}"


def read_tf_config(environ: dict[str, str] | None = None) -> ClusterSpec | None:
    """Parse ``TF_CONFIG``; `None` when it is unset or empty.

    Raises:
        UsageError: when it is not JSON, or lacks a cluster or a task that is in it.
    """
    text = (environ if environ is not None else os.environ).get("TF_CONFIG", "").strip()
    if not text:
        return None
    try:
        config: Any = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"TF_CONFIG is not valid JSON ({exc})") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise UsageError('TF_CONFIG needs "cluster" and "task", e.g. {"cluster": {"worker": ["host1:2222", "host2:2222"]}, "task": {"type": "worker", "index": 0}}')
    task_type, index = task.get("type"), task.get("index", 0)
    members = cluster.get(task_type)
    if not isinstance(members, list) or not isinstance(index, int) or not 0 <= index < len(members):
        raise UsageError(f"TF_CONFIG's task {task_type!r} #{index} is not in its cluster ({', '.join(cluster)})")
    if task_type not in ("chief", "worker"):
        raise UsageError(f"TF_CONFIG task type {task_type!r} does not train; use chief or worker")
    tasks = len(cluster.get("chief", [])) + len(cluster.get("worker", []))
    return ClusterSpec(tasks, task_type, index, has_chief=bool(cluster.get("chief")))


@dataclass
class Placement:
    """A ready strategy and what the training loop needs to know about it.

    Attributes:
        strategy: the `tf.distribute.Strategy`.
        name: the strategy picked (``auto`` resolved).
        replicas: model copies that train in step (the global batch is split among them).
        workers: processes in the cluster (1 unless multi-worker).
        is_chief: this process writes the run folder.
        worker_id: this process's role and index, e.g. ``worker1`` (``chief`` alone).
    """

    strategy: Any
    name: str
    replicas: int
    workers: int = 1
    is_chief: bool = True
    worker_id: str = "chief"

    @property
    def distributed(self) -> bool:
        """Whether training goes through the custom `strategy.run` loop rather than `model.fit`."""
        return self.name != StrategyName.one_device.value


def resolve_name(name: str, cluster: ClusterSpec | None, gpus: int) -> str:
    """The concrete strategy for ``--strategy NAME`` given the cluster and the local GPUs."""
    if name not in STRATEGIES:
        raise UsageError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")
    if name == StrategyName.auto.value:
        if cluster is not None and cluster.tasks > 1:
            return StrategyName.multi_worker.value
        return StrategyName.mirrored.value if gpus > 1 else StrategyName.one_device.value
    if name == StrategyName.multi_worker.value and cluster is None:
        raise UsageError("--strategy multi-worker needs TF_CONFIG (the cluster's workers and this one's task); see docs/training.md")
    return name


def make_placement(name: str) -> Placement:
    """Create the strategy for ``--strategy NAME``.

    Call it before TensorFlow runs any operation: a multi-worker strategy
    must be created first. Under multi-worker this waits until every worker
    of the cluster has started.

    Args:
        name: one of `STRATEGIES`.

    Returns:
        The strategy with its replica count and this process's role.

    Raises:
        UsageError: for an unknown name, or multi-worker without ``TF_CONFIG``.
    """
    from fer_cli.tf_env import tensorflow

    tf = tensorflow()
    cluster = read_tf_config()
    # Physical devices only: listing logical ones would start TensorFlow's runtime,
    # after which a multi-worker strategy can no longer be created.
    resolved = resolve_name(name, cluster, len(tf.config.list_physical_devices("GPU")))
    if resolved == StrategyName.one_device.value:
        strategy = tf.distribute.get_strategy()
        return Placement(strategy, resolved, replicas=1)
    if resolved == StrategyName.mirrored.value:
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        # Ring all-reduce needs NCCL (GPUs only); on CPUs TensorFlow's own collective ops do it.
        cross = None if gpus else tf.distribute.ReductionToOneDevice()
        strategy = tf.distribute.MirroredStrategy(devices=devices, cross_device_ops=cross)
        return Placement(strategy, resolved, replicas=strategy.num_replicas_in_sync)
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    return Placement(
        strategy,
        resolved,
        replicas=strategy.num_replicas_in_sync,
        workers=cluster.tasks,
        is_chief=cluster.is_chief,
        worker_id=cluster.worker_id,
    )
