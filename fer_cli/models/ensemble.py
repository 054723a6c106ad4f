"""Combining trained models into one: averaged members, with test-time views built into the graph."""

from __future__ import annotations

from collections.abc import Sequence

from fer_cli.labels import IMAGE_SIZE
from fer_cli.views import TTA

MEMBER_PREFIX = "member"  # members are named member<i>_<architecture>


def combine(models: Sequence, tta: str = "none"):
    """One Keras model whose probabilities are the mean of `models`' over the `tta` views of each image.

    Averaging probabilities (not logits) is what `--tta` does at run time, so the
    combined model predicts exactly what the members would with ``--tta`` and
    their outputs averaged.

    Args:
        models: Keras models with the same input (raw 0..255 grayscale,
            (N, 48, 48, 1)) and the same classes, in the same order.
        tta: views to average over: ``none``, ``flip`` or ``crops``. Defaults to `"none"`.

    Returns:
        A `keras.Model` named after its parts, e.g. ``resnet_m-resnet_m-flip``.
    """
    from fer_cli.models.view_layers import MeanOverViews, StackViews, keras

    mode = TTA(tta)
    if not models:
        raise ValueError("combine needs at least one model")
    image = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name="image")
    views = StackViews(mode.value, name="views")(image) if mode is not TTA.none else image
    outputs = []
    for i, model in enumerate(models):
        # A fresh functional wrapper gives each member a unique name (two resnet_m runs
        # would otherwise clash) and shares the trained layers, so no weights are copied.
        member = keras.Model(model.input, model.output, name=f"{MEMBER_PREFIX}{i}_{architecture(model)}")
        outputs.append(member(views))
    probabilities = keras.layers.Average(name="mean_of_members")(outputs) if len(outputs) > 1 else outputs[0]
    if mode is not TTA.none:
        probabilities = MeanOverViews(mode.value, name="mean_of_views")(probabilities)
    name = "-".join([architecture(m) for m in models] + ([mode.value] if mode is not TTA.none else []))
    return keras.Model(image, probabilities, name=name)


def members(model) -> list:
    """The trained models inside a `combine`d model; a plain model is its own only member."""
    from fer_cli.tf_env import keras

    nested = [layer for layer in model.layers if isinstance(layer, keras().Model)]
    return nested or [model]


def networks(model) -> list:
    """The trained networks inside a model, without what was built around them (views, averaging, a temperature).

    What `fer export` combines when it builds new views or a new ensemble from
    models that have views or members of their own: each network counts once,
    and the new views replace the old ones rather than stacking on them.

    Args:
        model: a plain, `combine`d or calibrated Keras model.

    Returns:
        Its networks; a plain model without a temperature is its own only network.
    """
    from fer_cli.models.temperature import without_temperature

    return members(without_temperature(model))


def architecture(model) -> str:
    """The architecture name of a model or of a member of a combined one (``member1_resnet_m`` → ``resnet_m``)."""
    prefix, _, rest = model.name.partition("_")
    return rest if prefix.startswith(MEMBER_PREFIX) and prefix[len(MEMBER_PREFIX):].isdigit() and rest else model.name


def built_in_views(model) -> TTA:
    """The test-time views a `combine`d model averages over (`TTA.none` for a plain model)."""
    from fer_cli.models.view_layers import StackViews

    return next((layer.mode for layer in model.layers if isinstance(layer, StackViews)), TTA.none)


def face_flops(model) -> int:
    """What one face costs: the FLOPs of each of `model`'s networks, times the views it averages.

    Args:
        model: a plain, `combine`d or calibrated Keras model.

    Returns:
        Multiply-accumulates ×2 per 48x48 face (see `fer_cli.models.registry.count_flops`).
    """
    from fer_cli.models.registry import count_flops
    from fer_cli.views import view_count

    return sum(count_flops(network) for network in networks(model)) * view_count(built_in_views(model))
