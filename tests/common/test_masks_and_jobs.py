from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from common.jobs import BatchRequest, InteractiveRequest, PredictionResult
from common.masks import decode_mask, encode_mask, mask_area, mask_bbox


@settings(max_examples=50, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 40), st.integers(1, 40))))
def test_rle_round_trip_is_exact_and_json_safe(mask):
    rle = json.loads(json.dumps(encode_mask(mask)))
    assert rle["size"] == list(mask.shape)
    assert np.array_equal(decode_mask(rle), mask)
    assert mask_area(rle) == mask.sum()


def test_bbox_and_bad_rle():
    mask = np.zeros((10, 10), bool)
    assert mask_bbox(mask) is None
    mask[2:4, 5:9] = True
    assert mask_bbox(mask) == (5.0, 2.0, 9.0, 4.0)
    with pytest.raises(ValueError, match="not a COCO RLE"):
        decode_mask({"counts": "x"})
    with pytest.raises(ValueError, match="expects a \\(H, W\\) mask"):
        encode_mask(np.zeros((2, 2, 2), bool))


def _interactive() -> dict:
    return {"project_id": 1, "image": {"url": "/data/upload/1/a.png", "ls_url": "http://ls", "ls_token": "t"},
            "reference_boxes": [[1, 2, 30, 40]], "expected_size": [480, 640],
            "thresholds": {"score_threshold": 0.5, "nms_threshold": 0.5, "max_instances": 10}}


def test_interactive_request_round_trips_through_json():
    request = InteractiveRequest.from_dict(_interactive())
    again = InteractiveRequest.from_dict(json.loads(json.dumps(request.to_dict())))
    assert again == request and again.reference_boxes == ((1.0, 2.0, 30.0, 40.0),)


@pytest.mark.parametrize(("change", "message"), [
    ({"reference_boxes": []}, "reference_boxes is empty"),
    ({"reference_boxes": [[5, 5, 2, 9]]}, "x2 > x1"),
    ({"reference_boxes": [[0, 0, float("nan"), 3]]}, "finite"),
    ({"project_id": "1"}, "project_id: expected"),
    ({"project_id": True}, "project_id: expected"),
    ({"image": {"url": ""}}, "image.url is empty"),
    ({"thresholds": {"score_threshold": 2, "nms_threshold": 0.5, "max_instances": 3}}, "out of range"),
    ({"expected_size": [0, 5]}, "positive integers"),
    ({"expected_size": ["a", 5]}, "positive integers"),
    ({"reference_boxes": [["1", 2, 3, 4]]}, "must be numbers"),
    ({"other_labels": {"label": "cell"}}, "other_labels: expected a list"),
    ({"other_labels": [{"label": "cell", "exemplars": [], "outputs": []}]}, "must both be non-empty"),
    ({"drawn_label": {"label": "cell", "exemplars": [], "outputs": []}}, "must both be non-empty"),
    ({"drawn_label": {"label": "cell"}}, "missing field 'exemplars'"),
])
def test_bad_payloads_name_the_field(change, message):
    with pytest.raises(ValueError, match=message):
        InteractiveRequest.from_dict({**_interactive(), **change})


def test_the_other_labels_exemplars_travel_with_an_interactive_request():
    other = {"label": "dust", "outputs": [{"from_name": "label", "to_name": "image", "type": "rectanglelabels"}],
             "exemplars": [{"image": {"url": "/data/upload/1/b.png"}, "boxes": [[1, 2, 3, 4]]}]}
    request = InteractiveRequest.from_dict({**_interactive(), "other_labels": [other]})
    again = InteractiveRequest.from_dict(json.loads(json.dumps(request.to_dict())))
    assert again == request
    (label,) = again.other_labels
    assert label.label == "dust" and label.exemplars[0].boxes == ((1.0, 2.0, 3.0, 4.0),)
    assert InteractiveRequest.from_dict(_interactive()).other_labels == ()  # older backends send none
    own = InteractiveRequest.from_dict({**_interactive(), "drawn_label": {**other, "label": "cell"}})
    assert InteractiveRequest.from_dict(json.loads(json.dumps(own.to_dict()))) == own
    assert own.drawn_label.label == "cell" and InteractiveRequest.from_dict(_interactive()).drawn_label is None


def test_results_and_batch_requests_validate_nested_parts():
    mask = encode_mask(np.ones((4, 4), bool))
    result = PredictionResult.from_dict({"model_version": "v", "image_size": [4, 4],
                                         "instances": [{"box": [0, 0, 4, 4], "score": 0.9, "mask": mask}]})
    assert result.instances[0].score == 0.9
    with pytest.raises(ValueError, match="batch.labels is empty"):
        BatchRequest.from_dict({"project_id": 1, "task_id": 2, "image": {"url": "x"}, "labels": [],
                                "thresholds": _interactive()["thresholds"]})
    with pytest.raises(ValueError, match="output.type"):
        BatchRequest.from_dict({
            "project_id": 1, "task_id": 2, "image": {"url": "x"}, "thresholds": _interactive()["thresholds"],
            "labels": [{"label": "a", "exemplars": [{"image": {"url": "y"}, "boxes": [[0, 0, 1, 1]]}],
                        "outputs": [{"from_name": "k", "to_name": "i", "type": "keypointlabels"}]}]})


def test_an_unset_score_threshold_travels_as_none_and_means_the_models_own():
    from common.jobs import Thresholds
    from common.settings import Settings

    assert Settings.from_env({}).score_threshold is None
    assert Settings.from_env({"SCORE_THRESHOLD": "0.6"}).score_threshold == 0.6
    calibrated = Thresholds.from_dict({"score_threshold": None, "nms_threshold": 0.5, "max_instances": 100})
    assert calibrated.score_threshold is None
    assert Thresholds.from_dict(json.loads(json.dumps(calibrated.to_dict()))) == calibrated
    with pytest.raises(ValueError, match="score_threshold"):
        Thresholds.from_dict({"nms_threshold": 0.5, "max_instances": 100})  # missing is still an error
