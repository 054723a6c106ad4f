"""Small residual networks with batch norm, sized for 48x48 inputs on a CPU.

The stem keeps full resolution for one cheap convolution, then each stage
halves the resolution and doubles the width, so every 3x3 convolution costs
about the same; that spends the FLOP budget evenly across scales.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fer_cli.models.registry import register_model
from fer_cli.tf_env import keras


def _conv_bn(x, filters: int, stride: int = 1, relu: bool = True):
    layers = keras().layers

    x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, kernel_initializer="he_normal")(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x) if relu else x


def _basic_block(x, filters: int, stride: int):
    layers = keras().layers

    shortcut = x
    y = _conv_bn(x, filters, stride)
    y = _conv_bn(y, filters, relu=False)
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, kernel_initializer="he_normal")(shortcut)
        shortcut = layers.BatchNormalization()(shortcut)
    return layers.ReLU()(layers.Add()([y, shortcut]))


def residual_net(x, widths: Sequence[int], blocks: Sequence[int], stem: int, dropout: float):
    """Stem conv at full resolution, then stages of basic blocks, each starting with stride 2.

    Args:
        x: scaled input tensor.
        widths: channels per stage.
        blocks: basic blocks per stage.
        stem: channels of the stem convolution.
        dropout: dropout rate before the classifier.

    Returns:
        Pooled features.
    """
    layers = keras().layers

    x = _conv_bn(x, stem)
    for width, count in zip(widths, blocks, strict=True):
        for i in range(count):
            x = _basic_block(x, width, stride=2 if i == 0 else 1)
    x = layers.GlobalAveragePooling2D()(x)
    return layers.Dropout(dropout)(x) if dropout else x


@dataclass(frozen=True)
class ResNetPlan:
    """One residual-net variant: its stage plan and regularisation."""

    description: str
    widths: tuple[int, ...]
    blocks: tuple[int, ...]
    stem: int = 32
    dropout: float = 0.3

    def __call__(self, x, num_classes: int):
        return residual_net(x, self.widths, self.blocks, self.stem, self.dropout)


# The variants differ only in their plans, so they are data, registered in one loop.
PLANS: dict[str, ResNetPlan] = {
    "resnet_s": ResNetPlan("small residual net: 4 stages (32-256 ch), 1 block each; fast on a CPU",
                           (32, 64, 128, 256), (1, 1, 1, 1)),
    "resnet_s2": ResNetPlan("residual net: 4 stages (32-256 ch), 2 blocks each; twice resnet_s's depth",
                            (32, 64, 128, 256), (2, 2, 2, 2)),
    "resnet_m": ResNetPlan("residual net: 4 stages (48-384 ch), 2-2-2-1 blocks; more accurate, ~4x the cost",
                           (48, 96, 192, 384), (2, 2, 2, 1)),
    "resnet_w": ResNetPlan("wide residual net: 4 stages (64-512 ch), 1-2-2-1 blocks",
                           (64, 128, 256, 512), (1, 2, 2, 1), dropout=0.4),
}
for _name, _plan in PLANS.items():
    register_model(_name, _plan.description)(_plan)
