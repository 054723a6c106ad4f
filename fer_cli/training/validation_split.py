"""The held-out images a trained model may be tuned on (a calibration temperature, a choice between models).

A run holds out a seeded share of train (`val_split`, `split_seed`) or uses the
data's ``val`` split, and writes down how in its ``config.yaml``; this module
rebuilds that split, and checks it against the fingerprint of what the run
trained on (``data.json``), so a model is never tuned on images it learned
from. Test data stays for reporting.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_cli.config import TrainConfig, load_config
from fer_cli.data.types import Dataset
from fer_cli.errors import DataError, UsageError

OnStart = Callable[[int], Callable[[int], None]] | None


@dataclass
class HeldOut:
    """Labelled images held out from training.

    Attributes:
        dataset: the data set they come from.
        images: uint8 (N, 48, 48).
        labels: class indices into ``dataset.class_names`` (N,).
        description: where they come from, for messages.
    """

    dataset: Dataset
    images: np.ndarray
    labels: np.ndarray
    description: str


def _load(data: Path, on_start: OnStart) -> Dataset:
    from fer_cli.data import load_dataset

    return load_dataset(Path(data), on_start=on_start)


def _held_out(dataset: Dataset, config: TrainConfig, data: Path) -> HeldOut:
    from fer_cli.training.inputs import split_for_training

    _, val = split_for_training(dataset, config)
    if val is None:
        raise UsageError(f"{data} has no val split and val_split is 0: nothing is held out")
    how = "its val split" if "val" in dataset.splits else f"{config.val_split:g} of train, split seed {config.validation_seed}"
    return HeldOut(dataset, val[0], val[1], f"{len(val[1])} validation images of {data} ({how})")


def training_validation(data: Path, val_split: float, split_seed: int = 0, on_start: OnStart = None) -> HeldOut:
    """The validation images a run with ``val_split`` and ``split_seed`` held out of `data`.

    As `fer train` picks them: the data's ``val`` split when it has one, else a
    seeded, stratified `val_split` share of its train split.

    Args:
        data: a data folder, csv, .npz cache or shard folder.
        val_split: the share of train held out, in (0, 1).
        split_seed: the seed that picked them (a run's ``split_seed``, or its ``seed`` when
            that is unset). Defaults to `0`, the seed of a run with default settings.
        on_start: decoding progress (see `fer_cli.data.load_dataset`). Defaults to none.

    Returns:
        The held-out images.
    """
    if not 0 < val_split < 1:
        raise UsageError(f"--val-split must be in (0, 1), not {val_split:g}")
    config = TrainConfig(val_split=val_split, split_seed=split_seed)
    return _held_out(_load(data, on_start), config, Path(data))


def named_split(data: Path, split: str, on_start: OnStart = None) -> HeldOut:
    """One named split of `data` (e.g. ``val``), as it is.

    Raises:
        DataError: when there is no such split, naming those there are.
    """
    dataset = _load(data, on_start)
    chosen = dataset.split(split)
    return HeldOut(dataset, chosen.images, chosen.labels, f"{len(chosen)} images of the {split} split of {data}")


def runs_validation(runs: Sequence[Path], data: Path | None = None, on_start: OnStart = None) -> HeldOut:
    """The validation split that every one of `runs` held out, rebuilt from their ``config.yaml``.

    Args:
        runs: run folders.
        data: the data they trained on, when it is no longer where their config says.
            Defaults to the first run's ``data``.
        on_start: decoding progress. Defaults to none.

    Returns:
        The held-out images.

    Raises:
        UsageError: when the runs held out different images or none, or when the data
            is not what they trained on (its fingerprint differs from their ``data.json``).
    """
    from fer_cli.data.shards import is_shard_dir
    from fer_cli.training.inputs import MemoryInputs
    from fer_cli.training.run_dir import CONFIG_FILE, DATA_FILE

    runs = [Path(run) for run in runs]
    configs = [load_config(run / CONFIG_FILE) for run in runs]
    if len({(c.val_split, c.validation_seed) for c in configs}) != 1:
        raise UsageError("the runs hold out different validation images (val_split, or split_seed/seed, differ); "
                         "calibrate each alone, or give --calibration-data")
    source = Path(data or configs[0].data or "")
    if not str(source) or not source.exists():
        raise UsageError(f"the data {runs[0]} trained on is not at {source}; give it with --calibration-data DATA "
                         f"--val-split {configs[0].val_split:g} --split-seed {configs[0].validation_seed}")
    dataset = _load(source, on_start)
    held_out = _held_out(dataset, configs[0], source)
    if not is_shard_dir(source):  # runs on shards record another kind of fingerprint
        fingerprint = MemoryInputs(dataset, configs[0]).fingerprint()
        for run in runs:
            record = run / DATA_FILE
            if record.is_file() and json.loads(record.read_text(encoding="utf-8")).get("fingerprint") != fingerprint:
                raise DataError(f"{source} is not the data {run} trained on (its training and validation images differ "
                                f"from {run / DATA_FILE}); give that data with --calibration-data")
    held_out.description += f", held out by {', '.join(map(str, runs))}"
    return held_out
