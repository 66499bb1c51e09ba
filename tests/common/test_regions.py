from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from label_studio_sdk.converter.brush import decode_rle, mask2rle

from common.jobs import InstanceRecord, OutputControl
from common.mask_runs import foreground_runs, resampled_runs
from common.masks import encode_mask
from common.polygons import mask_to_polygons
from common.regions import drop_overlapping, instances_to_regions, prediction_entry

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


def _full_image_resample(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """The nearest-neighbour resample regions.py did before it gathered only the mask's box."""
    rows = (np.arange(height) * mask.shape[0] / height).astype(int)
    cols = (np.arange(width) * mask.shape[1] / width).astype(int)
    return mask[rows][:, cols]


@settings(max_examples=150, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 30), st.integers(1, 30))), st.integers(1, 70), st.integers(1, 70))
def test_resampled_runs_are_the_runs_of_the_full_image_resample(mask, height, width):
    starts, ends = resampled_runs(mask, height, width)
    want_starts, want_ends = foreground_runs(_full_image_resample(mask, height, width))
    assert np.array_equal(starts, want_starts) and np.array_equal(ends, want_ends)


@pytest.mark.parametrize("original_size", [(480, 640), (960, 1280), (301, 401), (17, 23)])
def test_brush_regions_are_the_sdks_bytes_of_the_mask_in_label_studios_frame(original_size):
    mask = np.zeros((480, 640), bool)
    cv2.ellipse(mask.view(np.uint8), (300, 200), (120, 70), 20, 0, 360, 1, thickness=-1)
    mask[5:40:3, 600:] = True  # stripes up to the right edge
    record = InstanceRecord(box=(180.0, 5.0, 640.0, 270.0), score=0.8, mask=encode_mask(mask))
    (brush,) = instances_to_regions([record], OUTPUTS[1:2], "Object", (480, 640), original_size=original_size)
    expected = mask2rle(_full_image_resample(mask, *original_size).astype(np.uint8) * 255)
    assert brush["value"]["rle"] == expected
    assert all(type(v) is int for v in brush["value"]["rle"])


def test_a_speck_is_dropped_wherever_it_lies_in_the_image():
    # Exact polygon area 14 < MIN_POLYGON_AREA: the float32 shoelace used before made it 16 far from the origin.
    speck = np.array([[0, 1, 1, 1, 0, 0], [0, 0, 1, 0, 0, 1], [0, 1, 0, 1, 0, 1], [1, 1, 1, 1, 0, 0],
                      [0, 1, 0, 0, 0, 0], [0, 1, 1, 0, 1, 1]], bool)
    for top, left in ((2, 2), (2715, 3752)):
        mask = np.zeros((3024, 4032), bool)
        mask[top : top + 6, left : left + 6] = speck
        assert mask_to_polygons(mask, tolerance=0.5) == []


def _reference_polygons(mask: np.ndarray, tolerance: float, min_area: float = 16.0) -> list[np.ndarray]:
    """mask_to_polygons before it was sped up: numpy doubling, per-contour float ceil, numpy shoelace in float64."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return []
    crop = np.pad(mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.uint8), 1)
    contours, _ = cv2.findContours(crop.repeat(2, axis=0).repeat(2, axis=1), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    polygons = []
    for contour in contours:
        points = np.ceil(contour.reshape(-1, 2) / 2.0) - 1.0 + (cols[0], rows[0])
        simple = cv2.approxPolyDP(points.astype(np.float32), tolerance, closed=True).reshape(-1, 2).astype(float)
        area = 0.5 * abs(np.dot(simple[:, 0], np.roll(simple[:, 1], 1)) - np.dot(simple[:, 1], np.roll(simple[:, 0], 1)))
        if len(simple) >= 3 and area >= min_area:
            polygons.append((area, simple))
    polygons.sort(key=lambda item: -item[0])
    return [points for _, points in polygons]


def _blotchy(height: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    grid = rng.uniform(size=(8, 8)).astype(np.float32)
    mask = np.zeros((height, width), bool)
    top, left = rng.integers(0, height // 2 + 1), rng.integers(0, width // 2 + 1)
    box = cv2.resize(grid, (width - left, height - top), interpolation=cv2.INTER_LINEAR) >= 0.5
    mask[top:, left:] = box
    return mask


@settings(max_examples=150, deadline=None)
@given(st.one_of(arrays(bool, st.tuples(st.integers(1, 40), st.integers(1, 40))),
                 st.builds(_blotchy, st.integers(8, 200), st.integers(8, 200), st.integers(0, 2**32))),
       st.sampled_from([0.5, 1.5, 3.0]))
def test_polygons_equal_the_reference_implementation(mask, tolerance):
    ours, reference = mask_to_polygons(mask, tolerance), _reference_polygons(mask, tolerance)
    assert len(ours) == len(reference)
    assert all(np.array_equal(a, b) for a, b in zip(ours, reference, strict=True))
