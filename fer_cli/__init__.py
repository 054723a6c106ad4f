"""fer: facial expression recognition, from the command line and from Python.

    >>> import fer_cli
    >>> recognizer = fer_cli.Recognizer()            # the shipped model, loaded once
    >>> faces = recognizer.predict("photo.jpg")      # a path, bytes, a PIL image or a NumPy array
    >>> [(face.label, face.score) for face in faces]

The public API lives in `fer_cli.api` and is re-exported here; its names load on
first use, so ``import fer_cli`` imports no TensorFlow, Keras, ONNX Runtime or
matplotlib. See docs/python.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fer_cli._version import __version__

if TYPE_CHECKING:
    from fer_cli.api import (
        CropSettings,
        Face,
        Faces,
        Failure,
        FileRun,
        LoadedModel,
        ModelCard,
        Recognizer,
        Report,
        VideoPrediction,
        evaluate,
        export,
        load_model,
        prepare,
        to_dataframe,
        train,
    )

__all__ = [
    "CropSettings", "Face", "Faces", "Failure", "FileRun", "LoadedModel", "ModelCard", "Recognizer", "Report",
    "VideoPrediction", "__version__", "evaluate", "export", "load_model", "prepare", "to_dataframe", "train",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from fer_cli import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
