"""Keras layers that put test-time augmentation inside a model's graph (`fer export --tta`).

`StackViews` computes the same views as `fer_cli.views.views` (a test
checks they agree), so a model with the views built in predicts what
``--tta`` gives at run time, in every runtime it is exported to.

The layers are registered with Keras, so models holding them load in safe
mode once this module is imported (`load_keras_model` imports it).
"""

from __future__ import annotations

from fer_cli.tf_env import keras as _keras
from fer_cli.views import OFFSETS, SHIFT, TTA, view_count

keras = _keras()  # imported quietly; only ever loaded inside functions that need Keras
ops = keras.ops


@keras.saving.register_keras_serializable(package="fer")
class StackViews(keras.layers.Layer):
    """Stacks the views of a batch along the batch axis: (N, H, W, C) becomes (V·N, H, W, C), view-major.

    Args:
        mode: ``flip`` (the image and its mirror) or ``crops`` (also 4 shifts
            with reflected borders, each mirrored). Defaults to `"flip"`.
    """

    def __init__(self, mode: str = "flip", **kwargs):
        super().__init__(**kwargs)
        self.mode = TTA(mode)
        if self.mode is TTA.none:
            raise ValueError("StackViews needs a mode with several views (flip or crops)")

    def call(self, images):
        bases = [images]
        if self.mode is TTA.crops:
            height, width = images.shape[1], images.shape[2]
            padded = ops.pad(images, [[0, 0], [SHIFT, SHIFT], [SHIFT, SHIFT], [0, 0]], mode="reflect")
            for dy, dx in OFFSETS:
                bases.append(padded[:, SHIFT + dy : SHIFT + dy + height, SHIFT + dx : SHIFT + dx + width, :])
        return ops.concatenate([view for base in bases for view in (base, ops.flip(base, axis=2))], axis=0)

    def compute_output_shape(self, input_shape):
        return (None, *input_shape[1:])

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode.value}


@keras.saving.register_keras_serializable(package="fer")
class MeanOverViews(keras.layers.Layer):
    """Averages predictions made on `StackViews` output back to one row per image: (V·N, K) becomes (N, K).

    Args:
        mode: the `StackViews` mode that made the views. Defaults to `"flip"`.
    """

    def __init__(self, mode: str = "flip", **kwargs):
        super().__init__(**kwargs)
        self.mode = TTA(mode)

    def call(self, predictions):
        views = view_count(self.mode)
        return ops.mean(ops.reshape(predictions, (views, -1, predictions.shape[-1])), axis=0)

    def compute_output_shape(self, input_shape):
        return (None, input_shape[-1])

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode.value}
