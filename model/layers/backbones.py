"""Backbones: functional Keras models from a molded image to the feature maps C2..C5 (strides 4, 8, 16, 32).

The input of every backbone is the *molded* image: RGB float32 with `mean_pixel` subtracted, shape [B, S, S, 3].
The same backbone model is called on the query image and on the references (siamese: shared weights).

Layer names of the ResNet are matterport's unchanged (`conv1`, `bn_conv1`, `res2a_branch2a`, ...), which is what
lets `model/paper_weights.py` map the released checkpoints by name. BatchNorm always runs in inference mode
(the paper's `TRAIN_BN=False`): every caller passes `training=False`. EfficientNet-Lite has its own module
(`model/layers/efficientnet_lite.py`); `build_backbone` dispatches to it.
"""

from __future__ import annotations

import keras
from keras import layers

from model.layers.efficientnet_lite import LITE_VARIANTS, build_efficientnet_lite

RESNET_STAGE4_BLOCKS = {"resnet50": 5, "resnet101": 22}
MOBILENET_TAPS = ("block_3_expand_relu", "block_6_expand_relu", "block_13_expand_relu", "out_relu")
TINY_WIDTHS = (8, 16, 32, 64)
BN_EPSILON = 1e-3  # Keras 2 default, used by the released checkpoints


def _bottleneck(x, filters: tuple[int, int, int], stage: int, block: str, strides: int, shortcut_conv: bool):
    """One ResNet bottleneck with matterport's names; stride in the first 1x1 conv (Caffe style)."""
    f1, f2, f3 = filters
    conv = f"res{stage}{block}_branch"
    bn = f"bn{stage}{block}_branch"
    y = layers.Conv2D(f1, 1, strides=strides, name=conv + "2a")(x)
    y = layers.BatchNormalization(epsilon=BN_EPSILON, name=bn + "2a")(y)
    y = layers.Activation("relu")(y)
    y = layers.Conv2D(f2, 3, padding="same", name=conv + "2b")(y)
    y = layers.BatchNormalization(epsilon=BN_EPSILON, name=bn + "2b")(y)
    y = layers.Activation("relu")(y)
    y = layers.Conv2D(f3, 1, name=conv + "2c")(y)
    y = layers.BatchNormalization(epsilon=BN_EPSILON, name=bn + "2c")(y)
    if shortcut_conv:
        x = layers.Conv2D(f3, 1, strides=strides, name=conv + "1")(x)
        x = layers.BatchNormalization(epsilon=BN_EPSILON, name=bn + "1")(x)
    y = layers.Add(name=f"res{stage}{block}_add")([y, x])
    return layers.Activation("relu", name=f"res{stage}{block}_out")(y)


def build_resnet(depth: str = "resnet50") -> keras.Model:
    """matterport's `resnet_graph` as a nested model named `resnet_model` (the paper's group name).

    Returns:
        Model [B, S, S, 3] -> [C2 (S/4, 256), C3 (S/8, 512), C4 (S/16, 1024), C5 (S/32, 2048)].
    """
    if depth not in RESNET_STAGE4_BLOCKS:
        raise ValueError(f"depth must be one of {sorted(RESNET_STAGE4_BLOCKS)}, got {depth!r}")
    inputs = keras.Input((None, None, 3), name="input_image")
    x = layers.ZeroPadding2D(3)(inputs)
    x = layers.Conv2D(64, 7, strides=2, name="conv1")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name="bn_conv1")(x)
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    outputs = []
    stages = [(2, 3, 64, 1), (3, 4, 128, 2), (4, 1 + RESNET_STAGE4_BLOCKS[depth], 256, 2), (5, 3, 512, 2)]
    for stage, blocks, width, stride in stages:
        filters = (width, width, 4 * width)
        for i in range(blocks):
            block = chr(ord("a") + i)
            x = _bottleneck(x, filters, stage, block, stride if i == 0 else 1, shortcut_conv=i == 0)
        outputs.append(x)
    return keras.Model(inputs, outputs, name="resnet_model")


def build_mobilenet_v2(alpha: float, weights: str | None, mean_pixel: tuple[float, float, float]) -> keras.Model:
    """MobileNetV2 features at strides 4..32, from `keras.applications` (ImageNet weights when asked).

    The molded input is mapped back to MobileNetV2's expected [-1, 1] range: (x + mean) / 127.5 - 1.

    Returns:
        Model [B, S, S, 3] -> [C2..C5]; channels depend on alpha (e.g. 0.5: 48, 96, 288, 1280).
    """
    inputs = keras.Input((None, None, 3), name="input_image")
    offset = [127.5 - m for m in mean_pixel]
    x = layers.Normalization(mean=offset, variance=[127.5**2] * 3, name="mobilenet_input_scaling")(inputs)
    base = keras.applications.MobileNetV2(
        input_tensor=x, alpha=alpha, include_top=False, weights=weights, input_shape=(None, None, 3)
    )
    outputs = [base.get_layer(name).output for name in MOBILENET_TAPS]
    return keras.Model(inputs, outputs, name="mobilenet_model")


def build_tiny() -> keras.Model:
    """A toy 4-stage convnet for tests: strides 4, 8, 16, 32 with TINY_WIDTHS channels."""
    inputs = keras.Input((None, None, 3), name="input_image")
    x = layers.Conv2D(TINY_WIDTHS[0], 3, strides=2, padding="same", name="tiny_stem")(inputs)
    x = layers.Activation("relu")(x)
    outputs = []
    for i, width in enumerate(TINY_WIDTHS):
        x = layers.Conv2D(width, 3, strides=2, padding="same", name=f"tiny_conv{i + 2}")(x)
        x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"tiny_bn{i + 2}")(x)
        x = layers.Activation("relu")(x)
        outputs.append(x)
    return keras.Model(inputs, outputs, name="tiny_model")


def build_backbone(
    kind: str, *, alpha: float = 1.0, weights: str | None = None, mean_pixel=(123.7, 116.8, 103.9)
) -> keras.Model:
    """Dispatch on the backbone name of a config (`resnet50`, `resnet101`, `mobilenet_v2`, `efficientnet_lite0`..2,
    `tiny`). `alpha` is MobileNetV2's width multiplier; EfficientNet-Lite variants fix their own width."""
    if kind in RESNET_STAGE4_BLOCKS:
        if weights is not None:
            raise ValueError(
                "ImageNet ResNet weights are not loaded by the builder: start from a paper checkpoint "
                "(python -m model inspect / load_paper_weights) or train from random weights"
            )
        return build_resnet(kind)
    if kind == "mobilenet_v2":
        return build_mobilenet_v2(alpha, weights, mean_pixel)
    if kind.startswith("efficientnet_") and kind.removeprefix("efficientnet_") in LITE_VARIANTS:
        if alpha != 1.0:
            raise ValueError(f"backbone_alpha={alpha} has no meaning for {kind} (its variant fixes the width): "
                             "set backbone_alpha=1.0, or choose another variant (efficientnet_lite0..2)")
        return build_efficientnet_lite(kind.removeprefix("efficientnet_"), weights=weights, mean_pixel=mean_pixel)
    if kind == "tiny":
        return build_tiny()
    raise ValueError(f"unknown backbone {kind!r}")
