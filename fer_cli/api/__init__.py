"""fer's Python API: every `fer` command is a thin call into one of these.

====================  =====================================  ==================
name                  what it does                           command
====================  =====================================  ==================
`Recognizer`          faces and expressions in images/videos `fer predict`
`evaluate`            accuracy, per class, calibration       `fer evaluate`
`prepare`             decode a data set into a cache         `fer prepare`
`train`               train a model into a run folder        `fer train`
`export`              convert a model, checked for parity    `fer export`
====================  =====================================  ==================

Names load on first use: importing this package imports no TensorFlow, Keras,
ONNX Runtime or matplotlib.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_HOMES = {
    "Recognizer": "fer_cli.api.recognizer",
    "Face": "fer_cli.api.results",
    "Faces": "fer_cli.api.results",
    "to_dataframe": "fer_cli.api.results",
    "VideoPrediction": "fer_cli.api.video",
    "FileRun": "fer_cli.api.files",
    "evaluate": "fer_cli.api.evaluator",
    "prepare": "fer_cli.api.preparation",
    "train": "fer_cli.api.trainer",
    "export": "fer_cli.api.exporter",
    "load_model": "fer_cli.api.loading",
    "LoadedModel": "fer_cli.api.loading",
    "ModelCard": "fer_cli.runtimes.card",
    "Report": "fer_cli.evaluation",
    "CropSettings": "fer_cli.inference.faces",
    "Failure": "fer_cli.inference.predictor",
}

__all__ = [
    "CropSettings", "Face", "Faces", "Failure", "FileRun", "LoadedModel", "ModelCard", "Recognizer", "Report",
    "VideoPrediction", "evaluate", "export", "load_model", "prepare", "to_dataframe", "train",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time names load lazily below
    from fer_cli.api.evaluator import evaluate
    from fer_cli.api.exporter import export
    from fer_cli.api.files import FileRun
    from fer_cli.api.loading import LoadedModel, load_model
    from fer_cli.api.preparation import prepare
    from fer_cli.api.recognizer import Recognizer
    from fer_cli.api.results import Face, Faces, to_dataframe
    from fer_cli.api.trainer import train
    from fer_cli.api.video import VideoPrediction
    from fer_cli.evaluation import Report
    from fer_cli.inference.faces import CropSettings
    from fer_cli.inference.predictor import Failure
    from fer_cli.runtimes.card import ModelCard


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
