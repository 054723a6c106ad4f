"""Starting a run from the weights of a trained model (fine-tuning, a warm restart, a new label set)."""

from __future__ import annotations

import re
from pathlib import Path

from fer_cli.errors import ModelError, UsageError

DEFAULT = "default"  # `init_weights: default` names the model shipped with fer


def load_initial_weights(model, spec: str, class_names: list[str]) -> str:
    """Copy the weights of a trained Keras model into `model`, which has the same architecture.

    The classifier head follows the class names: copied when they are the same,
    its columns reordered when the same classes come in another order, and left
    freshly initialised when the classes differ (transfer to a new label set).

    Args:
        model: the freshly built model to start from.
        spec: a .keras file, a run folder (its best model) or ``default`` (the shipped model).
        class_names: the classes of the data about to be trained on.

    Returns:
        One line saying what was copied, for the log.

    Raises:
        ModelError: when the model cannot be loaded or its architecture differs.
    """
    import numpy as np

    from fer_cli.models.ensemble import architecture, members
    from fer_cli.runtimes.keras_runtime import load_keras_model
    from fer_cli.runtimes.resolve import resolve_model

    ref = resolve_model(None if spec == DEFAULT else spec)
    if spec != DEFAULT:
        check_stage_source(ref.path)
    if ref.format != "keras":
        raise ModelError(f"{ref.path}: init_weights needs a .keras model or a run folder, not {ref.format}")
    loaded = load_keras_model(ref.path, compile=False)
    target = [tuple(w.shape) for w in model.weights]
    head = _head_indices(model)

    def fits(candidate) -> bool:
        shapes = [tuple(w.shape) for w in candidate.weights]
        return len(shapes) == len(target) and all(
            a == b for i, (a, b) in enumerate(zip(shapes, target, strict=True)) if i not in head
        )

    # A combined model (`fer export A B --tta ...`) starts a run from its first member that fits.
    candidates = members(loaded)
    source = next((c for c in candidates if fits(c)), None)
    if source is None:
        names = " or ".join(sorted({architecture(c) for c in candidates}))
        raise ModelError(f"{ref.path} holds a {names} model, which does not fit {model.name}; train with --model {names}")
    weights = source.get_weights()

    trained_on = list(ref.class_names)
    fresh = model.get_weights()
    if trained_on == list(class_names):
        how = ""
    elif sorted(trained_on) == sorted(class_names):
        order = [trained_on.index(name) for name in class_names]
        for i in head:  # kernel (features, classes) and bias (classes,): reorder the class axis
            weights[i] = np.take(weights[i], order, axis=-1)
        how = " (head reordered to the data's classes)"
    else:
        for i in head:
            weights[i] = fresh[i]
        how = f", all but the classifier head (trained on {len(trained_on)} other classes)"
    model.set_weights(weights)
    part = f" (member {candidates.index(source)} of {len(candidates)})" if len(candidates) > 1 else ""
    return f"started from the weights of {ref.path}{part}{how}"


def _head_indices(model) -> set[int]:
    """Positions in ``model.weights`` of the last layer that has weights (the classifier)."""
    last = next(layer for layer in reversed(model.layers) if layer.weights)
    ids = {id(w) for w in last.weights}
    return {i for i, w in enumerate(model.weights) if id(w) in ids}


def check_stage_source(model_file: Path) -> None:
    """Refuse to start from a run that is unfinished, or that a later run of the same name has superseded.

    Run folders are numbered when their name is taken (``accurate``,
    ``accurate2``...), so a multi-stage recipe run twice would otherwise start
    its second stage from the first reproduction's stage one without a word.

    Args:
        model_file: the model to start from; checked only when it lies in a run folder.

    Raises:
        UsageError: naming the newer run, or the epochs still to train.
    """
    from fer_cli.config import load_config
    from fer_cli.training.run_dir import CONFIG_FILE, HISTORY_FILE, is_run_dir, read_history

    run = model_file.parent
    if not is_run_dir(run):
        return
    # `accurate3` is a renumbered `accurate` only if `accurate` exists (not so for runs named v1, v2, v3).
    stem = re.sub(r"(?<=\D)\d+$", "", run.name)
    base = stem if stem != run.name and is_run_dir(run.parent / stem) else run.name
    numbered = re.compile(re.escape(base) + r"([2-9]|[1-9]\d+)?")
    namesakes = [p for p in run.parent.iterdir() if numbered.fullmatch(p.name) and is_run_dir(p)]
    newest = max(namesakes, key=lambda p: (p / CONFIG_FILE).stat().st_mtime, default=run)
    if newest != run:
        raise UsageError(
            f"{run} is not the newest run named {base!r}: {newest} started later. Start from the one you mean "
            f"with --init-weights {newest}, or remove the older one"
        )
    planned = load_config(run / CONFIG_FILE).epochs
    done = len(read_history(run / HISTORY_FILE))
    if done < planned:
        raise UsageError(f"{run} has finished {done} of its {planned} epochs; finish it with `fer train --resume {run}` first")
