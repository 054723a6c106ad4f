"""The model card: what a model expects and what its outputs mean, travelling with the model file.

As timm's ``pretrained_cfg``: the input size and channels, how pixels are
scaled, the class names, the test-time views built into the graph and the
calibration temperature. `fer train` and `fer export` write it into the model
file (a ``fer_card.json`` entry of a .keras zip; the ``fer_card`` key of an
.onnx file's metadata); a .tflite file, which has no room for it, gets it beside
(``NAME.tflite.card.json``), which is also how a model from elsewhere is given one.

`read_card` reads it once per file version (cached by path, size and
modification time). Predict and evaluate take every input fact from it.
"""

from __future__ import annotations

import functools
import json
import zipfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from fer_cli.errors import ModelError
from fer_cli.labels import EMOTIONS, IMAGE_SIZE
from fer_cli.views import TTA

CARD_ENTRY = "fer_card.json"  # the zip entry inside a .keras file
CARD_KEY = "fer_card"  # the ONNX metadata key
CARD_SUFFIX = ".card.json"  # beside a model file: NAME.EXT.card.json
NORMALIZATIONS = ("raw",)  # raw: float32 pixel values 0..255; the network scales them itself
CHANNELS = {1: "gray", 3: "rgb"}
HOW_TO_GIVE_ONE = (
    "write a card beside it: fer_cli.ModelCard(class_names=[...], input_size=48, channels=1).save_beside(PATH) "
    "(docs/python.md#model-cards)"
)


@dataclass(frozen=True)
class ModelCard:
    """What a model expects and gives.

    Attributes:
        class_names: output index → class name.
        input_size: the side of the square input, in pixels. Defaults to `48`.
        channels: 1 (grayscale) or 3 (RGB). Defaults to `1`.
        normalization: how pixels are given: ``raw`` is float32 0..255 (the
            network scales them itself). Defaults to ``"raw"``.
        views: the test-time views built into the graph (``none``, ``flip``, ``crops``).
        temperature: the calibration temperature built in (`fer export --calibrate`), or `None`.
        source: where the card was read from (not written into files).
        legacy: read from what fer wrote before cards (class names only, for
            .keras and .tflite): the runtime fills in what it can see itself.
    """

    class_names: tuple[str, ...] = EMOTIONS
    input_size: int = IMAGE_SIZE
    channels: int = 1
    normalization: str = "raw"
    views: str = TTA.none.value
    temperature: float | None = None
    source: str = ""
    legacy: bool = field(default=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        names = tuple(self.class_names)
        object.__setattr__(self, "class_names", names)
        if len(names) < 2 or not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
            raise ValueError(f"class_names must be 2 or more distinct names, not {list(names)}")
        if not isinstance(self.input_size, int) or not 8 <= self.input_size <= 1024:
            raise ValueError(f"input_size must be a whole number of pixels from 8 to 1024, not {self.input_size!r}")
        if self.channels not in CHANNELS:
            raise ValueError(f"channels must be 1 (gray) or 3 (rgb), not {self.channels!r}")
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {', '.join(NORMALIZATIONS)}, not {self.normalization!r}")
        if self.views not in TTA.__members__:
            raise ValueError(f"views must be one of {', '.join(TTA.__members__)}, not {self.views!r}")
        if self.temperature is not None and not self.temperature > 0:
            raise ValueError(f"temperature must be positive, not {self.temperature!r}")

    @property
    def color(self) -> str:
        """``gray`` or ``rgb``."""
        return CHANNELS[self.channels]

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(height, width, channels) of one input."""
        return (self.input_size, self.input_size, self.channels)

    def to_dict(self) -> dict[str, Any]:
        """The card as JSON-ready values (what `GET /v1/model` and the files hold)."""
        values = asdict(self)
        values.pop("source")
        values.pop("legacy")
        values["class_names"] = list(self.class_names)
        return values

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "") -> ModelCard:
        """A card from `to_dict`'s values; unknown keys (from a newer fer) are ignored.

        Raises:
            ModelError: when a value is not valid, naming `source`.
        """
        if not isinstance(values, dict) or "class_names" not in values:
            raise ModelError(f"{source}: a model card must be a JSON object with class_names")
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__ and k not in ("source", "legacy")}
        try:
            return cls(**known, source=source)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{source}: {exc}") from exc

    @classmethod
    def from_json(cls, text: str, source: str = "") -> ModelCard:
        try:
            values = json.loads(text)
        except ValueError as exc:
            raise ModelError(f"{source}: not a JSON model card ({exc})") from exc
        return cls.from_dict(values, source)

    def save_beside(self, model: Path | str) -> Path:
        """Write the card beside a model file (``NAME.EXT.card.json``), atomically; return its path.

        This is how a model exported elsewhere (an .onnx file without fer's
        metadata) gets one.
        """
        from fer_cli.atomic import write_text

        path = card_file_for(Path(model))
        write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    def with_(self, **changes: Any) -> ModelCard:
        """A copy with some fields changed."""
        return replace(self, **changes)


def card_file_for(model: Path) -> Path:
    """The card file beside a model file: ``NAME.EXT.card.json``."""
    return model.with_name(model.name + CARD_SUFFIX)


def read_card(path: Path | str) -> ModelCard | None:
    """The card of a model file, or `None` for a model without one (a model from elsewhere).

    In this order: the card inside the file, the card beside it, then what
    fer wrote before cards existed (an .onnx file's ``class_names``,
    ``built_in_views`` and ``temperature`` metadata; ``NAME.classes.json`` or the
    folder's ``classes.json``, at 48x48 gray). Read once per file version.

    Raises:
        ModelError: when a card is there but cannot be read.
    """
    path = Path(path)
    try:
        info = path.stat()
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror or exc}") from exc
    beside = card_file_for(path)
    beside_key = beside.stat().st_mtime_ns if beside.is_file() else None
    return _read_card(path.resolve(), info.st_size, info.st_mtime_ns, beside_key)


@functools.lru_cache(maxsize=64)
def _read_card(path: Path, size: int, mtime_ns: int, beside_mtime_ns: int | None) -> ModelCard | None:
    embedded = _embedded(path)
    if embedded is not None:
        return embedded
    beside = card_file_for(path)
    if beside_mtime_ns is not None:
        try:
            return ModelCard.from_json(beside.read_text(encoding="utf-8"), str(beside))
        except OSError as exc:
            raise ModelError(f"cannot read {beside}: {exc.strerror or exc}") from exc
    return _legacy(path)


def _embedded(path: Path) -> ModelCard | None:
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        from fer_cli.runtimes.onnx_metadata import read_metadata

        stored = read_metadata(path).get(CARD_KEY)
        return ModelCard.from_json(stored, f"{path}'s card") if stored is not None else None
    if suffix == ".keras" and zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                if CARD_ENTRY not in archive.namelist():
                    return None
                text = archive.read(CARD_ENTRY).decode("utf-8")
        except (OSError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
            raise ModelError(f"cannot read the card in {path}: {exc}") from exc
        return ModelCard.from_json(text, f"{path}'s card")
    return None


def _legacy(path: Path) -> ModelCard | None:
    """What fer recorded before cards: class names (and for .onnx, views and temperature)."""
    from fer_cli.runtimes.onnx_metadata import CLASS_NAMES_KEY, TEMPERATURE_KEY, VIEWS_KEY, read_metadata

    if path.suffix.lower() == ".onnx":
        metadata = read_metadata(path)
        if CLASS_NAMES_KEY in metadata:
            views = metadata.get(VIEWS_KEY, TTA.none.value)
            temperature = metadata.get(TEMPERATURE_KEY)
            return _checked(lambda: ModelCard(
                class_names=_names(metadata[CLASS_NAMES_KEY], f"the class names in {path}'s metadata"),
                # An unknown value is from a newer fer: assume views, so --tta is refused rather than stacked.
                views=views if views in TTA.__members__ else TTA.crops.value,
                temperature=float(temperature) if temperature else None,
                source=f"{path}'s metadata", legacy=True,
            ), str(path))
    for candidate in (path.with_name(path.name + ".classes.json"), path.parent / "classes.json"):
        if candidate.is_file():
            try:
                text = candidate.read_text(encoding="utf-8")
            except OSError as exc:
                raise ModelError(f"cannot read class names from {candidate}: {exc}") from exc
            return _checked(lambda text=text, candidate=candidate: ModelCard(
                class_names=_names(text, str(candidate)), source=str(candidate), legacy=True), str(candidate))
    return None


def _checked(make, source: str) -> ModelCard:
    try:
        return make()
    except ValueError as exc:
        raise ModelError(f"{source}: {exc}") from exc


def _names(text: str, source: str) -> tuple[str, ...]:
    """Parse a JSON list of class names; `source` names where it came from in errors."""
    try:
        names = json.loads(text)
    except ValueError as exc:
        raise ModelError(f"cannot read class names from {source}: {exc}") from exc
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or not names:
        raise ModelError(f"{source} must be a JSON list of class names")
    return tuple(names)


def embed_in_keras(path: Path, card: ModelCard) -> None:
    """Write `card` into a .keras file as its ``fer_card.json`` entry (Keras ignores entries it does not know).

    The file is rewritten to a temporary file and renamed, so it is never half-written.
    """
    from fer_cli.atomic import atomic_path

    path = Path(path)
    with atomic_path(path, suffix=".keras") as tmp:
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as target:
            for item in source.infolist():
                if item.filename != CARD_ENTRY:
                    target.writestr(item, source.read(item.filename))
            target.writestr(CARD_ENTRY, card.to_json())
