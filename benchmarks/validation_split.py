"""What the model-choosing benchmarks share: the runs' common validation split, and the paired test on it.

Imported by compare_models.py and ensemble_search.py (Python puts their folder on the import path).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def shared_validation(runs: list[Path], data: str | None = None):
    """The (dataset, (images, labels)) of the validation split that all `runs` held out.

    See `fer_cli.training.validation_split.runs_validation`, which `fer export --calibrate` uses too.

    Raises:
        ValueError: when the runs hold out different images, or none, or the data is not what they trained on.
    """
    from fer_cli.errors import FerError
    from fer_cli.training.validation_split import runs_validation

    try:
        held_out = runs_validation(runs, Path(data) if data else None)
    except FerError as exc:
        raise ValueError(str(exc)) from exc
    return held_out.dataset, (held_out.images.astype(np.float32)[..., None], held_out.labels)


def mcnemar(right_a: np.ndarray, right_b: np.ndarray) -> dict:
    """Exact McNemar test of two models' per-image correctness: a two-sided binomial test on the images only one gets right."""
    from scipy.stats import binomtest

    only_a, only_b = int(np.sum(right_a & ~right_b)), int(np.sum(~right_a & right_b))
    p = binomtest(only_b, only_a + only_b).pvalue if only_a + only_b else 1.0
    return {"only_a_right": only_a, "only_b_right": only_b, "mcnemar_p": round(float(p), 4)}
