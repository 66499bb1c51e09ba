"""Small references: magnified overlapping windows (model/tiling.py)."""

from __future__ import annotations

import numpy as np
import pytest

from model.tiling import MAX_ZOOM, SMALL_REFERENCE_PX, TARGET_REFERENCE_PX, find_tiled, plan_tiles, tile_plan


def test_large_references_need_no_tiles():
    assert plan_tiles((768, 1024), [[100, 100, 200, 180]], image_size=512, min_dim=400) is None


def test_small_references_get_windows_that_cover_the_image_with_overlap():
    box = np.array([[500, 400, 525, 424]], np.float32)  # 25 px in a 1024 px frame: 12.5 px at 512
    plan = plan_tiles((768, 1024), box, image_size=512, min_dim=400)
    assert plan is not None and 1 < plan.zoom <= MAX_ZOOM
    assert plan.zoom == pytest.approx(TARGET_REFERENCE_PX / (np.sqrt(25 * 24) * 512 / 1024), rel=1e-6)
    covered = np.zeros((768, 1024), int)
    for x1, y1, x2, y2 in plan.windows:
        assert 0 <= x1 < x2 <= 1024 and 0 <= y1 < y2 <= 768
        covered[y1:y2, x1:x2] += 1
        # Each window is shown at (about) its full magnification: the reference's size there is the target.
        scale = min(max(1.0, 400 / min(y2 - y1, x2 - x1)), 512 / max(y2 - y1, x2 - x1))
        assert np.sqrt(25 * 24) * scale >= SMALL_REFERENCE_PX
    assert covered.min() >= 1
    # Neighbouring windows overlap by at least two reference sides, so a reference-sized object fits in one.
    xs = sorted({w[0] for w in plan.windows})
    ends = sorted({w[2] for w in plan.windows})
    assert all(end - start >= 2 * 25 for start, end in zip(xs[1:], ends[:-1], strict=False))


def test_zoom_is_capped():
    plan = plan_tiles((768, 1024), [[0, 0, 2, 2]], image_size=512, min_dim=400)
    assert plan.zoom == pytest.approx(MAX_ZOOM)


def test_tile_plan_follows_the_config(tiny_predictor):
    small = [[10, 10, 14, 14]]
    assert tile_plan(tiny_predictor.config, (300, 400), small) is None  # off in the config
    config = tiny_predictor.config.replace(detection_small_tiles=True)
    assert tile_plan(config, (300, 400), small) is not None


def test_find_tiled_answers_in_the_whole_image_frame(tiny_predictor):
    image = np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    box = [[200, 150, 208, 158]]
    plan = plan_tiles(image.shape[:2], box, tiny_predictor.config.image_size, tiny_predictor.config.image_min_dim)
    assert plan is not None and len(plan.windows) > 1
    reference = tiny_predictor.encode_references(image, box)
    found = find_tiled(tiny_predictor, image, reference, plan, score_threshold=0.0, nms_threshold=0.5,
                       max_instances=7)
    assert 0 < len(found) <= 7
    for instance in found:
        x1, y1, x2, y2 = instance.box
        assert 0 <= x1 < x2 <= 400 and 0 <= y1 < y2 <= 300
        assert instance.mask.shape == (300, 400)
        if instance.mask.any():
            ys, xs = np.nonzero(instance.mask)
            assert xs.min() >= np.floor(x1) and xs.max() < np.ceil(x2)
    boxes = np.array([i.box for i in found])
    for i in range(len(boxes)):  # merged: no kept box lies mostly inside a better kept one (kept first)
        for j in range(i + 1, len(boxes)):
            ix = max(0, min(boxes[i][2], boxes[j][2]) - max(boxes[i][0], boxes[j][0]))
            iy = max(0, min(boxes[i][3], boxes[j][3]) - max(boxes[i][1], boxes[j][1]))
            area = (boxes[j][2] - boxes[j][0]) * (boxes[j][3] - boxes[j][1])
            assert ix * iy / area < 0.6 + 1e-6
