"""The EfficientNet-Lite backbone: its variants, taps, input scaling, folding, and the `lite1` preset end to end."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from model.layers.backbones import build_backbone
from model.layers.efficientnet_lite import build_efficientnet_lite, lite_block_specs

TAP_CHANNELS = {"lite0": (144, 240, 672, 1280), "lite1": (144, 240, 672, 1280), "lite2": (144, 288, 720, 1280)}
MEAN_PIXEL = (123.7, 116.8, 103.9)


@pytest.mark.parametrize("variant", sorted(TAP_CHANNELS))
def test_backbone_returns_c2_to_c5_at_strides_4_to_32(variant):
    backbone = build_backbone(f"efficientnet_{variant}")
    outputs = backbone(np.zeros((1, 64, 64, 3), np.float32), training=False)
    assert [tuple(o.shape) for o in outputs] == [
        (1, 64 // stride, 64 // stride, c) for stride, c in zip((4, 8, 16, 32), TAP_CHANNELS[variant], strict=True)]
    assert backbone.name == f"efficientnet_{variant}_model"


def test_block_tables_follow_the_lite_scaling_rules():
    """Depth: first and last stage fixed at one block; width: lite2's stages rounded to multiples of 8."""
    assert [len(lite_block_specs(v)) for v in ("lite0", "lite1", "lite2")] == [16, 21, 21]
    lite2 = lite_block_specs("lite2")
    assert sorted({b.output_filters for b in lite2}) == [16, 24, 48, 88, 120, 208, 352]
    assert [b.index for b in lite2 if b.stride == 2] == [1, 4, 7, 15]
    assert sum(b.has_residual for b in lite_block_specs("lite1")) == 14


def test_molded_input_is_rescaled_to_what_the_imagenet_weights_expect():
    """(molded + mean_pixel - 127) / 128: the Lite nets' (x - 127) / 128 on RGB 0-255."""
    backbone = build_efficientnet_lite("lite0", mean_pixel=MEAN_PIXEL)
    scaling = keras.Model(backbone.input, backbone.get_layer("lite_input_scaling").output)
    rgb = np.array([[[[0.0, 127.0, 255.0]]]], np.float32)
    scaled = np.asarray(scaling(rgb - np.array(MEAN_PIXEL, np.float32)))
    np.testing.assert_allclose(scaled, (rgb - 127.0) / 128.0, atol=1e-6)


def test_alpha_and_unknown_variants_are_refused():
    with pytest.raises(ValueError, match="set backbone_alpha=1.0"):
        build_backbone("efficientnet_lite1", alpha=0.5)
    with pytest.raises(ValueError, match="variant must be one of"):
        build_efficientnet_lite("lite9")


def test_every_batch_norm_folds_and_the_function_is_kept(rng):
    from model.folding import fold_batch_norms, foldable_pairs

    keras.utils.set_random_seed(0)
    backbone = build_efficientnet_lite("lite0")
    for layer in backbone.layers:  # non-trivial BatchNorm statistics, so folding has something to do
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([gamma * 1.5, beta + 0.1, mean + 0.05, var * 2.0])
    n_bn = sum(isinstance(layer, keras.layers.BatchNormalization) for layer in backbone.layers)
    assert len(foldable_pairs(backbone)) == n_bn
    images = rng.normal(0, 50, (1, 64, 64, 3)).astype(np.float32)
    for a, b in zip(backbone(images), fold_batch_norms(backbone)(images), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=2e-4, rtol=1e-4)


def test_lite1_preset_builds_and_predicts_at_128_px():
    from model.builder import build_model
    from model.predictor import Predictor
    from model.presets import get_preset

    config = get_preset("lite1", backbone_weights=None, image_size=128, image_min_dim=96)
    assert config.backbone == "efficientnet_lite1" and config.backbone_alpha == 1.0
    keras.utils.set_random_seed(0)
    predictor = Predictor(build_model(config), version="lite1-test")
    image = np.random.default_rng(0).integers(0, 255, (120, 128, 3), dtype=np.uint8)
    query = predictor.encode_image(image)
    assert [p.shape[1:3] for p in query.pyramid[:4]] == [(32, 32), (16, 16), (8, 8), (4, 4)]
    reference = predictor.encode_references(image, [[20, 30, 70, 90]])
    assert reference.vector.shape == (5, config.fpn_channels)
    instances = predictor.find(query, reference, score_threshold=0.0)
    assert len(instances) <= config.detection_max_instances
    assert all(inst.mask.shape == (120, 128) for inst in instances)
