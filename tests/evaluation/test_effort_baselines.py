"""Both training-free baselines find the pasted copies of a patch in a tiny synthetic scene."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from effort_scenes import make_scene

from model.evaluation.effort import EffortSummary, count_trial
from model.evaluation.effort_runner import QueryImage
from model.evaluation.matching import box_iou
from model.evaluation.template_baseline import TemplateBaseline, local_peaks

PROBE_WEIGHTS = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_224_no_top.h5"


def found(answer, boxes: np.ndarray) -> np.ndarray:
    """Per ground-truth box: whether a suggestion overlaps it at IoU >= 0.5."""
    return (box_iou(answer.boxes, boxes) >= 0.5).any(axis=0)


def test_template_matching_finds_every_copy_upright_and_turned():
    image, boxes = make_scene()
    answer = TemplateBaseline(0.8)(QueryImage(image, None, "scene"), boxes[0])
    assert found(answer, boxes).all()
    turned = np.argmax(box_iou(answer.boxes, boxes[4:])[:, 0])
    np.testing.assert_allclose(answer.boxes[turned], boxes[4], atol=1)  # the quarter-turned box, w and h swapped
    assert answer.masks is None and len(answer) == len(boxes)  # nothing else scores 0.8 on this background
    summary = EffortSummary.of([count_trial("tag", boxes, 0, answer)])
    assert summary.effort == summary.floor == pytest.approx(1 / 5)


def test_template_matching_threshold_and_peaks():
    image, boxes = make_scene()
    low, high = TemplateBaseline(0.3), TemplateBaseline(0.8)
    query = QueryImage(image, None, "scene")
    assert len(low(query, boxes[0])) > len(high(query, boxes[0]))
    response = np.zeros((9, 9), np.float32)
    response[2, 3], response[2, 4], response[7, 7] = 0.9, 0.8, 0.5
    ys, xs = local_peaks(response, (3, 3), 0.6)
    assert list(zip(ys.tolist(), xs.tolist(), strict=True)) == [(2, 3)]


@pytest.fixture(scope="module")
def probe():
    cache = Path.home() / ".keras" / "models" / PROBE_WEIGHTS
    if not cache.exists():
        pytest.skip(f"{cache} is absent: the feature probe needs Keras' ImageNet MobileNetV2 alpha 0.5 weights there "
                    "(any machine that ran keras.applications.MobileNetV2(alpha=0.5) once has them)")
    from model.evaluation.feature_probe import FeatureProbe

    return FeatureProbe(0.96)  # ReLU features are all positive: plain background is at ~0.9 of the reference


def test_feature_probe_finds_the_upright_copies(probe):
    image, boxes = make_scene()
    answer = probe(QueryImage(image, None, "scene"), boxes[0])
    hits = found(answer, boxes)
    assert hits[:4].all()  # the reference-sized box cannot cover the turned copy at IoU 0.5 (24x40 vs 40x24: 0.43)
    assert answer.masks is None
    summary = EffortSummary.of([count_trial("tag", boxes, 0, answer)])
    assert (summary.dropped, summary.right, summary.deletions, summary.misses) == (1, 3, 0, 1)
    np.testing.assert_allclose(np.diff(answer.boxes[:, [0, 2]], axis=1), 40, atol=1)  # the reference's size
