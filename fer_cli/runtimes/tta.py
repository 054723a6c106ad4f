"""Test-time augmentation: average a model's predictions over flipped and shifted views."""

from __future__ import annotations

from typing import Any

from fer_cli.views import TTA, view_count, views


def refuse_views_on_views(model: Any, built_in: TTA) -> None:
    """Refuse run-time views on a model that averages views of its own (views of views change its scores).

    Args:
        model: the model, as named in the message.
        built_in: the views built into the model's graph.

    Raises:
        UsageError: when `built_in` is not `TTA.none`.
    """
    from fer_cli.errors import UsageError

    built_in = TTA(built_in)
    if built_in is not TTA.none:
        raise UsageError(f"{model} already averages {view_count(built_in)} built-in views ({built_in.value}); drop --tta")


class TtaRuntime:
    """Wraps a runtime so `predict` averages over the views of `mode`.

    Args:
        runtime: any runtime with ``predict(images) -> probabilities``.
        mode: which views. Defaults to `TTA.flip`.
    """

    def __init__(self, runtime, mode: TTA = TTA.flip):
        self.runtime = runtime
        self.mode = TTA(mode)
        self.num_classes = runtime.num_classes
        self.card = getattr(runtime, "card", None)
        self.name = f"{runtime.name}+tta:{self.mode.value}"

    def predict(self, images, batch_size: int = 256):
        import numpy as np

        batch = views(images, self.mode)
        if len(images) == 0:
            return self.runtime.predict(images, batch_size)
        # One call on all views stacked keeps the runtime's batches full.
        probabilities = self.runtime.predict(np.ascontiguousarray(np.concatenate(batch)), batch_size)
        return probabilities.reshape(len(batch), len(images), -1).mean(axis=0)
