import numpy as np

from model.anchors import level_anchors, pyramid_anchors
from model.presets import get_preset


def test_count_matches_paper_large():
    cfg = get_preset("paper-large")
    anchors = pyramid_anchors(cfg.image_size, cfg.rpn_anchor_scales, cfg.rpn_anchor_ratios, cfg.backbone_strides)
    assert anchors.shape == (261_888, 4)  # the spec's A for 1024 px
    cfg = get_preset("paper-small")
    anchors = pyramid_anchors(cfg.image_size, cfg.rpn_anchor_scales, cfg.rpn_anchor_ratios, cfg.backbone_strides)
    assert anchors.shape == (65_472, 4)


def test_level_anchor_order_and_geometry():
    anchors = level_anchors(32, (0.5, 1.0, 2.0), feature_size=2, stride=4)
    assert anchors.shape == (12, 4)
    # First position (0, 0), ratio 0.5: h = 32 / sqrt(.5), w = 32 * sqrt(.5), centred at 0 (no half-stride offset).
    h, w = 32 / np.sqrt(0.5), 32 * np.sqrt(0.5)
    np.testing.assert_allclose(anchors[0], [-h / 2, -w / 2, h / 2, w / 2], atol=1e-6)
    # Ratio is the fastest axis, then column: anchor 3 is position (0, 1) at x = 4.
    centre = (anchors[3, :2] + anchors[3, 2:]) / 2
    np.testing.assert_allclose(centre, [0.0, 4.0], atol=1e-6)
    # Position (1, 0) follows the first row.
    centre = (anchors[6, :2] + anchors[6, 2:]) / 2
    np.testing.assert_allclose(centre, [4.0, 0.0], atol=1e-6)
    # Square anchor keeps the scale.
    sq = anchors[1]
    np.testing.assert_allclose([sq[2] - sq[0], sq[3] - sq[1]], [32, 32], atol=1e-6)


def test_pyramid_is_level_major_and_normalised():
    anchors = pyramid_anchors(128, (8, 16, 32, 64, 128), (0.5, 1.0, 2.0), (4, 8, 16, 32, 64))
    first_p3 = 3 * 32 * 32
    sizes = anchors[:, 2] - anchors[:, 0]
    # matterport normalisation maps y2 to (y2 - 1) / (size - 1): an 8 px anchor spans 7 / 127.
    assert np.allclose(sizes[1], 7 / 127) and np.allclose(sizes[first_p3 + 1], 15 / 127)
    assert anchors.dtype == np.float32
