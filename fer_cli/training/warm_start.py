"""Starting a run from the weights of a trained model (fine-tuning, a warm restart, a new label set)."""

from __future__ import annotations

import json
from pathlib import Path

from fer_cli.errors import ModelError
from fer_cli.training.run_dir import CLASSES_FILE


def load_initial_weights(model, path: Path, class_names: list[str]) -> str:
    """Copy the weights of the .keras model at `path` into `model`, which has the same architecture.

    When only the classifier head differs (another number of classes), every
    other layer is copied and the head keeps its fresh initialisation. A model
    trained on the same number of classes in another order is refused, since its
    head would silently predict the wrong labels.

    Args:
        model: the freshly built model to start from.
        path: a .keras file, loaded in safe mode.
        class_names: the classes of the data about to be trained on.

    Returns:
        One line saying what was copied, for the log.

    Raises:
        ModelError: when the file cannot be loaded or its architecture differs.
    """
    from fer_cli.runtimes.keras_runtime import load_keras_model

    path = Path(path)
    source = load_keras_model(path, compile=False)
    target_shapes = [tuple(w.shape) for w in model.weights]
    source_weights = source.get_weights()
    source_shapes = [tuple(w.shape) for w in source_weights]
    if len(target_shapes) != len(source_shapes):
        raise ModelError(f"{path} is not a {model.name} model: it has {len(source_shapes)} weight tensors, not {len(target_shapes)}")
    mismatched = [i for i, (a, b) in enumerate(zip(target_shapes, source_shapes)) if a != b]
    head = _head_indices(model)
    if set(mismatched) - head:
        first = mismatched[0]
        raise ModelError(
            f"{path} is not a {model.name} model: weight {model.weights[first].path} is "
            f"{source_shapes[first]}, expected {target_shapes[first]}"
        )
    if not mismatched:
        _check_class_order(path, class_names)
        model.set_weights(source_weights)
        return f"started from the weights of {path}"
    current = model.get_weights()
    for i in mismatched:
        source_weights[i] = current[i]
    model.set_weights(source_weights)
    return f"started from the weights of {path} except its {source_shapes[mismatched[-1]][-1]}-class head"


def _head_indices(model) -> set[int]:
    """Positions in ``model.weights`` of the last layer that has weights (the classifier)."""
    last = next(layer for layer in reversed(model.layers) if layer.weights)
    ids = {id(w) for w in last.weights}
    return {i for i, w in enumerate(model.weights) if id(w) in ids}


def _check_class_order(path: Path, class_names: list[str]) -> None:
    """Refuse a model whose run folder lists the same number of classes in another order."""
    beside = path.parent / CLASSES_FILE
    if not beside.is_file():
        return
    try:
        trained_on = json.loads(beside.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(trained_on, list) and list(trained_on) != list(class_names):
        raise ModelError(
            f"{path} was trained on classes {', '.join(map(str, trained_on))}; the data has {', '.join(class_names)}"
        )
