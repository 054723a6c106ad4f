"""Training precision: float32, or mixed bfloat16 (bfloat16 arithmetic, float32 weights).

Under ``mixed_bfloat16`` the layers compute in bfloat16 while their weights, the
optimizer's state and the softmax stay float32, so no loss scaling is needed (bfloat16
has float32's exponent range). It is faster where the processor multiplies bfloat16
natively (x86 CPUs with AVX512_BF16 or AMX, recent GPUs and TPUs) and slower where it
is emulated; `benchmarks/train_speed.py --precision` measures both side by side.
``auto`` (`resolve_precision`) picks bfloat16 only where it is native: on an AMD EPYC
with AVX2 but no AVX512_BF16, emulated bfloat16 trained `resnet_s2` at 14.2 images/s
against 94.4 in float32 (side by side, `benchmarks/train_speed.py`).

Only training runs in bfloat16: ``best.keras`` is saved as a float32 model
(`float32_copy`), so evaluation, prediction, export and ONNX Runtime see the same
kind of model whichever precision trained it. ``last.keras`` keeps the run's
policy, so `--resume` continues in it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

# CPU flags (as Linux's /proc/cpuinfo names them) of the x86 instructions that multiply bfloat16. Arm's
# `bf16` is left out: TensorFlow's speed with it has not been measured here, and float32 is the safe side.
BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
# GPUs multiply bfloat16 natively from NVIDIA's Ampere generation (compute capability 8.0) on.
BFLOAT16_GPU_CAPABILITY = (8, 0)


def cpu_flags(cpuinfo: str | None = None) -> set[str] | None:
    """The processor's feature flags, or `None` where they cannot be read.

    Args:
        cpuinfo: the text of ``/proc/cpuinfo``. Defaults to `None`: read it on Linux.

    Returns:
        The flags of the first processor listed; `None` off Linux or when the file
        has no ``flags`` line.
    """
    if cpuinfo is None:
        if not sys.platform.startswith("linux"):
            return None
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return None
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):  # x86 and Arm spell it differently
            return set(value.split())
    return None


def native_bfloat16(gpu_capabilities: list[tuple[int, int]], flags: set[str] | None) -> bool:
    """Whether training would run bfloat16 arithmetic in hardware rather than emulate it.

    Args:
        gpu_capabilities: the CUDA compute capability of each GPU training would use.
        flags: the CPU's feature flags (`cpu_flags`), `None` if unknown.

    Returns:
        With GPUs, whether every one is Ampere or newer; without, whether the CPU
        has AVX512_BF16 or AMX. Unknown flags count as no: emulated bfloat16 is
        several times slower, float32 is never wrong.
    """
    if gpu_capabilities:
        return all(c >= BFLOAT16_GPU_CAPABILITY for c in gpu_capabilities)
    return bool(flags and flags.intersection(BFLOAT16_CPU_FLAGS))


def resolve_precision(name: str) -> tuple[str, str | None]:
    """The Keras dtype policy for the config's `precision`, probing the hardware once.

    Args:
        name: ``auto``, ``float32`` or ``mixed_bfloat16``.

    Returns:
        The policy and a warning (or `None`). ``auto`` becomes ``mixed_bfloat16`` where
        `native_bfloat16` says so for this machine's GPUs (or CPU), else ``float32``;
        an explicit ``mixed_bfloat16`` stands, with a warning where it would be emulated.
    """
    if name == "float32":
        return name, None
    native = native_bfloat16(_gpu_capabilities(), cpu_flags())
    if name == "auto":
        return ("mixed_bfloat16" if native else "float32"), None
    return name, None if native else (
        "this machine has no native bfloat16 (no GPU of compute capability 8.0 or more, no AVX512_BF16 or AMX "
        "on the CPU, or flags that cannot be read): mixed_bfloat16 may be several times slower than float32 "
        "here; `precision: auto` picks for you")


def _gpu_capabilities() -> list[tuple[int, int]]:
    from fer_cli.tf_env import tensorflow

    tf = tensorflow()
    # Physical devices only: a multi-worker strategy must still be creatable after this.
    details = [tf.config.experimental.get_device_details(gpu) for gpu in tf.config.list_physical_devices("GPU")]
    return [tuple(d.get("compute_capability", (0, 0))) for d in details]


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
