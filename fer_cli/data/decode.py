"""Decoding many image files at once, on every CPU this process may use."""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from fer_cli.data.cpus import usable_cpu_count
from fer_cli.imaging import describe_error
from fer_cli.labels import IMAGE_SIZE

# Below this many files a process pool costs more than it saves.
PARALLEL_MIN_FILES = 2000
CHUNK = 256


def pool_context():
    """How decode processes start: ``forkserver`` where the platform has it, else ``spawn`` (Windows).

    Never ``fork``: copying a process in which TensorFlow's threads already
    run can deadlock the child. Both methods start clean interpreters.
    """
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _decode_chunk(paths: Sequence[str]) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Decode `paths`; return the images (blank where it failed) and the failures."""
    from fer_cli.imaging import load_face

    images = np.zeros((len(paths), IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    failures: list[tuple[int, str]] = []
    for i, path in enumerate(paths):
        try:
            images[i] = load_face(path)
        except Exception as exc:  # any decoder failure is a bad file, reported by name
            failures.append((i, describe_error(exc)))
    return images, failures


def decode_images(
    paths: Sequence[Path], on_progress: Callable[[int], None] | None = None, workers: int | None = None
) -> tuple[np.ndarray, dict[int, str]]:
    """Decode image files to 48x48 uint8 grayscale, in parallel when worth it.

    Args:
        paths: image files.
        on_progress: called with the number of files finished since the last call.
        workers: processes to use. Defaults to the CPUs this process may run on (`usable_cpu_count`).

    Returns:
        The images (N, 48, 48), with zeros where decoding failed, and the
        failures as {index: reason}.
    """
    names = [str(p) for p in paths]
    chunks = [names[i : i + CHUNK] for i in range(0, len(names), CHUNK)]
    workers = workers or usable_cpu_count()
    images = np.zeros((len(names), IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    failures: dict[int, str] = {}

    def collect(start: int, result: tuple[np.ndarray, list[tuple[int, str]]]) -> None:
        chunk_images, chunk_failures = result
        images[start : start + len(chunk_images)] = chunk_images
        failures.update({start + i: reason for i, reason in chunk_failures})
        if on_progress:
            on_progress(len(chunk_images))

    if workers <= 1 or len(names) < PARALLEL_MIN_FILES:
        for index, chunk in enumerate(chunks):
            collect(index * CHUNK, _decode_chunk(chunk))
    else:
        context = pool_context()
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for index, result in enumerate(pool.map(_decode_chunk, chunks)):
                collect(index * CHUNK, result)
    return images, failures


def iter_decoded(
    paths: Sequence[Path], workers: int | None = None, window: int = 4
) -> Iterator[tuple[int, np.ndarray, list[tuple[int, str]]]]:
    """Decode image files in order, chunk by chunk, holding only a few chunks in memory.

    For data sets larger than memory: at most ``window`` chunks per process
    are decoded ahead of the consumer.

    Args:
        paths: image files.
        workers: processes to use. Defaults to the CPUs this process may run on (`usable_cpu_count`).
        window: chunks in flight per process. Defaults to `4`.

    Yields:
        (index of the chunk's first file, its images (n, 48, 48) with zeros where
        decoding failed, its failures as (index within the chunk, reason)).
    """
    names = [str(p) for p in paths]
    starts = range(0, len(names), CHUNK)
    workers = workers or usable_cpu_count()
    if workers <= 1 or len(names) < PARALLEL_MIN_FILES:
        for start in starts:
            yield (start, *_decode_chunk(names[start : start + CHUNK]))
        return
    context = pool_context()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque = deque()
        for start in starts:
            pending.append((start, pool.submit(_decode_chunk, names[start : start + CHUNK])))
            if len(pending) >= window * workers:
                first, future = pending.popleft()
                yield (first, *future.result())
        while pending:
            first, future = pending.popleft()
            yield (first, *future.result())
