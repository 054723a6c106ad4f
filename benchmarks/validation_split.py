"""What the model-choosing benchmarks share: the runs' common validation split, and the paired test on it.

Imported by compare_models.py and ensemble_search.py (Python puts their folder on the import path).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def shared_validation(runs: list[Path], data: str | None = None):
    """The (dataset, (images, labels)) of the validation split that all `runs` held out.

    Raises:
        ValueError: when the runs hold out different images, or none.
    """
    from fer_cli.config import load_config
    from fer_cli.data import load_dataset
    from fer_cli.training.inputs import split_for_training

    configs = [load_config(run / "config.yaml") for run in runs]
    if len({(c.val_split, c.validation_seed) for c in configs}) != 1:
        raise ValueError("the runs hold out different validation images (val_split, or split_seed/seed, differ)")
    dataset = load_dataset(Path(data or configs[0].data))
    _, val = split_for_training(dataset, configs[0])
    if val is None:
        raise ValueError("the runs have no validation split (val_split: 0)")
    return dataset, (val[0].astype(np.float32)[..., None], val[1])


def mcnemar(right_a: np.ndarray, right_b: np.ndarray) -> dict:
    """Exact McNemar test of two models' per-image correctness: a two-sided binomial test on the images only one gets right."""
    from scipy.stats import binomtest

    only_a, only_b = int(np.sum(right_a & ~right_b)), int(np.sum(~right_a & right_b))
    p = binomtest(only_b, only_a + only_b).pvalue if only_a + only_b else 1.0
    return {"only_a_right": only_a, "only_b_right": only_b, "mcnemar_p": round(float(p), 4)}
