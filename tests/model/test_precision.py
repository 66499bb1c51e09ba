"""bfloat16 inference: the same weights give close features and detections, half the cached bytes, float32 out."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from model.builder import build_model
from model.checkpoint import ModelCard, save_checkpoint
from model.predictor import Predictor
from model.presets import get_preset


@pytest.fixture(scope="module")
def tiny_pair(tmp_path_factory):
    """The same tiny weights as float32 and bfloat16 predictors (through a checkpoint, as the worker loads)."""
    keras.utils.set_random_seed(3)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.weights.h5"
    save_checkpoint(build_model(get_preset("tiny")), path, ModelCard(version="tiny-bf16", preset="tiny", config={}))
    return Predictor.from_checkpoint(path), Predictor.from_checkpoint(path, precision="bfloat16")


def _image(seed=0):
    return np.random.default_rng(seed).integers(0, 255, (150, 220, 3), dtype=np.uint8)


def test_building_in_bfloat16_leaves_the_global_policy_alone(tiny_pair):
    assert keras.config.dtype_policy().name == "float32"
    _, bf16 = tiny_pair
    assert bf16.model.backbone.layers[-1].dtype_policy.name == "mixed_bfloat16"
    assert all(v.dtype == "float32" for v in bf16.model.weights)  # weights stay float32: checkpoints are shared
    assert (tiny_pair[0].precision, bf16.precision) == ("float32", "bfloat16")


def test_bfloat16_features_are_close_and_half_the_bytes(tiny_pair):
    fp32, bf16 = tiny_pair
    image = _image()
    a, b = fp32.encode_image(image), bf16.encode_image(image)
    assert b.pyramid[0].dtype.name == "bfloat16" and b.nbytes * 2 == a.nbytes
    for x, y in zip(a.pyramid, b.pyramid, strict=True):
        x, y = np.asarray(x), np.asarray(y).astype(np.float32)
        assert np.abs(x - y).max() <= 0.05 * np.abs(x).max() + 1e-3
    ref_a = fp32.encode_references(image, [[20, 30, 60, 90]])
    ref_b = bf16.encode_references(image, [[20, 30, 60, 90]])
    assert ref_b.vector.dtype == np.float32
    np.testing.assert_allclose(ref_b.vector, ref_a.vector, rtol=0.05, atol=0.02)


def test_bfloat16_detections_match_float32(tiny_pair):
    fp32, bf16 = tiny_pair
    image = _image(1)
    found = []
    for predictor in (fp32, bf16):
        query = predictor.encode_image(image)
        found.append(predictor.find(query, predictor.encode_references(image, [[20, 30, 60, 90]]),
                                    score_threshold=0.0, max_instances=5))
    a, b = found
    assert len(b) > 0 and all(i.box.dtype == np.float32 and i.mask.dtype == bool for i in b)
    # The best detection is the same object with nearly the same score.
    best_a, best_b = a[0], b[0]
    assert abs(best_a.score - best_b.score) < 0.05
    x1, y1 = np.maximum(best_a.box[:2], best_b.box[:2])
    x2, y2 = np.minimum(best_a.box[2:], best_b.box[2:])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = np.prod(best_a.box[2:] - best_a.box[:2]) + np.prod(best_b.box[2:] - best_b.box[:2]) - inter
    assert inter / union > 0.8


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="precision must be one of"):
        build_model(get_preset("tiny"), precision="int8")
