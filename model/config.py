"""The configuration of one Siamese Mask R-CNN: a frozen dataclass of plain values.

Only `model/builder.py` turns a config into layers; layers themselves take explicit hyperparameters. Field names
carry their stage as a prefix (`rpn_`, `detection_`, `mask_`) and `_train`/`_test` where the two differ.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

BACKBONES = ("resnet50", "resnet101", "mobilenet_v2", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2",
             "tiny")
REFERENCE_PREPROCESSING = ("raw", "mean_subtracted")
PYRAMID_LEVELS = ("P2", "P3", "P4", "P5", "P6")
# What the matching conv sees at every level (model/layers/matching.py):
# "features_distance" = concat[P, |P - T|], the paper's; "distance_product" = concat[|P - T|, P * T], where the
# query's features only enter through their comparison with the reference T.
MATCHING_INPUTS = ("features_distance", "distance_product")
# Where the reference meets the image (model/network.py):
# "pyramid" = the paper's: every query pyramid level is matched with the reference, and the RPN and both heads run
# on the matched maps (everything after the FPN depends on the reference);
# "roi" = the RPN proposes objects of any kind from the query pyramid alone, and only each proposal's pooled
# features are matched with the reference before the heads. Proposals and their pooled features are then part of
# the per-image cache, and a new reference box costs the reference branch plus the heads.
CONDITIONING = ("pyramid", "roi")


@dataclass(frozen=True)
class ModelConfig:
    """Every hyperparameter of the network and of its inference.

    Sizes are pixels of the square, zero-padded network input. Boxes inside the network are normalised
    `(y1, x1, y2, x2)` with matterport's `(px - [0, 0, 1, 1]) / (size - 1)` convention.
    """

    name: str
    # Backbone
    backbone: str = "resnet50"
    backbone_alpha: float = 1.0  # MobileNetV2 width multiplier (1.0 for EfficientNet-Lite: the variant fixes it)
    backbone_weights: str | None = None  # "imagenet" or None (random)
    # Input sizes (paper "square" mode: short side up to *_min_dim, long side at most *_size, zero-padded)
    image_size: int = 1024
    image_min_dim: int = 800
    reference_size: int = 192
    reference_min_dim: int = 150
    mean_pixel: tuple[float, float, float] = (123.7, 116.8, 103.9)
    # The released checkpoints were evaluated with references that were NOT mean-subtracted (spec 6.1).
    reference_preprocessing: str = "raw"
    # skimage 0.13 resized without anti-aliasing; True uses area interpolation when shrinking.
    resize_antialias: bool = False
    # Feature pyramid and matching
    fpn_channels: int = 256
    matching_channels: int = 384
    matching_inputs: str = "features_distance"
    conditioning: str = "pyramid"
    backbone_strides: tuple[int, ...] = (4, 8, 16, 32, 64)
    # RPN
    rpn_channels: int = 512
    rpn_anchor_scales: tuple[int, ...] = (32, 64, 128, 256, 512)
    rpn_anchor_ratios: tuple[float, ...] = (0.5, 1.0, 2.0)
    rpn_bbox_std: tuple[float, float, float, float] = (0.1, 0.1, 0.2, 0.2)
    rpn_pre_nms_limit: int = 6000
    rpn_nms_threshold: float = 0.7
    rpn_post_nms_train: int = 2000
    rpn_post_nms_test: int = 1000
    rpn_train_anchors: int = 256
    # ROI heads
    pool_size: int = 7
    mask_pool_size: int = 14
    mask_shape: int = 28
    classifier_fc: int = 1024
    mask_channels: int = 256
    mask_convs: int = 4
    bbox_std: tuple[float, float, float, float] = (0.1, 0.1, 0.2, 0.2)
    train_rois: int = 200
    roi_positive_ratio: float = 0.33
    max_gt_instances: int = 100
    mini_mask_size: int = 56
    # Detection
    detection_max_instances: int = 100
    detection_min_confidence: float = 0.7
    detection_nms_threshold: float = 0.5
    # Inference levers for the product's case (one box in the image itself), off for the paper's presets and the
    # first shipped checkpoints:
    # the reference's 8 flips / right-angle rotations averaged as K-shot references (objects lie in any direction),
    # and the size prior of model/size_prior.py (0 = off; else the size factor that costs nothing, and the falloff
    # beyond it in log units).
    reference_dihedral: bool = False
    # Small references (model/tiling.py): look at the image in magnified overlapping windows.
    detection_small_tiles: bool = False
    detection_size_tolerance: float = 0.0
    detection_size_falloff: float = 0.4
    # A drawn box's answer keeps no suggestion larger than this many times the drawn boxes' size (square root of the
    # box area; model/size_prior.py, within_size_cap): a suggestion never covers several objects. 0 = off.
    detection_size_cap: float = 0.0
    # When unsure, suggest less: an answer whose own reference object (box IoU >= 0.5 with a drawn box) does not
    # come back with at least this score is withdrawn whole (model/answering.py, reference_gate); 0 = off.
    detection_reference_gate: float = 0.0
    # Query expansion (model/answering.py, expanded_reference): the first answer's copies scoring at least this
    # (at most detection_expand_count of them) join the drawn boxes as references for a second answer; 0 = off.
    detection_expand_score: float = 0.0
    detection_expand_count: int = 4
    # Batch pre-annotation seeded in the image (model/answering.py, seeded_bank_answer): the exemplar bank's best
    # suggestion, when it scores at least this, is answered again as a box drawn in the image; 0 = off.
    detection_bank_seed: float = 0.0
    # Batch pre-annotation gives each object one label (model/answering.py, one_label_per_object): a suggestion
    # overlapping a better one of another label is dropped.
    detection_one_label: bool = False
    # A drawn box's answer gives way to the project's other labels (model/answering.py, unclaimed): a suggestion
    # that another label's exemplars find with a higher score is dropped. Needs the other labels' exemplars (the
    # backend sends them with an interactive request); a project with one label is unchanged.
    detection_label_claims: bool = False
    # The other labels' claims seeded in the image (model/answering.py, unclaimed): each other label's pooled
    # exemplars answer first and their best suggestion, when it scores at least this, answers again as a box drawn
    # in the image, so both labels' scores come from a reference in that image; 0 = the pooled exemplars' answer.
    detection_claims_seed: float = 0.0
    # A drawn box's answer is joined by its own label's exemplar bank (model/answering.py, with_own_bank): what the
    # label's accepted exemplars find in the image (as batch pre-annotation finds one label, whatever the version's
    # detection_bank_answers) and the drawn answer does not is added. Needs the label's exemplars with the request.
    detection_drawn_bank: bool = False
    # The labels' exemplars vote on a drawn box's answer (model/answering.py, outvoted): a suggestion that another
    # label's exemplars find with a higher score than the drawn label's own exemplars do is dropped. Needs exemplars
    # of the drawn label and of another one.
    detection_label_vote: bool = False
    # Batch pre-annotation from the exemplar bank answers at all. A fine-tuned version whose held-out slice says the
    # bank costs at least as much as suggesting nothing is given False by the recipe (model/training/finetune.py):
    # its batch pre-annotation then suggests nothing. The drawn-box answer is not affected.
    detection_bank_answers: bool = True
    # Drop every suggestion touching the image frame (model/frame_convention.py): set by the fine-tuning recipe for
    # a project whose accepted labels leave objects cut by the frame out; kept when a drawn box touches the frame.
    detection_skip_border: bool = False
    # A drawn box's answer re-scored by a verifier (model/verifier.py): 13 or 19 numbers (intercept, then the
    # weights, means and standard deviations of its 4 or 6 features), empty = off. With it the network answers at the verifier's
    # candidate floor, each suggestion's score becomes the verifier's probability, and the answer is cut at
    # detection_verifier_threshold instead of detection_min_confidence (which still cuts batch pre-annotation).
    detection_verifier: tuple[float, ...] = ()
    detection_verifier_threshold: float = 0.5
    # Training defaults (the paper's)
    learning_rate: float = 0.02
    momentum: float = 0.9
    weight_decay: float = 1e-4
    gradient_clip_norm: float = 5.0
    loss_weights: dict[str, float] = field(
        default_factory=lambda: {
            "rpn_class": 2.0,
            "rpn_bbox": 0.1,
            "mrcnn_class": 2.0,
            "mrcnn_bbox": 0.5,
            "mrcnn_mask": 1.0,
        }
    )

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        if self.reference_preprocessing not in REFERENCE_PREPROCESSING:
            raise ValueError(
                f"reference_preprocessing must be one of {REFERENCE_PREPROCESSING}, "
                f"got {self.reference_preprocessing!r}"
            )
        if self.matching_inputs not in MATCHING_INPUTS:
            raise ValueError(f"matching_inputs must be one of {MATCHING_INPUTS}, got {self.matching_inputs!r}")
        if self.conditioning not in CONDITIONING:
            raise ValueError(f"conditioning must be one of {CONDITIONING}, got {self.conditioning!r}")
        if self.image_size % 64:
            raise ValueError(f"image_size must be a multiple of 64 (the P6 stride), got {self.image_size}")
        if self.reference_size % 32:
            raise ValueError(f"reference_size must be a multiple of 32, got {self.reference_size}")
        if len(self.rpn_anchor_scales) != len(self.backbone_strides):
            raise ValueError("rpn_anchor_scales needs one scale per pyramid level (P2..P6)")
        if self.detection_size_cap and self.detection_size_cap < 1:
            raise ValueError(f"detection_size_cap must be 0 (off) or >= 1 (a multiple of the drawn boxes' size), got "
                             f"{self.detection_size_cap}")
        if self.detection_size_tolerance and (self.detection_size_tolerance < 1 or self.detection_size_falloff <= 0):
            raise ValueError("detection_size_tolerance must be 0 (off) or >= 1, with detection_size_falloff > 0, got "
                             f"{self.detection_size_tolerance}, {self.detection_size_falloff}")
        if not 1 <= self.mask_convs <= 4:
            raise ValueError(f"mask_convs must be 1..4, got {self.mask_convs}")
        for flag in (f.name for f in dataclasses.fields(self) if f.type == "bool"):
            if not isinstance(getattr(self, flag), bool):  # a card's "false" (a string) would otherwise read as True
                raise ValueError(f"{flag} must be true or false, got {getattr(self, flag)!r}")
        if not 0 <= self.detection_bank_seed <= 1:  # also refuses NaN
            raise ValueError(f"detection_bank_seed must be 0 (off) or a score in (0, 1], got {self.detection_bank_seed}")
        if not 0 <= self.detection_verifier_threshold <= 1:
            raise ValueError("detection_verifier_threshold must be a probability in [0, 1], got "
                             f"{self.detection_verifier_threshold}")
        if self.detection_verifier:
            from model.verifier import Verifier

            Verifier.from_config(self.detection_verifier)  # refuses a wrong count or non-finite numbers
        if not 0 <= self.detection_claims_seed <= 1:
            raise ValueError("detection_claims_seed must be 0 (off) or a score in (0, 1], got "
                             f"{self.detection_claims_seed}")

    @property
    def uses_project_exemplars(self) -> bool:
        """Whether a drawn box's answer uses the project's accepted exemplars: the other labels' claims, the drawn
        label's own bank joining, or the labels' vote."""
        return self.detection_label_claims or self.detection_drawn_bank or self.detection_label_vote

    @property
    def drawn_box_threshold(self) -> float:
        """The score a drawn box's answer is cut at when the request sends none: the verifier's threshold when the
        model has a verifier (its scores are then the verifier's probabilities), else `detection_min_confidence`."""
        return float(self.detection_verifier_threshold if self.detection_verifier else self.detection_min_confidence)

    def with_drawn_box_threshold(self, threshold: float) -> ModelConfig:
        """A copy whose drawn-box threshold (`drawn_box_threshold`: the verifier's when there is one) is `threshold`."""
        field_name = "detection_verifier_threshold" if self.detection_verifier else "detection_min_confidence"
        return self.replace(**{field_name: float(threshold)})

    @property
    def anchors_per_location(self) -> int:
        return len(self.rpn_anchor_ratios)

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        """Inverse of `to_dict`; unknown keys are refused so that a typo in a model card is not ignored."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown model config keys {unknown}; known keys: {sorted(known)}")
        converted = {}
        for key, value in values.items():
            converted[key] = tuple(value) if isinstance(value, list) else value
        return cls(**converted)
