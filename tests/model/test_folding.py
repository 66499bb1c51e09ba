"""BatchNormalization folding (model/folding.py) and the predictor that computes with the folded backbone."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from model.builder import build_model
from model.folding import FoldedBatchNorm, fold_batch_norms, foldable_pairs
from model.layers.backbones import build_backbone
from model.predictor import Predictor
from model.presets import get_preset


def _randomise_norms(model: keras.Model, seed: int = 0) -> None:
    """Give every BatchNormalization statistics far from the identity, so that folding has something to do."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(0, 0.5, n).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.2, 3.0, n).astype("float32"))
            if layer.scale:
                layer.gamma.assign(rng.uniform(0.3, 2.0, n).astype("float32"))
            if layer.center:
                layer.beta.assign(rng.normal(0, 0.5, n).astype("float32"))


def _outputs(model: keras.Model, x: np.ndarray) -> list[np.ndarray]:
    out = model(x, training=False)
    return [np.asarray(o, np.float32) for o in (out if isinstance(out, (list, tuple)) else [out])]


def _mixed_model() -> keras.Model:
    """Every case: foldable conv+BN (with and without bias), depthwise+BN, BN after an activation, a conv output
    read twice, a BN without scale/center, and a conv+BN whose conv output is also a model output."""
    inputs = keras.Input((12, 12, 3))
    a = layers.Conv2D(4, 3, padding="same", use_bias=False, name="plain")(inputs)
    a = layers.BatchNormalization(name="plain_bn")(a)
    b = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, use_bias=True, name="depthwise")(a)
    b = layers.BatchNormalization(name="depthwise_bn")(b)
    c = layers.Conv2D(8, 1, activation="relu", name="activated")(b)
    c = layers.BatchNormalization(name="after_relu_bn")(c)  # BN(relu(conv)): not foldable
    d = layers.Conv2D(8, 1, name="shared_output")(c)
    d_bn = layers.BatchNormalization(name="shared_bn")(d)  # the conv output is also added below: not foldable
    e = layers.Add(name="add")([d, d_bn])
    f = layers.Conv2D(8, 3, padding="same", name="bare")(e)
    f = layers.BatchNormalization(scale=False, center=False, name="bare_bn")(f)
    g = layers.Conv2D(5, 1, name="exposed")(f)
    g_bn = layers.BatchNormalization(name="exposed_bn")(g)
    return keras.Model(inputs, [g_bn, g], name="mixed")


def test_folds_exactly_the_foldable_pairs_and_keeps_the_function():
    model = _mixed_model()
    _randomise_norms(model)
    pairs = foldable_pairs(model)
    assert {conv: bn.name for conv, bn in pairs.items()} == {
        "plain": "plain_bn", "depthwise": "depthwise_bn", "bare": "bare_bn"}

    folded = fold_batch_norms(model)
    x = np.random.default_rng(1).normal(size=(2, 12, 12, 3)).astype("float32")
    for got, want in zip(_outputs(folded, x), _outputs(model, x), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    kinds = {layer.name: type(layer) for layer in folded.layers}
    assert kinds["plain_bn"] is FoldedBatchNorm and kinds["depthwise_bn"] is FoldedBatchNorm
    assert kinds["bare_bn"] is FoldedBatchNorm
    for kept in ("after_relu_bn", "shared_bn", "exposed_bn"):
        assert kinds[kept] is layers.BatchNormalization, kept
    assert folded.get_layer("plain").use_bias  # the shift lives in the bias now


def test_the_original_model_is_not_changed():
    model = _mixed_model()
    _randomise_norms(model)
    before = [w.copy() for w in model.get_weights()]
    fold_batch_norms(model)
    after = model.get_weights()
    assert len(before) == len(after)
    for old, new in zip(before, after, strict=True):
        np.testing.assert_array_equal(old, new)
    assert not model.get_layer("plain").use_bias


@pytest.mark.parametrize("kind", ["tiny", "mobilenet_v2"])
def test_backbones_fold_every_norm_and_compute_the_same_features(kind):
    backbone = build_backbone(kind, alpha=0.35) if kind == "mobilenet_v2" else build_backbone(kind)
    _randomise_norms(backbone)
    norms = sum(isinstance(layer, layers.BatchNormalization) for layer in backbone.layers)
    folded = fold_batch_norms(backbone)
    assert norms > 0
    assert not any(isinstance(layer, layers.BatchNormalization) for layer in folded.layers)
    x = np.random.default_rng(2).uniform(-120, 130, size=(1, 64, 64, 3)).astype("float32")
    for got, want in zip(_outputs(folded, x), _outputs(backbone, x), strict=True):
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-4 * scale)


def _detections(predictor: Predictor, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    found = predictor.predict(image, [[20, 24, 70, 80]], score_threshold=0.0, max_instances=20)
    return np.array([i.box for i in found]).reshape(-1, 4), np.array([i.score for i in found])


def test_a_folding_predictor_finds_what_the_plain_one_finds_and_leaves_its_model_alone():
    keras.utils.set_random_seed(3)
    model = build_model(get_preset("tiny"))
    _randomise_norms(model.backbone)
    image = np.random.default_rng(4).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    plain = Predictor(model)
    folded = Predictor(model, fold_batch_norm=True)
    assert not plain.batch_norm_folded and plain.network is model
    assert folded.batch_norm_folded and folded.network is not model
    assert folded.network.fpn is model.fpn and folded.network.classifier is model.classifier  # shared, not copied
    assert model.backbone is plain.network.backbone  # the model kept its own backbone
    assert any(isinstance(layer, layers.BatchNormalization) for layer in model.backbone.layers)

    boxes, scores = _detections(plain, image)
    folded_boxes, folded_scores = _detections(folded, image)
    assert len(boxes) > 0
    np.testing.assert_allclose(folded_scores, scores, atol=1e-4)
    np.testing.assert_allclose(folded_boxes, boxes, atol=1e-2)


def test_checkpoint_and_preset_predictors_fold(tmp_path):
    from model.checkpoint import ModelCard, save_checkpoint

    predictor = Predictor.from_preset("tiny")
    assert predictor.batch_norm_folded
    path = tmp_path / "tiny.weights.h5"
    save_checkpoint(predictor.model, path, ModelCard(version="tiny-v0", preset="tiny", config={}))  # the model, not the folded copy, is what gets saved
    loaded = Predictor.from_checkpoint(path)
    assert loaded.batch_norm_folded
    assert len(loaded.model.get_weights()) == len(predictor.model.get_weights())
