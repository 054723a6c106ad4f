"""Knowledge distillation: training on a teacher model's probabilities as well as the labels.

The teacher (any model fer can run: a run folder, a .keras/.onnx/.tflite file,
a combined model from `fer export A B --tta ...`, or ``default``) predicts every
training image once, before the first epoch. The target of an image is then
``(1 - teacher_weight) × one-hot label + teacher_weight × teacher probabilities``,
and augmentation, mixup and cutmix work on those targets as on labels. One
pass of the teacher instead of one per step keeps the cost of a distilled run
close to a plain one; the price is that an augmented image keeps the target
of the original (the teacher never sees the augmented version).

The teacher's probabilities are kept in the run folder (``teacher.npy``), so a
resumed run trains on the same targets without running the teacher again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_cli import output
from fer_cli.errors import ConfigError, ModelError
from fer_cli.training.warm_start import DEFAULT  # `teacher: default` names the model shipped with fer

TEACHER_FILE = "teacher.npy"
CHUNK = 1024  # images per teacher call, so the progress bar moves


def teacher_probabilities(spec: str, images: np.ndarray, class_names: list[str], on_start=None) -> np.ndarray:
    """The teacher's class probabilities for `images`, with columns in the order of `class_names`.

    Args:
        spec: the teacher: a run folder, a model file, or ``default``.
        images: uint8 training images (N, 48, 48).
        class_names: the classes of the data being trained on.
        on_start: ``on_start(total)`` returns ``advance(n)`` for a progress bar. Defaults to `None`.

    Returns:
        float32 (N, classes), rows summing to 1.

    Raises:
        ModelError: when the teacher cannot be loaded or predicts other classes.
    """
    from fer_cli.runtimes.resolve import open_runtime, resolve_model

    ref = resolve_model(None if spec == DEFAULT else spec)
    taught = list(ref.class_names)
    if sorted(taught) != sorted(class_names):
        raise ModelError(
            f"the teacher {ref.path} predicts {', '.join(taught)}; the data has {', '.join(class_names)}; "
            "a teacher must know the same classes"
        )
    runtime = open_runtime(ref)
    advance = on_start(len(images)) if on_start else (lambda n: None)
    chunks = []
    for start in range(0, len(images), CHUNK):
        chunk = images[start : start + CHUNK].astype(np.float32)[..., None]
        chunks.append(runtime.predict(chunk))
        advance(len(chunk))
    probabilities = np.concatenate(chunks) if chunks else np.zeros((0, len(taught)), np.float32)
    order = [taught.index(name) for name in class_names]
    return probabilities[:, order].astype(np.float32)


def blend_targets(labels: np.ndarray, teacher: np.ndarray, weight: float) -> np.ndarray:
    """Training targets: ``(1 - weight) × one-hot(labels) + weight × teacher``.

    Args:
        labels: class indices (N,).
        teacher: the teacher's probabilities (N, classes).
        weight: the teacher's share of the target, in (0, 1].

    Returns:
        float32 (N, classes), rows summing to 1.
    """
    one_hot = np.eye(teacher.shape[1], dtype=np.float32)[labels]
    return ((1.0 - weight) * one_hot + weight * teacher).astype(np.float32)


def load_teacher_file(path: Path, count: int, classes: int) -> np.ndarray | None:
    """The teacher probabilities saved in a run folder, or `None` when absent or not of shape (count, classes)."""
    if not path.is_file():
        return None
    try:
        saved = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    return saved.astype(np.float32) if saved.shape == (count, classes) else None


def save_teacher_file(path: Path, probabilities: np.ndarray) -> None:
    """Write the teacher probabilities atomically."""
    from fer_cli.atomic import atomic_path

    with atomic_path(path) as tmp:
        np.save(tmp, probabilities)


def use_teacher(config, inputs, saved: Path | None, quiet: bool = False) -> np.ndarray:
    """Make `inputs` train on the blended targets of `config.teacher`; return the teacher's probabilities.

    Args:
        config: the run's config (`teacher`, `teacher_weight`).
        inputs: the run's `MemoryInputs`.
        saved: a resumed run's ``teacher.npy``, reused when it fits; `None` for a new run.
        quiet: no progress bar or message. Defaults to `False`.

    Raises:
        ConfigError: for streamed inputs, which have no images in memory to predict.
        ModelError: when the teacher cannot be loaded or predicts other classes.
    """
    if inputs.streamed:
        raise ConfigError("teacher: needs the training data in memory (a folder, a csv or a .npz cache), not streamed shards")
    classes = list(inputs.class_names)
    probabilities = load_teacher_file(saved, inputs.train_count, len(classes)) if saved else None
    if probabilities is None:
        with output.counting_progress("teacher", quiet) as on_start:
            probabilities = teacher_probabilities(config.teacher, inputs.train_images, classes, on_start)
        if not quiet:
            agreement = float(np.mean(probabilities.argmax(1) == inputs.train_labels))
            output.info(f"teacher {config.teacher} agrees with {agreement:.1%} of the training labels")
    inputs.set_targets(blend_targets(inputs.train_labels, probabilities, config.teacher_weight))
    return probabilities
