"""The network as a whole: presets build with the paper's weight counts, weights are shared, layers serialise."""

import keras
import numpy as np
import pytest

from model.config import ModelConfig
from model.layers.heads import MaskHead, MatchClassifierHead
from model.layers.matching import SiameseMatching
from model.presets import PRESETS, get_preset


def test_query_and_reference_share_the_backbone(tiny_model):
    # One backbone object, called on both branches: no duplicated weights.
    backbone_vars = {id(v) for v in tiny_model.backbone.weights}
    assert backbone_vars and len(tiny_model.weights) == len({id(v) for v in tiny_model.weights})
    ids = [id(v) for v in tiny_model.weights]
    assert len(ids) == len(set(ids))


def test_named_weight_layers_have_paper_names(tiny_model):
    names = tiny_model.named_weight_layers()
    for expected in ["fpn_c5p5", "fpn_p2", "fpn_distance_P2", "fpn_distance_P6", "rpn_conv_shared", "rpn_class_raw",
                     "rpn_bbox_pred", "mrcnn_class_conv1", "mrcnn_class_logits", "mrcnn_bbox_fc", "mrcnn_mask_conv1",
                     "mrcnn_mask_deconv", "mrcnn_mask"]:
        assert expected in names


def test_forward_shapes(tiny_model):
    detections, masks = tiny_model(tiny_model.dummy_inputs(batch=2, references=3))
    cfg = tiny_model.config
    assert detections.shape == (2, cfg.detection_max_instances, 6)
    assert masks.shape == (2, cfg.detection_max_instances, cfg.mask_shape, cfg.mask_shape)


@pytest.mark.slow
def test_paper_large_has_the_papers_394_arrays_and_parameter_count():
    from model.builder import build_model

    model = build_model(get_preset("paper-large"))
    arrays = sum(len(layer.weights) for layer in model.named_weight_layers().values())
    assert arrays == 394
    assert model.count_params() == 52_950_809  # model-spec 1.11


@pytest.mark.parametrize(
    "layer",
    [SiameseMatching(12), SiameseMatching(12, "distance_product"), MatchClassifierHead(8), MaskHead(4, num_convs=2)],
)
def test_layers_serialise(layer):
    clone = layer.__class__.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer)


@pytest.mark.parametrize("inputs", ["features_distance", "distance_product"])
def test_matching_computes_its_documented_formula(inputs):
    """out = [P, |P - T|] @ W + b (paper) or [|P - T|, P * T] @ W + b, per pixel and per level."""
    rng = np.random.default_rng(0)
    features, channels = 4, 3
    layer = SiameseMatching(channels, inputs)
    pyramid = [rng.normal(size=(2, size, size, features)).astype("float32") for size in (8, 4, 2, 1, 1)]
    reference = rng.normal(size=(2, 5, features)).astype("float32")
    outputs = layer(pyramid, reference)
    for level, (query, out) in enumerate(zip(pyramid, outputs, strict=True)):
        kernel, bias = (np.asarray(w) for w in layer.level_convs[level].weights)
        vector = reference[:, level][:, None, None, :]
        pair = [query, np.abs(query - vector)] if inputs == "features_distance" else [
            np.abs(query - vector), query * vector]
        expected = np.concatenate(pair, axis=-1) @ kernel[0, 0] + bias
        np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-4, atol=1e-5)


def test_distance_product_matching_ignores_features_the_reference_does_not_have():
    """With T = 0 on some channels, the product half carries nothing from them: only the reference's channels speak."""
    layer = SiameseMatching(2, "distance_product")
    query = np.zeros((1, 2, 2, 2), "float32")
    query[..., 1] = 5.0  # a strong feature on a channel the reference lacks
    pyramid = [query] * 5
    reference = np.zeros((1, 5, 2), "float32")
    reference[..., 0] = 1.0
    layer(pyramid, reference)
    for conv in layer.level_convs:  # keep only the product half's weights
        kernel, bias = conv.get_weights()
        kernel[:, :, :2] = 0
        conv.set_weights([kernel, bias])
    out = np.asarray(layer(pyramid, reference)[0])
    np.testing.assert_allclose(out, np.broadcast_to(layer.level_convs[0].get_weights()[1], out.shape), atol=1e-6)


def test_config_round_trip_and_validation():
    for config in PRESETS.values():
        assert ModelConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown model config keys"):
        ModelConfig.from_dict({**get_preset("tiny").to_dict(), "typo_field": 1})
    with pytest.raises(ValueError, match="multiple of 64"):
        get_preset("tiny", image_size=100)
    with pytest.raises(ValueError, match="unknown preset"):
        get_preset("huge")
    with pytest.raises(ValueError, match=r"unknown model config fields \['typo'\]"):
        get_preset("tiny", typo=1)
    with pytest.raises(ValueError, match="matching_inputs must be one of"):
        get_preset("tiny", matching_inputs="cosine")
    with pytest.raises(ValueError, match="detection_bank_answers must be true or false, got 'false'"):
        ModelConfig.from_dict({**get_preset("tiny").to_dict(), "detection_bank_answers": "false"})
    with pytest.raises(ValueError, match="reference_dihedral must be true or false, got 1"):
        get_preset("tiny", reference_dihedral=1)
    # Cards written before the field existed load as the paper's matching.
    old = get_preset("mobile").to_dict()
    del old["matching_inputs"]
    assert ModelConfig.from_dict(old).matching_inputs == "features_distance"


def test_mobile_preset_loads_imagenet_features(shared_dir):
    """With the Keras cache filled (CI copies ../shared/weights there), the mobile backbone is ImageNet's."""
    import shutil
    from pathlib import Path

    cache = Path(keras.config.keras_home() if hasattr(keras.config, "keras_home") else Path.home() / ".keras") / "models"
    cache.mkdir(parents=True, exist_ok=True)
    for f in (shared_dir / "weights").glob("*.h5"):
        if not (cache / f.name).exists():
            shutil.copy(f, cache / f.name)
    from model.layers.backbones import build_mobilenet_v2

    imagenet = build_mobilenet_v2(0.5, "imagenet", get_preset("mobile").mean_pixel)
    random = build_mobilenet_v2(0.5, None, get_preset("mobile").mean_pixel)
    a = imagenet.get_layer("Conv1").kernel.numpy()
    b = random.get_layer("Conv1").kernel.numpy()
    assert a.shape == b.shape and not np.allclose(a, b)
