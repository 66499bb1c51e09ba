"""Bad input through the real Flask app over a real Redis (no worker): each a clear 4xx, never a 500.

Reference boxes (NaN, negative, rotated, zero-area, outside the image), label configs Label Studio may hold,
malformed bodies, and the request body size limit.
"""

from __future__ import annotations

import json

import pytest
from rq.job import Job

from common.queues import SERIALIZER

IMAGE_W, IMAGE_H = 640, 480
"""The captured interactive request's image size."""

NAN = float("nan")
INF = float("inf")


BASE_BOX = {"x": 10.0, "y": 20.0, "width": 30.0, "height": 25.0, "rotation": 0}
"""Percent values of the drawn box each case starts from: pixels 64, 96, 256, 216 on 640x480."""


def _interactive(ls_payload, **value) -> dict:
    body = ls_payload("predict_interactive_request_api")
    body["params"]["context"]["result"][-1]["value"].update(BASE_BOX, **value)
    return body


def _post_raw(client, body: dict):
    """POST the body as Python's json writes it: NaN and Infinity stay literal, as a buggy client could send."""
    return client.post("/predict", data=json.dumps(body), content_type="application/json")


def _enqueued_reference(redis_conn) -> list[float]:
    """The reference box of the one interactive job in Redis (cancelled after the 504: no worker here)."""
    keys = [k.decode() for k in redis_conn.keys("rq:job:*") if k.count(b":") == 2]
    assert len(keys) == 1, keys
    job = Job.fetch(keys[0].split(":")[-1], connection=redis_conn, serializer=SERIALIZER)
    return job.args[0]["reference_boxes"][0]


@pytest.mark.parametrize(("value", "message"), [
    ({"x": NAN}, "non-finite"),
    ({"width": INF}, "non-finite"),
    ({"rotation": NAN}, "non-finite"),
    ({"x": "ten"}, "malformed value"),
    ({"width": 0}, "less than one pixel"),
    ({"height": 0.01}, "less than one pixel"),
    ({"x": 150}, "less than one pixel"),  # entirely right of the image
    ({"x": -50, "width": 20}, "less than one pixel"),  # entirely left of it
    ({"y": 10**20}, "less than one pixel"),  # far below
], ids=["nan-x", "inf-width", "nan-rotation", "string-x", "zero-width", "sub-pixel-height", "outside-right",
        "outside-left", "outside-below"])
def test_unusable_reference_boxes_are_400_with_the_reason(make_client, ls_payload, value, message):
    answer = _post_raw(make_client(), _interactive(ls_payload, **value))
    assert answer.status_code == 400, answer.json
    assert message in answer.json["error"]


def test_huge_integer_coordinates_are_400_not_500(make_client, ls_payload):
    body = json.dumps(_interactive(ls_payload, x="HUGE")).replace('"HUGE"', "1" + "0" * 400)
    answer = make_client().post("/predict", data=body, content_type="application/json")
    assert answer.status_code == 400 and "malformed value" in answer.json["error"]


@pytest.mark.parametrize(("value", "expected"), [
    ({"x": 90, "width": 30}, [576.0, 96.0, 640.0, 216.0]),  # half outside: clipped to the image
    ({"x": -10, "width": 30}, [0.0, 96.0, 128.0, 216.0]),  # negative x: clipped
    ({"x": 40, "width": -30}, [64.0, 96.0, 256.0, 216.0]),  # negative width: the same box drawn leftwards
    ({"rotation": 90}, [64.0 - 120.0, 96.0, 64.0, 96.0 + 192.0]),  # rotated: axis-aligned hull, then clipped
], ids=["half-outside", "negative-x", "negative-width", "rotated-90"])
def test_usable_odd_boxes_reach_the_worker_clipped_to_the_image(make_client, ls_payload, redis_conn, value,
                                                                   expected):
    answer = _post_raw(make_client(), _interactive(ls_payload, **value))
    assert answer.status_code == 504  # accepted and enqueued; no worker runs in this test
    expected = [max(0.0, min(v, IMAGE_W if i % 2 == 0 else IMAGE_H)) for i, v in enumerate(expected)]
    assert _enqueued_reference(redis_conn) == pytest.approx(expected)


IMAGE_ONLY = '<View><Image name="image" value="$image"/></View>'
NO_IMAGE = '<View><Text name="t" value="$text"/><Choices name="c" toName="t"><Choice value="A"/></Choices></View>'
KEYPOINTS_ONLY = ('<View><Image name="image" value="$image"/><KeyPointLabels name="kp" toName="image" smart="true">'
                  '<Label value="Object"/></KeyPointLabels></View>')
NOT_XML = "<View><Image name="


@pytest.mark.parametrize(("config", "message"), [
    (NO_IMAGE, "no <Image> tag"),
    (IMAGE_ONLY, "no RectangleLabels, BrushLabels or PolygonLabels"),
    (KEYPOINTS_ONLY, "no RectangleLabels, BrushLabels or PolygonLabels"),
    (NOT_XML, "does not parse"),
], ids=["no-image", "no-control", "only-keypoints", "not-xml"])
@pytest.mark.parametrize("kind", ["interactive", "batch"])
def test_label_configs_without_an_image_or_a_supported_control_are_400(make_client, ls_payload, config, message,
                                                                         kind):
    body = ls_payload("predict_interactive_request_api" if kind == "interactive" else "predict_batch_request")
    body["label_config"] = config
    answer = make_client().post("/predict", json=body)
    assert answer.status_code == 400 and message in answer.json["error"]


@pytest.mark.parametrize(("body", "message"), [
    (b"{", "JSON object"),
    (b"[1, 2]", "JSON object"),
    (b"\xff\xfe", "JSON object"),
    (b'{"tasks": "all"}', "non-empty 'tasks'"),
    (b'{"tasks": [1]}', "non-empty 'tasks'"),
], ids=["truncated", "array", "not-utf8", "tasks-string", "task-int"])
@pytest.mark.parametrize("path", ["/predict", "/setup", "/webhook", "/train"])
def test_malformed_bodies_are_400_on_every_post_route(make_client, path, body, message):
    answer = make_client().post(path, data=body, content_type="application/json")
    assert answer.status_code == 400, (path, answer.status_code, answer.data[:200])
    if path == "/predict" or "JSON object" in message:
        assert message in answer.json["error"]


def test_unknown_label_and_unknown_control_are_400(make_client, ls_payload):
    body = _interactive(ls_payload, rectanglelabels=["Ghost"])
    answer = make_client().post("/predict", json=body)
    assert answer.status_code == 400 and "'Ghost'" in answer.json["error"]
    body = ls_payload("predict_interactive_request_api")
    body["params"]["context"]["result"][-1]["type"] = "ellipselabels"
    answer = make_client().post("/predict", json=body)
    assert answer.status_code == 400 and "'ellipselabels'" in answer.json["error"]


BODY_LIMIT = 4096
"""A small MAX_REQUEST_BYTES for the test (the default is 32 MB)."""


def test_bodies_over_max_request_bytes_are_413_with_the_setting_named(make_client, ls_payload):
    client = make_client(max_request_bytes=BODY_LIMIT)
    body = ls_payload("predict_batch_request")
    body["tasks"] = body["tasks"] * 50
    raw = json.dumps(body).encode()
    assert len(raw) > BODY_LIMIT
    answer = client.post("/predict", data=raw, content_type="application/json")
    assert answer.status_code == 413
    assert "MAX_REQUEST_BYTES=4096" in answer.json["error"]
    small = client.post("/setup", json={"project": "1.2", "schema": ""})
    assert small.status_code == 200  # bodies under the limit are served as before
    assert client.get("/health").status_code == 200
