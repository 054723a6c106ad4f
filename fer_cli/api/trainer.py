"""`train`: train a model into its own run folder, from a YAML config, keywords, or both."""

from __future__ import annotations

import dataclasses
from enum import Enum
from pathlib import Path
from typing import Any

from fer_cli.errors import UsageError


def train(data: str | Path | None = None, config: str | Path | None = None, *, resume: str | Path | None = None,
          quiet: bool = True, **options: Any):
    """Train a classifier: what `fer train` does. Needs the ``[train]`` install.

    Settings come from the defaults, then `config` (a YAML file), then `options`.

    Args:
        data: a data folder, a fer2013.csv, a .npz cache or a shard folder.
        config: a YAML config (see configs/). Defaults to none.
        resume: continue this run folder to its planned epochs (no other settings then).
        quiet: no progress bars or messages on stderr. Defaults to `True`.
        options: config keys, by name (``model="resnet_s", epochs=30, learning_rate=1e-3``); the
            augmentation keys by their own name (``flip=True, mixup=0.2``). See docs/training.md.

    Returns:
        The `TrainResult`: ``run_dir`` (config.yaml, history.csv, best.keras, ...), ``epochs_done``,
        ``best`` (validation accuracy), ``interrupted``, ``seconds``.

    Raises:
        ConfigError: for an unknown key or a bad value, naming it.
    """
    from fer_cli.optional import check

    check("tensorflow", "keras", "sklearn", "matplotlib", feature="fer train")  # before any data is decoded
    from fer_cli.data import load_dataset
    from fer_cli.training.trainer import fit

    overrides = config_overrides(data, options)
    if resume is not None:
        given = [key for key, value in overrides.items() if value is not None] + (["config"] if config else [])
        if given:
            flags = ", ".join("--" + key.rsplit(".", 1)[-1].replace("_", "-") for key in given)  # augment.flip → --flip
            raise UsageError(f"--resume continues a run as it was configured; drop {flags}")
        resolved = None
    else:
        resolved = resolve_config(config, overrides)

    def load(path: Path):
        from fer_cli.output import counting_progress

        with counting_progress("decoding", quiet) as on_start:  # closed before training's own bars start
            return load_dataset(path, on_start=on_start)

    return fit(resolved, load, resume=Path(resume) if resume is not None else None, quiet=quiet)


def config_overrides(data: str | Path | None, options: dict[str, Any]) -> dict[str, Any]:
    """Keyword options as `load_config` overrides: enum choices as their values, augmentation keys under ``augment.``."""
    from fer_cli.config import AugmentConfig

    augment = {f.name for f in dataclasses.fields(AugmentConfig)}
    overrides: dict[str, Any] = {"data": str(Path(data).resolve()) if data else None}
    for key, value in options.items():
        if isinstance(value, Enum):
            value = value.value
        elif isinstance(value, Path):
            value = str(value)
        overrides[f"augment.{key}" if key in augment else key] = value
    return overrides


def resolve_config(config: str | Path | None, overrides: dict[str, Any]):
    """The config of a new run: defaults, the YAML file, the overrides; its paths made absolute."""
    from fer_cli.config import load_config
    from fer_cli.training.warm_start import DEFAULT as DEFAULT_INIT

    resolved = load_config(Path(config) if config else None, overrides)
    # Paths in a config file are relative to the directory the command runs in;
    # the run folder records them absolute so that it can be resumed from anywhere.
    if resolved.data and config is not None:
        resolved.data = str(Path(resolved.data).resolve())
    for key in ("init_weights", "teacher"):
        value = getattr(resolved, key)
        if value and value != DEFAULT_INIT:
            setattr(resolved, key, str(Path(value).expanduser().resolve()))
    return resolved
