"""Training precision: float32, or mixed bfloat16 (bfloat16 arithmetic, float32 weights).

Under ``mixed_bfloat16`` the layers compute in bfloat16 while their weights, the
optimizer's state and the softmax stay float32, so no loss scaling is needed (bfloat16
has float32's exponent range). It is faster where the processor multiplies bfloat16
natively (x86 CPUs with AVX512_BF16 or AMX, recent GPUs and TPUs) and slower where it
is emulated; `benchmarks/train_speed.py --precision` measures both side by side.

Only training runs in bfloat16: ``best.keras`` is saved as a float32 model
(`float32_copy`), so evaluation, prediction, export and ONNX Runtime see the same
kind of model whichever precision trained it. ``last.keras`` keeps the run's
policy, so `--resume` continues in it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Layers built inside take Keras' dtype policy `name`; the previous global policy comes back after.

    Args:
        name: a Keras dtype policy, one of `fer_cli.config.PRECISIONS`.
    """
    from fer_cli.tf_env import keras as _keras

    keras = _keras()
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)


def float32_copy(model):
    """An uncompiled copy of `model` whose layers all compute in float32, with the same weights.

    Weights are float32 under either policy, so they carry over unchanged; only
    the layers' compute dtype differs.

    Args:
        model: a functional Keras model, of any policy.

    Returns:
        A new `keras.Model` without an optimizer.
    """
    from fer_cli.tf_env import keras as _keras

    keras = _keras()

    def as_float32(layer):
        config = layer.get_config()
        config["dtype"] = "float32"
        return layer.__class__.from_config(config)

    # clone_model compiles the clone when its source is compiled, and a compiled model saves its
    # optimizer's slots (3x the weights with AdamW and EMA): clone an uncompiled view of the layers.
    uncompiled = keras.Model(model.input, model.output, name=model.name)
    with dtype_policy("float32"):
        clone = keras.models.clone_model(uncompiled, clone_function=as_float32)
    clone.set_weights(model.get_weights())
    return clone
