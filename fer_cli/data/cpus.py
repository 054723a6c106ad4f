"""How many CPUs this process may use: the number of decode processes to start.

`os.cpu_count()` counts the machine's CPUs, not those a container or a CPU
affinity mask (``taskset``, a batch scheduler) leaves to this process, so it
starts too many processes there, each competing for the same few cores.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

# cgroup v2's CPU quota ("<quota> <period>" in microseconds, or "max <period>"), as
# `docker run --cpus` and Kubernetes CPU limits set it.
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def _cgroup_quota() -> int | None:
    """The CPUs the cgroup quota allows, rounded up, or `None` when there is no quota."""
    try:
        quota, period = CGROUP_CPU_MAX.read_text().split()[:2]
        if quota == "max":
            return None
        return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        return None


def usable_cpu_count() -> int:
    """The CPUs this process may run on.

    The affinity mask where the platform has one (`os.sched_getaffinity`),
    else `os.process_cpu_count` (Python 3.13+), else `os.cpu_count`; never
    more than a cgroup v2 CPU quota allows.

    Returns:
        At least 1.
    """
    if hasattr(os, "sched_getaffinity"):
        count = len(os.sched_getaffinity(0))
    elif hasattr(os, "process_cpu_count"):
        count = os.process_cpu_count() or 1
    else:
        count = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(count, quota) if quota else count)
