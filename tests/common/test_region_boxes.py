from __future__ import annotations

import numpy as np
import pytest
from label_studio_sdk.converter.brush import mask2rle

from common.exceptions import BadRequestError
from common.region_boxes import region_to_box, regions_to_boxes, select_reference


def _rect(x, y, w, h, label="Object", origin="manual", rotation=0, from_name="box"):
    return {"type": "rectanglelabels", "from_name": from_name, "to_name": "image", "origin": origin,
            "original_width": 640, "original_height": 480,
            "value": {"x": x, "y": y, "width": w, "height": h, "rotation": rotation, "rectanglelabels": [label]}}


def test_frontend_capture_reference_is_the_last_manual_box_and_the_prediction_is_only_existing(ls_payload):
    context = ls_payload("ui_frontend_interactive_request")["context"]
    reference = select_reference(context)
    assert reference.label == "Object"
    assert reference.original_size == (480, 640)
    assert len(reference.boxes) == 1  # the predicted box (origin "prediction") is not an example
    x1, y1, x2, y2 = reference.boxes[0]
    assert x1 == pytest.approx(0.07997532894736839 * 640)
    assert y2 == pytest.approx((0.15049342105263158 + 0.26973684210526315) * 480)
    assert len(reference.existing) == 2


def test_several_hand_drawn_boxes_of_the_label_are_k_shot_references_last_first():
    context = {"result": [_rect(0, 0, 10, 10), _rect(50, 50, 10, 10, label="Other"), _rect(20, 20, 10, 10)]}
    reference = select_reference(context)
    assert reference.boxes == ((128.0, 96.0, 192.0, 144.0), (0.0, 0.0, 64.0, 48.0))
    assert len(reference.existing) == 3


def test_rotated_rectangle_reference_is_its_axis_aligned_hull():
    box = region_to_box(_rect(50, 50, 10, 10, rotation=90))
    assert box == pytest.approx((320 - 48, 240, 320, 240 + 64))


def test_brush_and_polygon_regions_give_their_bounding_boxes():
    mask = np.zeros((480, 640), np.uint8)
    mask[100:150, 200:260] = 255
    brush = {"type": "brushlabels", "original_width": 640, "original_height": 480,
             "value": {"format": "rle", "rle": mask2rle(mask), "brushlabels": ["Object"]}}
    assert region_to_box(brush) == (200.0, 100.0, 260.0, 150.0)
    polygon = {"type": "polygonlabels", "original_width": 640, "original_height": 480,
               "value": {"points": [[10, 10], [20, 10], [15, 30]], "polygonlabels": ["Object"]}}
    assert region_to_box(polygon) == pytest.approx((64, 48, 128, 144))


@pytest.mark.parametrize(("context", "message"), [
    (None, "no regions"),
    ({"result": []}, "no regions"),
    ({"result": [{"type": "keypointlabels", "original_width": 640, "original_height": 480,
                  "value": {"x": 5, "y": 5, "width": 1, "keypointlabels": ["Object"]}}]}, "smart rectangle"),
    ({"result": [{"type": "rectanglelabels", "value": {"x": 1, "y": 1, "width": 5, "height": 5,
                                                        "rectanglelabels": ["Object"]}}]}, "original_width"),
    ({"result": [_rect(10, 10, 0.01, 0.01)]}, "less than one pixel"),
    ({"result": [_rect(10, 10, 5, 5, label=None)]}, "carries no label"),
    ({"result": [{**_rect(1, 1, 5, 5), "value": {"rectanglelabels": ["Object"]}}]}, "malformed"),
    ({"result": [{"type": "brushlabels", "original_width": 4, "original_height": 4,
                  "value": {"format": "rle", "rle": [0, 1, 2], "brushlabels": ["Object"]}}]}, "malformed"),
])
def test_unusable_context_is_a_bad_request_that_says_why(context, message):
    if context and context["result"] and context["result"][0].get("value", {}).get("rectanglelabels") == [None]:
        context["result"][0]["value"]["rectanglelabels"] = []
    with pytest.raises(BadRequestError, match=message):
        select_reference(context)


def test_annotation_regions_to_boxes_groups_by_label_and_skips_unusable_regions(ls_payload):
    annotation = ls_payload("webhook_annotation_created")["annotation"]
    boxes = regions_to_boxes(annotation["result"] + [{"type": "keypointlabels"}, "junk"])
    assert list(boxes) == ["Object"]
    assert len(boxes["Object"]) == 3  # brush ellipse, predicted box, manual box


@pytest.mark.parametrize("kind", ["rectanglelabels", "polygonlabels", "brushlabels"])
@pytest.mark.parametrize("value", [True, 3, "x", [1, 2], None])
def test_a_region_whose_value_is_not_an_object_is_a_bad_request(kind, value):
    """Found by the payload property test: `value: true` on a brush region raised AttributeError (a 500)."""
    region = {"type": kind, "original_width": 4, "original_height": 4, "value": value}
    with pytest.raises(BadRequestError, match="no value object"):
        region_to_box(region)
