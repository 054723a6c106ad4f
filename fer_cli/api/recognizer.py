"""`Recognizer`: the expression of every face in images, in memory or on disk, and in videos.

The object behind `fer predict`: the command parses its flags, calls
`Recognizer.predict_files` and renders what comes back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from fer_cli.api.loading import LoadedModel, load_model
from fer_cli.api.results import Faces
from fer_cli.errors import DataError
from fer_cli.inference.faces import CropSettings, FaceFinder
from fer_cli.inference.predictor import BATCH, Failure, Picture, Predictor
from fer_cli.inference.tracking import DEFAULT_MAX_GAP
from fer_cli.runtimes.card import ModelCard
from fer_cli.views import TTA

ImageLike = Any  # str | Path | bytes | PIL.Image.Image | numpy.ndarray


class Recognizer:
    """Finds faces and predicts their expressions. Loads the model once; reuse it.

    Args:
        model: a run folder, a .keras/.onnx/.tflite file, or `None` for the model shipped with fer.
        detect: `True` always detects faces, `False` never does (the whole image is
            the face), `None` detects except in pictures of at most 128 px, which are
            taken as face crops. Defaults to `None`.
        tta: test-time views averaged at run time: ``none``, ``flip`` or ``crops``. Defaults to ``none``.
        top_k: also give the `top_k` most likely classes (``face["top_k"]``). Defaults to `0`.
        crop: how a detected face is framed (`fer_cli.inference.faces.CropSettings`). Defaults to fer's.
        workers: threads that decode pictures and find faces. Defaults to `2`.
        on_export: called with a path when a .keras model's ONNX twin is exported first (once). Defaults to `None`.

    Example:
        >>> from fer_cli import Recognizer
        >>> recognizer = Recognizer()
        >>> [face.label for face in recognizer.predict("samples/astronaut.png")]
        ['happy']
    """

    def __init__(self, model: str | Path | None = None, *, detect: bool | None = None, tta: TTA | str = TTA.none,
                 top_k: int = 0, crop: CropSettings | None = None, workers: int = 2,
                 on_export: Callable[[Path], None] | None = None):
        if top_k < 0:
            raise ValueError(f"top_k must be 0 or more, not {top_k}")
        self.model: LoadedModel = load_model(model, tta, on_export)
        card = self.model.card
        self.detect = detect
        self._finder = FaceFinder(detect, crop, size=card.input_size, channels=card.channels)
        self._top_k = top_k
        self._workers = workers

    @property
    def card(self) -> ModelCard:
        """What the model expects and gives: input size, channels, class names, views, temperature."""
        return self.model.card

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.card.class_names

    def predictor(self, batch_size: int = BATCH) -> Predictor:
        """The lower-level streaming predictor behind this recognizer (`fer_cli.inference.predictor`)."""
        return Predictor(self.model.runtime, self.class_names, self._finder, top_k=self._top_k,
                         workers=self._workers, batch_size=batch_size)

    def predict(self, image: ImageLike) -> Faces:
        """The faces in one image, most confident first.

        Args:
            image: a path, encoded bytes (JPEG, PNG, ...), a `PIL.Image.Image`, or a
                NumPy uint8 array, H x W (gray) or H x W x 3 (RGB). An OpenCV frame is
                BGR: pass ``frame[..., ::-1]``.

        Returns:
            The faces (an empty `Faces`, with a `reason`, when there is none).

        Raises:
            DataError: when the image cannot be read (or is past fer's pixel limit).
        """
        return self.predict_many([image])[0]

    def predict_many(self, images: Iterable[ImageLike], batch_size: int = BATCH) -> list[Faces]:
        """The faces in each image, in order, the faces of up to `batch_size` images in each runtime call.

        Raises:
            DataError: for the first image that cannot be read, naming it.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be 1 or more, not {batch_size}")
        pictures = (_picture(image, index) for index, image in enumerate(images))
        results = []
        for result in self.predictor(batch_size).run_pictures(pictures):
            if isinstance(result, Failure):
                raise DataError(f"{result.path}: {result.reason}")
            results.append(Faces(result))
        return results

    def predict_video(self, source: str | Path, *, fps: float | None = None, every: int | None = None,
                      smooth: float | None = None, track_gap: float = DEFAULT_MAX_GAP):
        """Follow the faces of a video: frame by frame, each face with its `track` (one number per person).

        Args:
            source: a video file.
            fps: predict about this many frames per second. Defaults to every frame.
            every: predict every N-th frame. Defaults to every frame.
            smooth: average each track's scores over this many seconds (the raw ones stay
                as ``raw_scores``). Defaults to `None` (off).
            track_gap: seconds a track waits for a face it lost. Defaults to `1`.

        Returns:
            A `VideoPrediction`: iterate it for a `Faces` per sampled frame; its
            ``summary()`` gives one row per track.
        """
        from fer_cli.api.video import VideoPrediction

        return VideoPrediction(self.predictor(), source, fps=fps, every=every, smooth=smooth, track_gap=track_gap)

    def predict_files(self, paths: Iterable[str], **options: Any):
        """Stream the records of files and folders (recursively), photos and videos: what `fer predict` prints.

        Bad inputs come out as `Failure` items in order and the rest goes on.
        See `fer_cli.api.files.FileRun` for the options (every, fps, smooth,
        track_gap, summary, annotate, plot, on_video).
        """
        from fer_cli.api.files import FileRun

        return FileRun(self.predictor(), paths, **options)

    def __repr__(self) -> str:
        return f"Recognizer(model={str(self.model.ref.path)!r}, classes={len(self.class_names)}, detect={self.detect})"


def _picture(image: ImageLike, index: int) -> Picture:
    """One image to predict: a file keeps its path in the records; an image in memory has none."""
    from fer_cli.imaging import as_picture

    if isinstance(image, (str, Path)):
        from fer_cli.inference.video import is_video_name

        if is_video_name(image):
            raise DataError(f"{image}: a video; use Recognizer.predict_video")
        return Picture({"path": str(image)}, lambda: as_picture(image))
    meta: dict[str, Any] = {}
    return Picture(meta, lambda: _named(as_picture, image, index))


def _named(convert: Callable[[Any], Any], image: ImageLike, index: int):
    try:
        return convert(image)
    except DataError as exc:
        raise DataError(f"image {index}: {exc}") from exc
