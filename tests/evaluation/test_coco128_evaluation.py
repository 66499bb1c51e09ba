"""The protocol on real coco128-seg images (skips when ../shared is absent)."""

from __future__ import annotations

import numpy as np
import pytest
from hand_made import Oracle, identify_by_content

from model.data import load_dataset, paper_split
from model.evaluation import ColourHistogramBaseline, evaluate

pytestmark = pytest.mark.shared
FEW_IMAGES = 12


@pytest.fixture(scope="module")
def coco128(coco128_dir):
    return load_dataset(coco128_dir, "yolo-seg")


def test_oracle_on_real_polygons_scores_one(coco128):
    held_out = paper_split(1).held_out_classes(coco128.categories)
    report = evaluate(
        Oracle(coco128, identify=identify_by_content(coco128)),
        coco128,
        held_out,
        runs=1,
        max_images=FEW_IMAGES,
        progress=False,
    )
    assert report["num_queries"] > 0
    assert report["box_ap50"]["mean"] == pytest.approx(1.0)
    assert report["mask_ap50"]["mean"] == pytest.approx(1.0)
    assert set(report["per_class"]) <= set(held_out)


def test_baseline_on_real_images_is_far_from_perfect(coco128):
    train = paper_split(1).train_classes(coco128.categories)
    report = evaluate(
        ColourHistogramBaseline(), coco128, train, runs=2, seed=0, max_images=FEW_IMAGES, progress=False
    )
    for key in ("box_ap50", "mask_ap50", "recall", "precision"):
        assert 0.0 <= report[key]["mean"] < 0.9, key
    assert len(report["box_ap50"]["per_run"]) == 2
    assert np.isfinite(report["box_ap50"]["ci95"])
