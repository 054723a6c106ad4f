"""Training configuration: defaults, a YAML file on top, then CLI flags on top.

Unknown keys are an error, so a typo never silently falls back to a default.
The defaults reproduce the seed recipe: /255 scaling, one-hot targets, Adam,
categorical cross-entropy, 100 epochs, batch 128, a stratified 20% validation
split of train.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from fer_cli.errors import ConfigError


@dataclass
class AugmentConfig:
    """Random changes applied to training images (all off by default, as in the seed).

    Attributes:
        flip: mirror left-right with probability 0.5.
        translate: largest shift, as a fraction of the image side.
        rotate: largest rotation, as a fraction of a full turn.
        zoom: largest zoom in or out, as a fraction.
        contrast: largest contrast change, as a fraction.
        brightness: largest brightness change, as a fraction of the value range.
        erasing: probability of blanking a random rectangle (random erasing).
        mixup: Beta(α, α) parameter of mixup between images of a batch (0 = off).
        cutmix: Beta(α, α) parameter of cutmix between images of a batch (0 = off).
    """

    flip: bool = False
    translate: float = 0.0
    rotate: float = 0.0
    zoom: float = 0.0
    contrast: float = 0.0
    brightness: float = 0.0
    erasing: float = 0.0
    mixup: float = 0.0
    cutmix: float = 0.0


@dataclass
class TrainConfig:
    """Everything that decides a training run; written to each run's ``config.yaml``."""

    data: str | None = None
    model: str = "seed"
    epochs: int = 100
    batch_size: int = 128
    val_split: float = 0.2
    seed: int = 0
    split_seed: int | None = None
    runs_dir: str = "runs"
    name: str | None = None
    init_weights: str | None = None
    teacher: str | None = None
    teacher_weight: float = 0.5
    optimizer: str = "adam"
    learning_rate: float = 0.001
    weight_decay: float = 0.0
    decay_norms_and_biases: bool = True
    schedule: str = "constant"
    warmup_epochs: int = 0
    label_smoothing: float = 0.0
    class_weight: str = "none"
    patience: int = 0
    time_budget: float | None = None
    ema: float = 0.0
    precision: str = "float32"
    report_split: str | None = None
    tensorboard: bool = True
    strategy: str = "auto"
    shuffle_buffer: int = 10_000
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def validation_seed(self) -> int:
        """The seed that picks the held-out validation images: `split_seed`, or `seed` when unset.

        Runs that differ in `seed` but share `split_seed` start from other weights and see
        the data in another order, yet hold out the same images, so they can be compared
        and averaged honestly on validation.
        """
        return self.seed if self.split_seed is None else self.split_seed

    def validate(self) -> TrainConfig:
        """Check value ranges; raise `ConfigError` naming the bad key."""
        checks = [
            (self.epochs >= 1, "epochs must be at least 1"),
            (self.batch_size >= 1, "batch_size must be at least 1"),
            (0.0 <= self.val_split < 1.0, "val_split must be in [0, 1)"),
            (self.learning_rate > 0, "learning_rate must be positive"),
            (self.weight_decay >= 0, "weight_decay must not be negative"),
            (0.0 <= self.label_smoothing < 1.0, "label_smoothing must be in [0, 1)"),
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}"),
            (self.schedule in SCHEDULES, f"schedule must be one of {', '.join(SCHEDULES)}"),
            (0 <= self.warmup_epochs < self.epochs or self.warmup_epochs == 0, "warmup_epochs must be below epochs"),
            (self.patience >= 0, "patience must not be negative"),
            (self.time_budget is None or self.time_budget > 0, "time_budget is minutes of training, more than 0"),
            (not (self.time_budget and self.strategy == "multi-worker"),
             "time_budget needs one machine (each worker would plan its own epochs); set epochs for a multi-worker run"),
            (self.class_weight in CLASS_WEIGHTS, f"class_weight must be one of {', '.join(CLASS_WEIGHTS)}"),
            (self.ema == 0 or 0.9 <= self.ema < 1, "ema must be 0 (off) or a momentum in [0.9, 1)"),
            (self.precision in PRECISION_SETTINGS, f"precision must be one of {', '.join(PRECISION_SETTINGS)}"),
            (self.strategy in STRATEGIES, f"strategy must be one of {', '.join(STRATEGIES)}"),
            (self.shuffle_buffer >= 1, "shuffle_buffer must be at least 1"),
            (0 < self.teacher_weight <= 1, "teacher_weight is the teacher's share of the targets, in (0, 1]"),
            (0 <= self.augment.erasing <= 1, "augment.erasing is a probability in [0, 1]"),
            (self.augment.mixup >= 0 and self.augment.cutmix >= 0, "augment.mixup and augment.cutmix must not be negative"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        from fer_cli.models.registry import get_model_spec

        get_model_spec(self.model)  # an unknown architecture fails before any data is read
        return self


OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "linear", "plateau")
CLASS_WEIGHTS = ("none", "balanced", "sqrt")
PRECISIONS = ("float32", "mixed_bfloat16")  # Keras dtype policies; fer_cli.training.precision says when each pays
PRECISION_SETTINGS = ("auto", *PRECISIONS)  # auto: bfloat16 where the machine computes it natively, written resolved


class StrategyName(str, Enum):
    """The ``--strategy`` choices (`fer_cli.training.strategy` says what each one does)."""

    auto = "auto"
    one_device = "one-device"
    mirrored = "mirrored"
    multi_worker = "multi-worker"


STRATEGIES = tuple(s.value for s in StrategyName)


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{where or 'config'} must be a mapping")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown config key(s) {', '.join(where + k for k in unknown)}; known: {', '.join(known)}")
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        current = known[name]
        if dataclasses.is_dataclass(current.default_factory if current.default_factory is not dataclasses.MISSING else None):
            kwargs[name] = _build(current.default_factory, value or {}, f"{where}{name}.")
        else:
            kwargs[name] = _coerce(value, current.type, where + name)
    return cls(**kwargs)


def _coerce(value: Any, annotation: Any, key: str) -> Any:
    text = str(annotation)
    if value is None:
        if "None" in text:
            return None
        raise ConfigError(f"{key} must not be empty")
    try:
        if text.startswith("bool"):
            if not isinstance(value, bool):
                raise ValueError
            return value
        if text.startswith("int"):
            if isinstance(value, bool) or float(value) != int(value):
                raise ValueError
            return int(value)
        if text.startswith("float"):
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}: {value!r} is not a valid {text.split(' ')[0]}") from None


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Resolve a training config: defaults, then the YAML file, then `overrides`.

    Args:
        path: a YAML file, or `None` for defaults only.
        overrides: keys set on the command line; `None` values are ignored.
            Nested keys use dots (``augment.flip``).

    Returns:
        The validated config.

    Raises:
        ConfigError: for unreadable YAML, unknown keys or bad values.
    """
    import yaml

    values: dict[str, Any] = {}
    if path is not None:
        try:
            values = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
        if not isinstance(values, dict):
            raise ConfigError(f"{path} must hold a mapping of config keys")
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        target = values
        *parents, leaf = key.split(".")
        for parent in parents:
            if not isinstance(target.get(parent), dict):  # absent, or an empty `augment:` in the YAML
                target[parent] = {}
            target = target[parent]
        target[leaf] = value
    return _build(TrainConfig, values, "").validate()


def dump_config(config: TrainConfig) -> str:
    """The config as YAML text, keys in declaration order."""
    import yaml

    return yaml.safe_dump(config.to_dict(), sort_keys=False)
