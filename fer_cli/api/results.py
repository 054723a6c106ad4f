"""What `Recognizer` gives back: a `Face` per face found, and `Faces` per picture or frame.

Each `Face` is a view of the record `fer predict -f jsonl` prints for it, so
``face.to_dict()`` is that record, field for field. `to_dataframe` turns any
of them into a pandas DataFrame (pandas is not a dependency of fer; install it
to use this).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any


class Face:
    """One face and its expression.

    Attributes:
        box: [x, y, width, height] in the picture's pixels.
        label: the most likely class.
        score: its probability.
        scores: class → probability (they sum to 1).
    """

    __slots__ = ("_record",)

    def __init__(self, record: dict[str, Any]):
        self._record = record

    @property
    def box(self) -> tuple[int, int, int, int]:
        return tuple(self._record["box"])

    @property
    def label(self) -> str:
        return self._record["label"]

    @property
    def score(self) -> float:
        return self._record["score"]

    @property
    def scores(self) -> dict[str, float]:
        return dict(self._record["scores"])

    @property
    def track(self) -> int | None:
        """In a video: the person's number while they stay in view; `None` elsewhere."""
        return self._record.get("track")

    def to_dict(self) -> dict[str, Any]:
        """The record `fer predict -f jsonl` prints for this face (without `path` for an image given in memory)."""
        return dict(self._record)

    def __getitem__(self, key: str) -> Any:
        return self._record[key]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Face) and other._record == self._record

    def __repr__(self) -> str:
        return f"Face(label={self.label!r}, score={self.score:.3f}, box={list(self.box)})"


class Faces(list):
    """The faces of one picture (or video frame), most confident first; empty when there is none.

    Attributes:
        path: the file, or `None` for an image given in memory.
        frame: the frame number in a video (from 0), else `None`.
        time: the frame's time in seconds, else `None`.
        reason: why there is no face (``no face found``), else `None`.
    """

    def __init__(self, records: list[dict[str, Any]]):
        first = records[0] if records else {}
        faces = [Face(r) for r in records if r.get("label") is not None]
        super().__init__(faces)
        self.path: str | None = first.get("path")
        self.frame: int | None = first.get("frame")
        self.time: float | None = first.get("time")
        self.reason: str | None = first.get("reason") if not faces else None
        self._records = records

    def to_dicts(self) -> list[dict[str, Any]]:
        """The records `fer predict` prints for this picture: one per face, or one with `label` null and a reason."""
        return [dict(r) for r in self._records]

    def to_pandas(self):
        """A pandas DataFrame, a row per face (see `to_dataframe`)."""
        return to_dataframe(self)

    def __repr__(self) -> str:
        where = f"{self.path!r}" if self.path is not None else "image"
        return f"Faces({where}, {list.__repr__(self)})" if self else f"Faces({where}, reason={self.reason!r})"


def records_of(results: Any) -> Iterator[dict[str, Any]]:
    """The records of a `Face`, `Faces`, a record dict, or any iterable of them, in order."""
    if isinstance(results, Face):
        yield results.to_dict()
    elif isinstance(results, Faces):
        yield from results.to_dicts()
    elif isinstance(results, dict):
        yield dict(results)
    elif isinstance(results, Iterable) and not isinstance(results, (str, bytes)):
        for item in results:
            yield from records_of(item)
    else:
        raise TypeError(f"cannot turn a {type(results).__name__} into records")


def to_dataframe(results: Any):
    """A pandas DataFrame of results: a row per record, ``scores`` as one column per class (``scores.happy``).

    Args:
        results: a `Face`, `Faces`, a list of them (`Recognizer.predict_many`), a
            `VideoPrediction`, records (dicts), or summary rows.

    Raises:
        MissingExtra: when pandas is not installed (it is not a dependency of fer).
    """
    from fer_cli.optional import require

    pandas = require("pandas", feature="to_dataframe")
    rows = []
    for record in records_of(results):
        row: dict[str, Any] = {}
        for key, value in record.items():
            if isinstance(value, dict):
                row.update({f"{key}.{sub}": v for sub, v in value.items()})
            else:
                row[key] = value
        rows.append(row)
    return pandas.DataFrame(rows)
