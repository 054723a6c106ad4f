"""Small residual networks with batch norm, sized for 48x48 inputs on a CPU.

The stem keeps full resolution for one cheap convolution, then each stage
halves the resolution and doubles the width, so every 3x3 convolution costs
about the same; that spends the FLOP budget evenly across scales.
"""

from __future__ import annotations

from collections.abc import Sequence

from fer_cli.models.registry import register_model


def _conv_bn(x, filters: int, stride: int = 1, relu: bool = True):
    from keras import layers

    x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, kernel_initializer="he_normal")(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x) if relu else x


def _basic_block(x, filters: int, stride: int):
    from keras import layers

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
    from keras import layers

    x = _conv_bn(x, stem)
    for width, count in zip(widths, blocks, strict=True):
        for i in range(count):
            x = _basic_block(x, width, stride=2 if i == 0 else 1)
    x = layers.GlobalAveragePooling2D()(x)
    return layers.Dropout(dropout)(x) if dropout else x


@register_model("resnet_s", "small residual net: 4 stages (32-256 ch), 1 block each; fast on a CPU")
def resnet_s(x, num_classes: int):
    return residual_net(x, widths=(32, 64, 128, 256), blocks=(1, 1, 1, 1), stem=32, dropout=0.3)


@register_model("resnet_m", "residual net: 4 stages (48-384 ch), 2-2-2-1 blocks; more accurate, ~5x the cost")
def resnet_m(x, num_classes: int):
    return residual_net(x, widths=(48, 96, 192, 384), blocks=(2, 2, 2, 1), stem=32, dropout=0.3)


@register_model("resnet_s2", "residual net: 4 stages (32-256 ch), 2 blocks each; twice resnet_s's depth")
def resnet_s2(x, num_classes: int):
    return residual_net(x, widths=(32, 64, 128, 256), blocks=(2, 2, 2, 2), stem=32, dropout=0.3)


@register_model("resnet_w", "wide residual net: 4 stages (64-512 ch), 1-2-2-1 blocks, 24x24 after the stem")
def resnet_w(x, num_classes: int):
    return residual_net(x, widths=(64, 128, 256, 512), blocks=(1, 2, 2, 1), stem=32, dropout=0.4)
