"""The siamese matching step: compare every query pyramid level with the reference's pooled feature vector.

For level l: T_l = global average of the reference's P_l; D_l = |P_l(query) - T_l|; the output is a 1x1 conv
(linear, `fpn_distance_P{l}`) of
- "features_distance" (the paper's): concat[P_l(query), D_l];
- "distance_product": concat[D_l, P_l(query) * T_l]. The query's features reach the RPN and heads only through
  their comparison with the reference, so the network cannot learn "this looks like a training class" and ignore
  the reference (what a small training set invites: see docs/training-and-evaluation.md, "The shipped checkpoint").
Both give the conv 2F inputs, so the weight shapes are the same. K references are averaged before this layer (the
average of pooled vectors equals the pooled average of the maps, which is what the paper computes).

`RoiMatching` is the same comparison applied to pooled proposals instead of whole maps (`conditioning="roi"`): each
ROI is compared with the reference vector of the pyramid level it was pooled from, and one 1x1 conv (`roi_matching`,
shared by all levels, like the heads) mixes the pair.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from model.config import MATCHING_INPUTS, PYRAMID_LEVELS


def _pair(features, vector, inputs: str) -> list:
    """The two halves the matching conv sees (module docstring); `vector` broadcasts against `features`."""
    distance = ops.abs(features - vector)
    return [features, distance] if inputs == "features_distance" else [distance, features * vector]


def pool_reference(pyramid: list) -> object:
    """Global-average-pool each reference level: list of [B, h, w, F] -> [B, L, F]."""
    return ops.stack([ops.mean(level, axis=(1, 2)) for level in pyramid], axis=1)


class _ReferenceMatching(layers.Layer):
    """What both matching layers share: the output depth and which comparison (`MATCHING_INPUTS`) they see."""

    def __init__(self, channels: int, inputs: str, **kwargs):
        super().__init__(**kwargs)
        if inputs not in MATCHING_INPUTS:
            raise ValueError(f"inputs must be one of {MATCHING_INPUTS}, got {inputs!r}")
        # === Config ===
        self.channels = channels
        self.inputs = inputs

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "inputs": self.inputs}


@keras.saving.register_keras_serializable(package="siamese_assist")
class SiameseMatching(_ReferenceMatching):
    """Args:
        channels: output depth of every level (3F/2 = 384 in the paper).
        inputs: one of `MATCHING_INPUTS` (see the module docstring).
    Call:
        pyramid: list of L tensors [B, h_l, w_l, F] (query P2..P6); reference: [B, L, F] pooled reference.
    Returns:
        list of L tensors [B, h_l, w_l, channels].
    """

    def __init__(self, channels: int, inputs: str = "features_distance", **kwargs):
        super().__init__(channels, inputs, **kwargs)
        # === Layers ===
        self.level_convs = [layers.Conv2D(channels, 1, name=f"fpn_distance_{lvl}") for lvl in PYRAMID_LEVELS]

    def call(self, pyramid, reference):
        outputs = []
        for i, (level, conv) in enumerate(zip(pyramid, self.level_convs, strict=True)):
            vector = reference[:, i][:, None, None, :]
            outputs.append(conv(ops.concatenate(_pair(level, vector, self.inputs), axis=-1)))
        return outputs


@keras.saving.register_keras_serializable(package="siamese_assist")
class RoiMatching(_ReferenceMatching):
    """Match pooled ROIs with the reference (`conditioning="roi"`).

    Args:
        channels: output depth (what the heads see; `matching_channels` of the config).
        inputs: one of `MATCHING_INPUTS`.
    Call:
        rois: [B, N, p, p, F] ROIs pooled from the query pyramid; reference: [B, N, F] the reference vector of each
        ROI's pyramid level (`SiameseMaskRCNN._match_rois` gathers it).
    Returns:
        [B, N, p, p, channels].
    """

    def __init__(self, channels: int, inputs: str = "features_distance", **kwargs):
        super().__init__(channels, inputs, **kwargs)
        # === Layers ===
        self.conv = layers.Dense(channels, name="roi_matching")

    def call(self, rois, reference):
        vector = ops.cast(reference, rois.dtype)[:, :, None, None, :]
        return self.conv(ops.concatenate(_pair(rois, vector, self.inputs), axis=-1))
