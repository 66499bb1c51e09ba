"""The reference's size as a prior (model/size_prior.py) and the reference's dihedral views (model/preprocess.py)."""

from __future__ import annotations

import numpy as np
import pytest

from model.preprocess import DIHEDRAL_VIEWS, dihedral_views
from model.size_prior import apply_size_prior, size_weights, within_size_cap

REFERENCE = np.array([[10, 10, 50, 30]], np.float32)  # 40 x 20: size sqrt(800)


def _box_of_size(size: float, aspect: float = 1.0) -> list[float]:
    w, h = size * np.sqrt(aspect), size / np.sqrt(aspect)
    return [100, 100, 100 + w, 100 + h]


def test_boxes_within_the_tolerance_keep_their_weight_whatever_their_shape():
    size = np.sqrt(800)
    boxes = np.array([_box_of_size(size), _box_of_size(size * 1.4, 3.0), _box_of_size(size / 1.4, 0.2)])
    assert np.allclose(size_weights(boxes, REFERENCE, tolerance=1.5, falloff=0.4), 1.0)


def test_weights_fall_with_distance_in_log_size_symmetrically():
    size = np.sqrt(800)
    factors = [2.0, 3.0, 6.0]
    larger = size_weights(np.array([_box_of_size(size * f) for f in factors]), REFERENCE, 1.5, 0.4)
    smaller = size_weights(np.array([_box_of_size(size / f) for f in factors]), REFERENCE, 1.5, 0.4)
    assert np.all(np.diff(larger) < 0) and larger[0] < 1
    assert np.allclose(larger, smaller, atol=1e-5)
    expected = np.exp(-(((np.log(2.0) - np.log(1.5)) / 0.4) ** 2))
    assert larger[0] == pytest.approx(expected, rel=1e-5)


def test_the_size_cap_keeps_boxes_up_to_cap_times_the_reference_size_whatever_their_shape():
    size = np.sqrt(800)
    boxes = np.array([_box_of_size(size / 5), _box_of_size(size), _box_of_size(size * 1.99, 4.0),
                      _box_of_size(size * 2.01), _box_of_size(size * 6, 0.25)])
    assert within_size_cap(boxes, REFERENCE, cap=2.0).tolist() == [True, True, True, False, False]
    assert within_size_cap(np.zeros((0, 4)), REFERENCE, cap=2.0).shape == (0,)


def test_the_size_cap_uses_the_geometric_mean_of_several_references_and_refuses_a_cap_below_one():
    references = np.array([[0, 0, 10, 10], [0, 0, 40, 40]], np.float32)  # sizes 10 and 40: mean 20
    assert within_size_cap(np.array([_box_of_size(39.0), _box_of_size(41.0)]), references, 2.0).tolist() == [True,
                                                                                                            False]
    with pytest.raises(ValueError, match="at least 1"):
        within_size_cap(np.array([_box_of_size(10.0)]), REFERENCE, cap=0.5)
    with pytest.raises(ValueError, match="at least one reference"):
        within_size_cap(np.array([_box_of_size(10.0)]), np.zeros((0, 4)), cap=2.0)


def test_several_references_use_their_geometric_mean_size():
    references = np.array([[0, 0, 10, 10], [0, 0, 40, 40]], np.float32)  # sizes 10 and 40: mean 20
    weights = size_weights(np.array([_box_of_size(20.0)]), references, tolerance=1.0, falloff=0.1)
    assert weights[0] == pytest.approx(1.0)


def test_apply_lowers_scores_and_drops_what_falls_under_the_threshold():
    size = np.sqrt(800)
    boxes = np.array([_box_of_size(size), _box_of_size(size * 4)])  # the second spans several objects
    scores, keep = apply_size_prior(boxes, np.array([0.9, 0.95]), REFERENCE, 1.5, 0.4, score_threshold=0.5)
    assert keep.tolist() == [True, False]
    assert scores[0] == pytest.approx(0.9) and scores[1] < 0.5


@pytest.mark.parametrize("tolerance, falloff", [(0.5, 0.4), (1.5, 0.0)])
def test_bad_settings_are_refused(tolerance, falloff):
    with pytest.raises(ValueError, match="tolerance"):
        size_weights(np.zeros((1, 4)), REFERENCE, tolerance, falloff)


def test_dihedral_views_are_the_eight_symmetries_of_each_crop():
    rng = np.random.default_rng(0)
    crops = rng.random((2, 6, 6, 3)).astype(np.float32)
    views = dihedral_views(crops)
    assert views.shape == (2 * DIHEDRAL_VIEWS, 6, 6, 3)
    assert np.array_equal(views[0], crops[0]) and np.array_equal(views[DIHEDRAL_VIEWS], crops[1])
    first = views[:DIHEDRAL_VIEWS]
    assert len({v.tobytes() for v in first}) == DIHEDRAL_VIEWS  # all different for an asymmetric crop
    # Closed under the group: rotating or mirroring any view gives another view.
    for view in first:
        for moved in (np.rot90(view, 1, axes=(0, 1)), view[:, ::-1]):
            assert any(np.array_equal(moved, other) for other in first)
