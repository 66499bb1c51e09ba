"""Named configurations. Each is documented where it is defined; `get_preset` is the only lookup.

| preset        | backbone            | query / reference | use |
|---------------|---------------------|-------------------|-----|
| `paper-large` | ResNet-50 FPN       | 1024 / 192        | the paper's model; loads `large_siamese_mrcnn_coco_*.h5` |
| `paper-small` | ResNet-50 FPN       | 512 / 96          | loads `small_siamese_mrcnn_0160.h5` |
| `mobile`      | MobileNetV2 (a=0.5) | 512 / 96          | the CPU default for annotators without a GPU |
| `mobile-fast` | MobileNetV2 (a=0.5) | 512 / 96          | `mobile` with a reference-agnostic RPN: a second box on an image costs the heads |
| `lite1`       | EfficientNet-Lite1  | 512 / 96          | `mobile` on a stronger ImageNet backbone (groundwork: no trained checkpoint yet) |
| `tiny`        | 4-stage toy convnet | 128 / 64          | tests: a forward pass in well under a second |
"""

from __future__ import annotations

from model.config import ModelConfig

# The paper's large model (spec 2.1 "large / paper"): 4 GPUs x 3 images.
PAPER_LARGE = ModelConfig(name="paper-large")

# The repository's default ("small") config: half the input size and a 512-wide classifier.
PAPER_SMALL = ModelConfig(
    name="paper-small",
    image_size=512,
    image_min_dim=400,
    reference_size=96,
    reference_min_dim=75,
    classifier_fc=512,
    rpn_post_nms_train=500,
    rpn_post_nms_test=500,
    rpn_train_anchors=64,
    train_rois=100,
    max_gt_instances=30,
    detection_max_instances=30,
)

# CPU-friendly: MobileNetV2 features with a narrower pyramid and heads (keras3-notes: the 256-channel FPN and the
# heads dominate on light backbones). References are mean-subtracted like the queries: no legacy quirk to keep.
MOBILE = ModelConfig(
    name="mobile",
    backbone="mobilenet_v2",
    backbone_alpha=0.5,
    backbone_weights="imagenet",
    image_size=512,
    image_min_dim=400,
    reference_size=96,
    reference_min_dim=75,
    reference_preprocessing="mean_subtracted",
    resize_antialias=True,
    fpn_channels=128,
    matching_channels=192,
    # The RPN sees the query only through its comparison with the reference: on small training sets the paper's
    # concat[P, |P - T|] lets it learn the training classes and ignore T (docs/training-and-evaluation.md, "The shipped checkpoint").
    matching_inputs="distance_product",
    rpn_channels=128,  # the RPN's 3x3 conv over P2 is the largest single cost at 512 px
    classifier_fc=256,
    mask_channels=128,
    mask_convs=2,
    rpn_pre_nms_limit=3000,
    rpn_post_nms_train=500,
    rpn_post_nms_test=300,
    rpn_train_anchors=128,
    train_rois=100,
    max_gt_instances=50,
    detection_max_instances=50,
    detection_min_confidence=0.5,
)

# `mobile` with conditioning "roi" (model/network.py): proposals and their pooled features are cached with the image,
# so a new reference box runs only the reference branch and the heads (the benchmark's warm / cold rows in docs/benchmarks.md).
# Its RPN only knows the objects of its training classes, which costs AP50 on unseen classes.
MOBILE_FAST = MOBILE.replace(name="mobile-fast", conditioning="roi")

# `mobile` with EfficientNet-Lite1 in place of MobileNetV2 (model/layers/efficientnet_lite.py): better ImageNet
# features for unseen classes (cosine 1-NN of coco128 crops 0.468 vs 0.378); `encode_image` at 512 px costs about
# 1.5x mobile's in bfloat16, 2x in float32. Same pyramid and heads, so the two compare backbone for backbone.
# ImageNet weights: model/lite_weights.py. A float32 checkpoint is 34 MB (docs/model.md, "A stronger backbone").
LITE1 = MOBILE.replace(name="lite1", backbone="efficientnet_lite1", backbone_alpha=1.0)

# For tests only: a few thousand anchors and a few thousand parameters per layer.
TINY = ModelConfig(
    name="tiny",
    backbone="tiny",
    image_size=128,
    image_min_dim=96,
    reference_size=64,
    reference_min_dim=48,
    reference_preprocessing="mean_subtracted",
    fpn_channels=16,
    matching_channels=24,
    rpn_channels=32,
    rpn_anchor_scales=(8, 16, 32, 64, 128),
    rpn_pre_nms_limit=1000,
    rpn_post_nms_train=64,
    rpn_post_nms_test=32,
    rpn_train_anchors=64,
    classifier_fc=32,
    mask_channels=16,
    mask_convs=2,
    train_rois=32,
    max_gt_instances=10,
    mini_mask_size=28,
    detection_max_instances=10,
    detection_min_confidence=0.5,
)

PRESETS: dict[str, ModelConfig] = {c.name: c for c in (PAPER_LARGE, PAPER_SMALL, MOBILE, MOBILE_FAST, LITE1, TINY)}


def get_preset(name: str, **overrides: object) -> ModelConfig:
    """The config of a named preset, optionally with some fields changed (e.g. `backbone_alpha=0.35`)."""
    try:
        config = PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None
    unknown = sorted(set(overrides) - set(config.to_dict()))
    if unknown:
        raise ValueError(f"unknown model config fields {unknown}; known fields: {sorted(config.to_dict())}")
    return config.replace(**overrides) if overrides else config
