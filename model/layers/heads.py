"""ROI heads: the match classifier with class-agnostic box regression, and the mask head.

The paper writes its fully connected layers as `TimeDistributed(Conv2D(FC, 7x7))`; Keras 3 unrolls
TimeDistributed into one call per ROI (40x slower on CPU, keras3-notes). Here the ROIs are folded into the batch
axis and the 7x7 conv is the equivalent Dense over the flattened (h, w, c) cell, with the same layer names, so
`model/paper_mapping.py` can reshape the paper's (7, 7, in, out) kernel into (7*7*in, out).
"""

from __future__ import annotations

import keras
from keras import layers, ops

from model.layers.backbones import BN_EPSILON


@keras.saving.register_keras_serializable(package="siamese_assist")
class MatchClassifierHead(layers.Layer):
    """Args:
        fc_units: width of the two fully connected layers (1024 paper-large, 512 paper-small).
    Call:
        rois: [B, N, p, p, C] pooled ROIs.
    Returns:
        logits [B, N, 2] (no match, match); deltas [B, N, 4] class-agnostic `(dy, dx, log dh, log dw) / std`.
    """

    def __init__(self, fc_units: int, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.fc_units = fc_units
        # === Layers ===
        self.fc1 = layers.Dense(fc_units, name="mrcnn_class_conv1")
        self.bn1 = layers.BatchNormalization(epsilon=BN_EPSILON, name="mrcnn_class_bn1")
        self.fc2 = layers.Dense(fc_units, name="mrcnn_class_conv2")
        self.bn2 = layers.BatchNormalization(epsilon=BN_EPSILON, name="mrcnn_class_bn2")
        self.class_logits = layers.Dense(2, name="mrcnn_class_logits")
        self.bbox = layers.Dense(4, name="mrcnn_bbox_fc")

    def call(self, rois):
        batch, count = ops.shape(rois)[0], ops.shape(rois)[1]
        flat_size = rois.shape[2] * rois.shape[3] * rois.shape[4]
        x = ops.reshape(rois, (-1, flat_size))
        x = ops.relu(self.bn1(self.fc1(x), training=False))
        x = ops.relu(self.bn2(self.fc2(x), training=False))
        logits = ops.reshape(self.class_logits(x), (batch, count, 2))
        deltas = ops.reshape(self.bbox(x), (batch, count, 4))
        return logits, deltas

    def get_config(self):
        return {**super().get_config(), "fc_units": self.fc_units}


@keras.saving.register_keras_serializable(package="siamese_assist")
class MaskHead(layers.Layer):
    """Args:
        channels: depth of the convolutions (256 in the paper).
        num_convs: 3x3 conv + BN + ReLU blocks before the 2x upsampling (4 in the paper).
    Call:
        rois: [B, N, m, m, C] pooled ROIs (m = 14).
    Returns:
        mask logits [B, N, 2m, 2m] (apply a sigmoid for probabilities).
    """

    def __init__(self, channels: int, num_convs: int = 4, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.channels = channels
        self.num_convs = num_convs
        # === Layers ===
        self.convs = [
            layers.Conv2D(channels, 3, padding="same", name=f"mrcnn_mask_conv{i + 1}") for i in range(num_convs)
        ]
        self.norms = [
            layers.BatchNormalization(epsilon=BN_EPSILON, name=f"mrcnn_mask_bn{i + 1}") for i in range(num_convs)
        ]
        self.deconv = layers.Conv2DTranspose(channels, 2, strides=2, activation="relu", name="mrcnn_mask_deconv")
        self.mask = layers.Conv2D(1, 1, name="mrcnn_mask")

    def call(self, rois):
        batch, count = ops.shape(rois)[0], ops.shape(rois)[1]
        size, channels = rois.shape[2], rois.shape[4]
        x = ops.reshape(rois, (-1, size, size, channels))
        for conv, norm in zip(self.convs, self.norms, strict=True):
            x = ops.relu(norm(conv(x), training=False))
        x = self.mask(self.deconv(x))
        return ops.reshape(x, (batch, count, 2 * size, 2 * size))

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "num_convs": self.num_convs}
