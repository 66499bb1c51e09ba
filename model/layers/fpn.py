"""Feature pyramid network, as in the paper: matterport's FPN with ReLU on every convolution.

Shared by the query and the reference branches (one nested model named `fpn_model`, the paper's group name).
"""

from __future__ import annotations

import keras
from keras import layers


def build_fpn(channels: int, input_channels: tuple[int, int, int, int]) -> keras.Model:
    """Top-down pyramid.

    Args:
        channels: F, the depth of every pyramid level (256 in the paper).
        input_channels: depths of C2..C5.
    Returns:
        Model [C2, C3, C4, C5] -> [P2, P3, P4, P5, P6], each [B, h, w, F]; P6 = stride-2 subsampling of P5.
    """
    inputs = [keras.Input((None, None, c), name=f"input_C{i + 2}") for i, c in enumerate(input_channels)]
    c2, c3, c4, c5 = inputs
    p5 = layers.Conv2D(channels, 1, activation="relu", name="fpn_c5p5")(c5)
    p4 = layers.Add(name="fpn_p4add")(
        [layers.UpSampling2D(2, name="fpn_p5upsampled")(p5),
         layers.Conv2D(channels, 1, activation="relu", name="fpn_c4p4")(c4)]
    )
    p3 = layers.Add(name="fpn_p3add")(
        [layers.UpSampling2D(2, name="fpn_p4upsampled")(p4),
         layers.Conv2D(channels, 1, activation="relu", name="fpn_c3p3")(c3)]
    )
    p2 = layers.Add(name="fpn_p2add")(
        [layers.UpSampling2D(2, name="fpn_p3upsampled")(p3),
         layers.Conv2D(channels, 1, activation="relu", name="fpn_c2p2")(c2)]
    )
    outputs = [
        layers.Conv2D(channels, 3, padding="same", activation="relu", name=f"fpn_p{i}")(p)
        for i, p in zip((2, 3, 4, 5), (p2, p3, p4, p5), strict=True)
    ]
    outputs.append(layers.MaxPooling2D(pool_size=1, strides=2, name="fpn_p6")(outputs[-1]))
    return keras.Model(inputs, outputs, name="fpn_model")
