"""Region proposal network head, shared across pyramid levels (matterport's `rpn_model`)."""

from __future__ import annotations

import keras
from keras import layers, ops


def build_rpn(input_channels: int, channels: int, anchors_per_location: int) -> keras.Model:
    """The RPN head applied to one level.

    Args:
        input_channels: depth of the matched feature maps (384 in the paper).
        channels: depth of the shared 3x3 conv (512 in the paper).
        anchors_per_location: anchors per feature cell (3 ratios).
    Returns:
        Model [B, h, w, input_channels] -> (logits [B, h*w*a, 2] as (background, object), deltas [B, h*w*a, 4]).
        The flattening order (row, column, anchor) matches `model.anchors.pyramid_anchors`.
    """
    inputs = keras.Input((None, None, input_channels), name="input_rpn_feature_map")
    shared = layers.Conv2D(channels, 3, padding="same", activation="relu", name="rpn_conv_shared")(inputs)
    logits = layers.Conv2D(2 * anchors_per_location, 1, name="rpn_class_raw")(shared)
    deltas = layers.Conv2D(4 * anchors_per_location, 1, name="rpn_bbox_pred")(shared)
    logits = layers.Reshape((-1, 2))(logits)
    deltas = layers.Reshape((-1, 4))(deltas)
    return keras.Model(inputs, [logits, deltas], name="rpn_model")


def run_rpn(rpn: keras.Model, feature_maps: list):
    """Apply the shared RPN to every level and concatenate: -> (logits [B, A, 2], deltas [B, A, 4])."""
    outputs = [rpn(level, training=False) for level in feature_maps]
    logits = ops.concatenate([o[0] for o in outputs], axis=1)
    deltas = ops.concatenate([o[1] for o in outputs], axis=1)
    return logits, deltas
