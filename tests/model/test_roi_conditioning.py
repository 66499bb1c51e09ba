"""conditioning="roi": a reference-agnostic RPN whose proposals are cached with the image; only pooled ROIs meet the
reference (model/network.py, model/layers/matching.py)."""

from __future__ import annotations

import numpy as np
import pytest

from model.data import AnnotatedImage, Dataset, EpisodeSampler, InstanceAnnotation
from model.layers.matching import RoiMatching

SIZE = 96


@pytest.fixture(scope="module")
def roi_predictor():
    import keras

    from model.builder import build_model
    from model.predictor import Predictor
    from model.presets import get_preset

    keras.utils.set_random_seed(3)
    return Predictor(build_model(get_preset("tiny", conditioning="roi")), version="tiny-roi")


def _scene(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 60, (SIZE, SIZE + 32, 3), dtype=np.uint8)
    image[10:40, 10:40] = (230, 200, 40)
    image[50:80, 70:100] = (40, 90, 220)
    return image


@pytest.mark.parametrize("inputs", ["features_distance", "distance_product"])
def test_roi_matching_computes_its_documented_formula(inputs):
    rng = np.random.default_rng(0)
    rois = rng.normal(size=(2, 3, 4, 4, 5)).astype(np.float32)
    reference = rng.normal(size=(2, 3, 5)).astype(np.float32)
    layer = RoiMatching(6, inputs)
    out = np.asarray(layer(rois, reference))
    vector = reference[:, :, None, None, :]
    distance = np.abs(rois - vector)
    pair = [rois, distance] if inputs == "features_distance" else [distance, rois * vector]
    kernel, bias = (np.asarray(w) for w in layer.conv.weights)
    np.testing.assert_allclose(out, np.concatenate(pair, axis=-1) @ kernel + bias, rtol=1e-5, atol=1e-5)
    assert out.shape == (2, 3, 4, 4, 6)


def test_roi_matching_refuses_unknown_inputs():
    with pytest.raises(ValueError, match="inputs must be one of"):
        RoiMatching(4, "concat")


def test_image_features_hold_the_proposals_and_their_pooled_features(roi_predictor):
    cfg = roi_predictor.config
    query = roi_predictor.encode_image(_scene())
    features = query.features
    assert len(features["pyramid"]) == 5
    assert tuple(features["proposals"].shape) == (1, cfg.rpn_post_nms_test, 4)
    assert tuple(features["valid"].shape) == (1, cfg.rpn_post_nms_test)
    assert tuple(features["rois"].shape) == (1, cfg.rpn_post_nms_test, cfg.pool_size, cfg.pool_size, cfg.fpn_channels)
    pyramid_only = sum(int(np.prod(level.shape)) * 4 for level in features["pyramid"])
    assert query.nbytes > pyramid_only, "the cache entry counts the proposals and ROIs too"


def _detections(predictor, query, reference) -> np.ndarray:
    """Raw detections [D, 6] of the network (before the predictor drops boxes that random heads collapse)."""
    import tensorflow as tf

    detections, _ = predictor.model.detect(
        query.features, tf.constant(reference.vector[None]), tf.constant(query.info.normalized_window()[None]),
        tf.constant(0.0), tf.constant(0.5),
    )
    return np.asarray(detections[0])


def test_a_new_reference_reuses_the_cached_features_and_changes_the_answer(roi_predictor):
    """The cached features answer any reference; the answer depends on the reference and equals a fresh call's."""
    image = _scene()
    query = roi_predictor.encode_image(image)
    first = roi_predictor.encode_references(image, [[10, 10, 40, 40]])
    second = roi_predictor.encode_references(image, [[70, 50, 100, 80]])
    a = _detections(roi_predictor, query, first)
    again = _detections(roi_predictor, query, first)
    b = _detections(roi_predictor, query, second)
    assert (a[:, 5] > 0).any()
    np.testing.assert_array_equal(a, again)
    assert not np.allclose(a, b), "the reference must change the answer"
    fresh = _detections(roi_predictor, roi_predictor.encode_image(image), first)
    np.testing.assert_allclose(fresh, a, rtol=1e-5, atol=1e-6)


def test_roi_heads_see_the_reference_of_each_rois_level(roi_predictor):
    """Changing the reference vector of one level moves the logits of exactly the ROIs pooled from that level."""
    import tensorflow as tf

    from model.layers.roi_align import MIN_LEVEL, roi_levels

    net, cfg = roi_predictor.model, roi_predictor.config
    query = roi_predictor.encode_image(_scene())
    reference = roi_predictor.encode_references(_scene(), [[10, 10, 40, 40]]).vector[None]
    proposals = query.features["proposals"]
    levels = np.asarray(roi_levels(proposals, cfg.image_size))[0] - MIN_LEVEL

    def logits(vector):
        return np.asarray(net.classifier(net._match_rois(query.features["rois"], proposals, tf.constant(vector)))[0])[0]

    base = logits(reference)
    used = sorted(set(levels.tolist()))
    assert len(used) >= 2, "the test needs ROIs on two levels"
    for level in range(5):
        changed = reference.copy()
        changed[:, level] += 5.0
        moved = ~np.isclose(logits(changed), base, rtol=1e-5, atol=1e-5).all(axis=1)
        np.testing.assert_array_equal(moved, levels == level, err_msg=f"level P{level + MIN_LEVEL}")


def test_bfloat16_caches_proposals_in_float32_and_rois_in_half_the_bytes(roi_predictor):
    from model.builder import build_model
    from model.predictor import Predictor

    half = build_model(roi_predictor.config, precision="bfloat16")
    half.set_weights(roi_predictor.model.get_weights())
    bf16 = Predictor(half)
    image = _scene()
    a, b = roi_predictor.encode_image(image), bf16.encode_image(image)
    assert b.features["rois"].dtype.name == "bfloat16" and b.features["proposals"].dtype.name == "float32"
    assert b.nbytes < 0.6 * a.nbytes


def _objects_dataset() -> Dataset:
    names = ("cat", "dog", "fox")

    def image(image_id, boxes):
        pixels = np.full((64, 64, 3), 100, np.uint8)
        instances = tuple(
            InstanceAnnotation(names.index(n), n, np.array(b, np.float32), iscrowd=crowd) for n, b, crowd in boxes
        )
        return AnnotatedImage(image_id, lambda: pixels, 64, 64, instances)

    return Dataset(names, (
        image("0", [("cat", (0, 0, 20, 20), False), ("dog", (30, 30, 60, 60), False), ("fox", (20, 0, 40, 20), False),
                    ("dog", (0, 40, 20, 60), True)]),
        image("1", [("cat", (5, 5, 25, 25), False), ("dog", (30, 5, 60, 30), False)]),
    ))


def test_episode_object_boxes_are_every_active_non_crowd_instance():
    sampler = EpisodeSampler(_objects_dataset(), ["cat", "dog"], seed=0)
    episode = sampler.episode(0, category_id=0)
    np.testing.assert_allclose(episode.gt_boxes, [[0, 0, 20, 20]])
    # The held-out fox and the crowd region are not objects to propose.
    np.testing.assert_allclose(episode.object_boxes, [[0, 0, 20, 20], [30, 30, 60, 60]])


def test_augmented_object_boxes_follow_the_image():
    from model.data.augment import Augmentation

    sampler = EpisodeSampler(_objects_dataset(), ["cat", "dog"], seed=0,
                             augmentation=Augmentation(flip_probability=1.0, scale_range=(0.5, 0.5)))
    episode = sampler.episode(0, category_id=0)
    np.testing.assert_allclose(episode.gt_boxes, [[22, 0, 32, 10]])
    np.testing.assert_allclose(episode.object_boxes, [[22, 0, 32, 10], [2, 15, 17, 30]])


def test_roi_rpn_targets_are_all_objects_and_pyramid_rpn_targets_the_category():
    from model.builder import build_model
    from model.presets import get_preset
    from model.training.batches import episode_to_example

    episode = EpisodeSampler(_objects_dataset(), ["cat", "dog"], seed=0).episode(0, category_id=0)
    positives = {}
    for conditioning in ("pyramid", "roi"):
        config = get_preset("tiny", conditioning=conditioning)
        anchors = build_model(config).anchors_np
        example = episode_to_example(episode, config, anchors, np.random.default_rng(0))
        assert (example["gt_boxes"].any(axis=1)).sum() == 1, "the heads' targets are the category's instances"
        positives[conditioning] = anchors[example["rpn_match"] == 1]
    # Only the reference-agnostic RPN learns the dog (bottom right of the 64 px image, padded into 128).
    def covers_dog(anchor_set):
        return bool(((anchor_set[:, 0] > 0.35) & (anchor_set[:, 1] > 0.35)).any())

    assert covers_dog(positives["roi"]) and not covers_dog(positives["pyramid"])


def test_a_few_roi_training_steps_lower_the_loss_and_save_a_loadable_checkpoint(tmp_path):
    import keras

    from model.builder import build_model
    from model.checkpoint import ModelCard
    from model.predictor import Predictor
    from model.presets import get_preset
    from model.training.trainer import Trainer, TrainSettings
    from tests.model.test_training import synthetic_episode

    keras.utils.set_random_seed(1)
    model = build_model(get_preset("tiny", conditioning="roi"))
    trainer = Trainer(model, iter(lambda: synthetic_episode(), None),
                      TrainSettings(steps=1, batch_size=1, learning_rate=3e-3, seed=0))
    trainer._set_stage("all")
    batch = trainer._make_batch()
    first = trainer.train_step(batch)[1]
    for _ in range(25):
        last = trainer.train_step(batch)[1]
    assert np.isfinite(last) and last < 0.6 * first, (first, last)
    out = tmp_path / "roi.weights.h5"
    trainer.save(out, ModelCard(version="tiny-roi-run", preset="tiny", config=model.config.to_dict()), 26, 1.0)
    loaded = Predictor.from_checkpoint(out)
    assert loaded.config.conditioning == "roi"
    image = synthetic_episode().query_image
    fresh = Predictor(model)
    query, reference = fresh.encode_image(image), fresh.encode_references(image, [[10, 10, 40, 40]])
    expected = _detections(fresh, query, reference)
    assert (expected[:, 5] > 0).any()
    np.testing.assert_allclose(_detections(loaded, loaded.encode_image(image), reference), expected, rtol=1e-4,
                               atol=1e-5)
