"""The one place a configuration becomes a network."""

from __future__ import annotations

from model.config import ModelConfig
from model.layers.backbones import build_backbone
from model.layers.fpn import build_fpn
from model.layers.heads import MaskHead, MatchClassifierHead
from model.layers.matching import SiameseMatching
from model.layers.rpn import build_rpn
from model.network import SiameseMaskRCNN


def build_model(config: ModelConfig) -> SiameseMaskRCNN:
    """Build a Siamese Mask R-CNN with all weights created.

    The backbone starts from ImageNet when `config.backbone_weights == "imagenet"` (MobileNetV2 only; Keras
    downloads the file once into ~/.keras/models/ if it is not there), otherwise from random weights. Everything
    else starts random.
    """
    backbone = build_backbone(
        config.backbone, alpha=config.backbone_alpha, weights=config.backbone_weights, mean_pixel=config.mean_pixel
    )
    c_channels = tuple(int(t.shape[-1]) for t in backbone.outputs)
    fpn = build_fpn(config.fpn_channels, c_channels)
    model = SiameseMaskRCNN(
        config,
        backbone=backbone,
        fpn=fpn,
        matching=SiameseMatching(config.matching_channels, config.matching_inputs, name="siamese_matching"),
        rpn=build_rpn(config.matching_channels, config.rpn_channels, config.anchors_per_location),
        classifier=MatchClassifierHead(config.classifier_fc, name="match_classifier_head"),
        mask_head=MaskHead(config.mask_channels, config.mask_convs, name="mask_head"),
    )
    model(model.dummy_inputs())  # create every weight
    return model
