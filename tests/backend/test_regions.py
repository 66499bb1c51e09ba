from __future__ import annotations

import numpy as np
import pytest
from label_studio_sdk.converter.brush import decode_rle

from backend.polygons import mask_to_polygons
from backend.regions import drop_overlapping, instances_to_regions, prediction_entry
from common.jobs import InstanceRecord, OutputControl
from common.masks import encode_mask

OUTPUTS = (OutputControl("box", "image", "rectanglelabels"), OutputControl("mask", "image", "brushlabels"),
           OutputControl("poly", "image", "polygonlabels"))


def _instance(x1, y1, x2, y2, shape=(480, 640), score=0.9):
    mask = np.zeros(shape, bool)
    mask[y1:y2, x1:x2] = True
    return InstanceRecord(box=(x1, y1, x2, y2), score=score, mask=encode_mask(mask)), mask


def test_one_instance_gives_a_box_a_brush_and_a_polygon_in_percent():
    instance, mask = _instance(64, 48, 128, 144)
    regions = instances_to_regions([instance], OUTPUTS, "Object", (480, 640))
    box, brush, polygon = regions
    assert box["value"] == {"x": 10.0, "y": 10.0, "width": 10.0, "height": 20.0, "rotation": 0,
                            "rectanglelabels": ["Object"]}
    assert polygon["value"]["closed"] is True and polygon["value"]["polygonlabels"] == ["Object"]
    assert sorted(map(tuple, polygon["value"]["points"])) == [(10, 10), (10, 30), (20, 10), (20, 30)]
    for region in regions:
        assert (region["original_width"], region["original_height"]) == (640, 480)
        assert region["to_name"] == "image" and region["score"] == 0.9
    decoded = decode_rle(brush["value"]["rle"]).reshape(480, 640, 4)[:, :, 3]
    assert np.array_equal(decoded > 0, mask)
    assert len({r["id"] for r in regions}) == 3


def test_masks_are_resampled_to_label_studios_size_when_the_worker_saw_another():
    instance, _ = _instance(10, 10, 30, 20, shape=(40, 60))
    regions = instances_to_regions([instance], OUTPUTS[:2], "Object", (40, 60), original_size=(80, 120))
    box, brush = regions
    assert box["value"]["x"] == pytest.approx(100 * 10 / 60, abs=1e-3)
    assert (brush["original_width"], brush["original_height"]) == (120, 80)
    decoded = decode_rle(brush["value"]["rle"]).reshape(80, 120, 4)[:, :, 3] > 0
    assert decoded.sum() == 4 * 20 * 10 and decoded[20:40, 20:60].all()


def test_suggestions_overlapping_regions_on_the_canvas_are_dropped():
    keep, _ = _instance(300, 300, 350, 350)
    same, _ = _instance(10, 10, 50, 50)
    assert drop_overlapping([keep, same], [(12, 12, 50, 52)]) == [keep]
    assert drop_overlapping([keep, same], []) == [keep, same]


def test_polygons_fill_holes_and_split_parts_and_drop_specks():
    mask = np.zeros((100, 100), bool)
    mask[10:50, 10:50] = True
    mask[20:30, 20:30] = False  # a hole
    mask[70:90, 60:95] = True  # a second part
    mask[5, 95] = True  # a speck
    polygons = mask_to_polygons(mask, tolerance=0.5)
    assert len(polygons) == 2
    assert sorted(map(tuple, polygons[0])) == [(10, 10), (10, 50), (50, 10), (50, 50)]
    assert sorted(map(tuple, polygons[1])) == [(60, 70), (60, 90), (95, 70), (95, 90)]


def test_prediction_entry_scores_are_the_mean_and_empty_is_zero():
    assert prediction_entry([], [], "v1") == {"result": [], "score": 0.0, "model_version": "v1"}
    assert prediction_entry([{}], [0.5, 1.0], "v1")["score"] == 0.75
