"""The numpy API the worker uses: shapes, coordinate conventions, caching, bad references."""

import numpy as np
import pytest

from model.predictor import EncodedImage, ReferenceEmbedding


def _image(h=150, w=220, seed=0):
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


def test_find_returns_instances_in_original_pixels(tiny_predictor):
    image = _image()
    query = tiny_predictor.encode_image(image)
    assert isinstance(query, EncodedImage) and query.image_shape == (150, 220) and query.nbytes > 0
    ref = tiny_predictor.encode_references(image, [[20, 30, 60, 90]])
    assert isinstance(ref, ReferenceEmbedding) and ref.vector.shape == (5, 16) and ref.count == 1
    instances = tiny_predictor.find(query, ref, score_threshold=0.0)
    assert 0 < len(instances) <= tiny_predictor.config.detection_max_instances
    scores = [i.score for i in instances]
    assert scores == sorted(scores, reverse=True)
    for inst in instances:
        x1, y1, x2, y2 = inst.box
        assert 0 <= x1 < x2 <= 220 and 0 <= y1 < y2 <= 150
        assert inst.mask.shape == (150, 220) and inst.mask.dtype == bool
        if inst.mask.any():  # the mask lies inside its box
            ys, xs = np.nonzero(inst.mask)
            assert xs.min() >= np.floor(x1) and xs.max() < np.ceil(x2)
            assert ys.min() >= np.floor(y1) and ys.max() < np.ceil(y2)


def test_thresholds_and_limits(tiny_predictor):
    image = _image()
    query = tiny_predictor.encode_image(image)
    ref = tiny_predictor.encode_references(image, [[20, 30, 60, 90]])
    everything = tiny_predictor.find(query, ref, score_threshold=0.0)
    assert len(tiny_predictor.find(query, ref, score_threshold=0.0, max_instances=2)) == min(2, len(everything))
    cut = np.median([i.score for i in everything])
    assert all(i.score >= cut for i in tiny_predictor.find(query, ref, score_threshold=float(cut)))
    with pytest.raises(ValueError, match="score_threshold"):
        tiny_predictor.find(query, ref, score_threshold=1.5)
    with pytest.raises(ValueError, match="nms_threshold"):
        tiny_predictor.find(query, ref, nms_threshold=-0.1)
    # An NMS threshold of 0 keeps only boxes that do not overlap in the network's frame (in original pixels,
    # matterport's +1 on x2/y2 can make touching boxes share a pixel column).
    separate = tiny_predictor.find(query, ref, score_threshold=0.0, nms_threshold=0.0)
    from model.box_ops import iou_matrix_np

    boxes = np.array([i.box for i in separate])[:, [1, 0, 3, 2]]
    iou = iou_matrix_np(boxes, boxes) - np.eye(len(boxes))
    assert 1 <= len(separate) <= len(everything) and iou.max() < 0.5


def test_cached_encoding_gives_the_same_answer(tiny_predictor):
    image = _image(seed=1)
    direct = tiny_predictor.predict(image, [[10, 10, 80, 70]], score_threshold=0.0)
    query = tiny_predictor.encode_image(image)
    ref = tiny_predictor.encode_references(image, [[10, 10, 80, 70]])
    again = tiny_predictor.find(query, ref, score_threshold=0.0)
    assert len(direct) == len(again)
    for a, b in zip(direct, again, strict=True):
        np.testing.assert_allclose(a.box, b.box, atol=1e-4)
        assert (a.mask == b.mask).all()


def test_k_shot_is_the_mean_of_one_shots(tiny_predictor):
    image = _image(seed=2)
    boxes = [[10, 10, 60, 60], [100, 40, 180, 120]]
    both = tiny_predictor.encode_references(image, boxes)
    one = [tiny_predictor.encode_references(image, [b]) for b in boxes]
    np.testing.assert_allclose(both.vector, (one[0].vector + one[1].vector) / 2, rtol=1e-4, atol=1e-5)
    merged = ReferenceEmbedding.mean(one)
    assert merged.count == 2
    np.testing.assert_allclose(merged.vector, both.vector, rtol=1e-4, atol=1e-5)


def test_reference_from_another_image_and_any_input_format(tiny_predictor):
    gray = _image(seed=3)[..., 0]
    rgba = np.dstack([_image(90, 60, seed=4), np.full((90, 60), 255, np.uint8)])
    query = tiny_predictor.encode_image(gray)
    ref = tiny_predictor.encode_references(rgba, [[5, 5, 40, 70]])
    assert query.image_shape == gray.shape
    tiny_predictor.find(query, ref, score_threshold=0.0)


@pytest.mark.parametrize(
    "box, message",
    [([300, 300, 400, 400], "outside"), ([10, 10, 10, 50], "zero or negative"), ([np.nan, 1, 5, 5], "NaN")],
)
def test_bad_reference_boxes_raise_value_error(tiny_predictor, box, message):
    with pytest.raises(ValueError, match=message):
        tiny_predictor.encode_references(_image(), [box])


def test_no_reference_boxes(tiny_predictor):
    with pytest.raises(ValueError, match="K >= 1"):
        tiny_predictor.encode_references(_image(), np.zeros((0, 4)))


def test_image_sizes_do_not_retrace(tiny_predictor):
    for h, w in [(50, 400), (400, 50), (128, 128), (1, 1)]:
        tiny_predictor.encode_image(_image(h, w))
    assert tiny_predictor._encode_image.experimental_get_tracing_count() == 1


def test_max_instances_limits_the_mask_work_not_the_answer(tiny_predictor):
    image = _image(seed=5)
    query = tiny_predictor.encode_image(image)
    ref = tiny_predictor.encode_references(image, [[20, 30, 60, 90]])
    everything = tiny_predictor.find(query, ref, score_threshold=0.0)
    first_two = tiny_predictor.find(query, ref, score_threshold=0.0, max_instances=2)
    assert len(first_two) == min(2, len(everything))
    for a, b in zip(first_two, everything, strict=False):
        np.testing.assert_allclose(a.box, b.box, atol=1e-4)
        assert (a.mask == b.mask).all()


@pytest.fixture(scope="module")
def product_predictor():
    """The tiny network with the product's inference levers on: dihedral references and a tight size prior."""
    import keras

    from model.builder import build_model
    from model.predictor import Predictor
    from model.presets import get_preset

    keras.utils.set_random_seed(0)
    config = get_preset("tiny", reference_dihedral=True, detection_size_tolerance=1.3, detection_size_falloff=0.2)
    return Predictor(build_model(config), version="tiny-product")


def test_size_prior_drops_boxes_far_from_the_reference_size(tiny_predictor, product_predictor):
    from model.size_prior import size_weights

    product_predictor.model.set_weights(tiny_predictor.model.get_weights())
    image = _image(seed=2)
    box = [[20, 30, 60, 90]]
    query = product_predictor.encode_image(image)
    ref = product_predictor.encode_references(image, box)
    plain = product_predictor.find(query, ref, score_threshold=0.0)
    weighted = product_predictor.find(query, ref, score_threshold=0.3, reference_boxes=box)
    assert len(weighted) < len(plain)
    boxes = np.array([i.box for i in plain])
    expected = [i.score * w for i, w in zip(plain, size_weights(boxes, np.array(box), 1.3, 0.2), strict=True)]
    assert sorted(i.score for i in weighted) == pytest.approx(sorted(s for s in expected if s >= 0.3))
    assert [i.score for i in weighted] == sorted((i.score for i in weighted), reverse=True)


def test_size_cap_drops_boxes_larger_than_cap_times_the_drawn_box_and_only_for_drawn_boxes(tiny_predictor):
    from model.predictor import Predictor
    from model.size_prior import within_size_cap

    capped = Predictor(tiny_predictor.model, version="tiny-capped")
    capped.config = tiny_predictor.config.replace(detection_size_cap=1.2)
    image = _image(seed=2)
    box = [[20, 30, 32, 42]]
    query = capped.encode_image(image)
    ref = capped.encode_references(image, box)
    plain = capped.find(query, ref, score_threshold=0.0)  # references from another image: no cap
    drawn = capped.find(query, ref, score_threshold=0.0, reference_boxes=box)
    inside = within_size_cap(np.array([i.box for i in plain]), np.array(box), 1.2)
    assert 0 < inside.sum() < len(plain), "the tiny network's answer should hold boxes on both sides of the cap"
    assert [i.score for i in drawn] == pytest.approx([i.score for i, kept in zip(plain, inside, strict=True) if kept])
    with pytest.raises(ValueError, match="detection_size_cap"):
        tiny_predictor.config.replace(detection_size_cap=0.5)


def test_dihedral_references_average_the_eight_views(product_predictor):
    import tensorflow as tf

    from model.preprocess import DIHEDRAL_VIEWS, reference_inputs

    image = _image(seed=3)
    ref = product_predictor.encode_references(image, [[20, 30, 60, 90]])
    assert ref.count == 1
    views = reference_inputs(image, [[20, 30, 60, 90]], product_predictor.config)
    assert views.shape[0] == DIHEDRAL_VIEWS
    each = [product_predictor.network.encode_references(tf.constant(v[None, None])).numpy()[0] for v in views]
    assert np.allclose(ref.vector, np.mean(each, axis=0), atol=1e-4)
    assert not np.allclose(each[0], each[1], atol=1e-4)
