"""The predictor: decode pictures, crop faces, batch them through a runtime, yield records."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from fer_cli.inference.faces import Face, whole_image
from fer_cli.inference.inputs import InputItem

BATCH = 256


@dataclass
class Failure:
    """An input that could not be predicted."""

    path: str
    reason: str


def _decode(item: InputItem, find_faces: Callable[[Any], list[Face]]) -> list[Face] | Failure:
    from fer_cli.data.decode import describe_error
    from fer_cli.imaging import open_grayscale

    if item.error:
        return Failure(item.path, item.error)
    try:
        return find_faces(open_grayscale(item.path))
    except Exception as exc:  # every decoder failure is one bad input, reported by name
        return Failure(item.path, describe_error(exc))


class Predictor:
    """Predicts the expression of every face in a stream of inputs.

    Args:
        runtime: a loaded runtime (see `fer_cli.runtimes`).
        class_names: the model's class names.
        find_faces: picture → faces. Defaults to the whole picture as one face.
        top_k: also report the `top_k` best classes. Defaults to `0` (off).
    """

    def __init__(self, runtime, class_names: tuple[str, ...], find_faces: Callable[[Any], list[Face]] = whole_image, top_k: int = 0):
        self.runtime = runtime
        self.class_names = class_names
        self.find_faces = find_faces
        self.top_k = top_k

    def record(self, path: str, index: int, face: Face, probabilities: np.ndarray) -> dict[str, Any]:
        best = int(probabilities.argmax())
        record: dict[str, Any] = {
            "path": path,
            "face": index,
            "box": list(face.box),
            "label": self.class_names[best],
            "score": round(float(probabilities[best]), 6),
            "scores": {name: round(float(p), 6) for name, p in zip(self.class_names, probabilities)},
        }
        if self.top_k:
            order = np.argsort(-probabilities)[: self.top_k]
            record["top_k"] = [{"label": self.class_names[i], "score": round(float(probabilities[i]), 6)} for i in order]
        return record

    def run(self, items: Iterable[InputItem]) -> Iterator[dict[str, Any] | Failure]:
        """Yield one record per face (in input order), or a `Failure` per bad input.

        Inputs are decoded on a thread pool and predicted a batch at a time,
        so results stream out as each batch finishes.
        """
        batch: list[InputItem] = []
        with ThreadPoolExecutor(max_workers=4) as pool:
            for item in items:
                batch.append(item)
                if len(batch) == BATCH:
                    yield from self._run_batch(batch, pool)
                    batch = []
            if batch:
                yield from self._run_batch(batch, pool)

    def _run_batch(self, batch: list[InputItem], pool: ThreadPoolExecutor) -> Iterator[dict[str, Any] | Failure]:
        decoded = list(pool.map(lambda item: _decode(item, self.find_faces), batch))
        crops = [face.crop for result in decoded if not isinstance(result, Failure) for face in result]
        probabilities = (
            self.runtime.predict(np.stack(crops).astype(np.float32)[..., None]) if crops else np.zeros((0, len(self.class_names)))
        )
        row = 0
        for item, result in zip(batch, decoded):
            if isinstance(result, Failure):
                yield result
                continue
            for index, face in enumerate(result):
                yield self.record(item.path, index, face, probabilities[row])
                row += 1
