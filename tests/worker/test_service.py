"""The whole path with real parts: Flask app -> real Redis -> real `python -m worker` processes (tiny preset)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from label_studio_converter_check import assert_valid_region
from label_studio_sdk.converter.brush import decode_rle
from label_studio_stub import LEGACY_TOKEN
from rq.job import Job
from rq.registry import FinishedJobRegistry

from common.jobs import BatchResult, PredictionResult
from common.masks import decode_mask
from common.queues import ALIVE_TTL_S, SERIALIZER, QueueName, connect

pytestmark = pytest.mark.slow


def _interactive(ls_payload, image_url: str | None = None) -> dict:
    body = ls_payload("predict_interactive_request_api")
    if image_url:
        body["tasks"][0]["data"]["image"] = image_url
    return body


def _job_result(redis_url: str, job_id: str) -> PredictionResult:
    job = Job.fetch(job_id, connection=connect(redis_url), serializer=SERIALIZER)
    return PredictionResult.from_dict(job.return_value())


def test_captured_interactive_request_returns_boxes_brushes_and_polygons(workers, backend, ls_payload, redis_url):
    workers.start()
    setup = backend.post("/setup", json=ls_payload("setup_request")["body"]).json
    answer = backend.post("/predict", json=_interactive(ls_payload))
    assert answer.status_code == 200, answer.json
    (entry,) = answer.json["results"]
    assert entry["model_version"] == setup["model_version"] == "tiny-untrained"
    regions = entry["result"]
    types = {r["type"] for r in regions}
    assert types == {"rectanglelabels", "brushlabels", "polygonlabels"}, types
    for region in regions:
        assert_valid_region(region, width=640, height=480, label="Object")
    job = _job_result(redis_url, answer.json["jobs"][0]["id"])
    reference = (60.0, 80.0, 170.0, 190.0)  # the context box, 9.375% 16.667% 17.19% 22.92% of 640x480
    filled_reference = np.zeros((480, 640), bool)
    filled_reference[80:190, 60:170] = True
    instance_masks = [decode_mask(i.mask) for i in job.instances] + [filled_reference]
    brushes = [r for r in regions if r["type"] == "brushlabels"]
    for brush in brushes:
        decoded = decode_rle(brush["value"]["rle"]).reshape(480, 640, 4)[:, :, 3] > 0
        assert decoded.any() and any(np.array_equal(decoded, mask) for mask in instance_masks)
    rectangles = [r for r in regions if r["type"] == "rectanglelabels"]
    # The drawn reference comes back exactly once, as drawn (Label Studio deletes the smart region itself) ...
    (kept,) = [r for r in rectangles if r["score"] == 1.0]
    assert [kept["value"][k] * f for k, f in (("x", 6.4), ("y", 4.8), ("width", 6.4), ("height", 4.8))] == \
        pytest.approx([60, 80, 110, 110], abs=0.05)  # the payload gives percentages to two decimals
    # ... and no other suggestion duplicates it.
    for box in (r["value"] for r in rectangles if r is not kept):
        x1, y1 = box["x"] * 6.4, box["y"] * 4.8
        x2, y2 = x1 + box["width"] * 6.4, y1 + box["height"] * 4.8
        inter = max(0, min(x2, reference[2]) - max(x1, reference[0])) * max(0, min(y2, reference[3]) - max(
            y1, reference[1]))
        assert inter / ((x2 - x1) * (y2 - y1) + 110 * 110 - inter) <= 0.5


def test_second_box_on_the_same_image_is_served_from_the_feature_cache(workers, backend, ls_payload):
    if not any(child.alive() for child in workers.children):
        workers.start()
    body = _interactive(ls_payload, "/data/local-files/?d=images/c.png")
    first = backend.post("/predict", json=body).json["jobs"][0]
    body["params"]["context"]["result"][0]["value"]["x"] = 50.0  # another box, same image
    second = backend.post("/predict", json=body).json["jobs"][0]
    assert first["feature_cache_hit"] is False
    assert second["feature_cache_hit"] is True
    assert second["timings"]["encode_image_s"] < first["timings"]["encode_image_s"]
    status = backend.get(f"/jobs/{second['id']}").json
    assert status["status"] == "finished" and status["progress"] == {"stage": "done", "fraction": 1.0}
    assert status["feature_cache_hit"] is True and status["error"] is None and status["queue"] == "interactive"


def test_a_jpeg_larger_than_needed_is_decoded_smaller_and_answered_in_label_studios_size(
        workers, backend, ls_payload, redis_url):
    from common.settings import Settings

    if not any(child.alive() for child in workers.children):
        workers.start()
    answer = backend.post("/predict", json=_interactive(ls_payload, "/data/local-files/?d=images/a.jpg"))
    assert answer.status_code == 200, answer.json
    job = _job_result(redis_url, answer.json["jobs"][0]["id"])
    # tiny preset: query 128, so a long side of at least 256: the 640x480 JPEG decodes at 1/2.
    assert Settings().decode_factor * 128 == 256 and job.image_size == (240, 320)
    regions = answer.json["results"][0]["result"]
    for region in regions:
        assert_valid_region(region, width=640, height=480, label="Object")
    (kept,) = [r for r in regions if r["type"] == "rectanglelabels" and r["score"] == 1.0]
    assert [kept["value"][k] * f for k, f in (("x", 6.4), ("y", 4.8), ("width", 6.4), ("height", 4.8))] == \
        pytest.approx([60, 80, 110, 110], abs=0.05)  # the drawn box, back in Label Studio's pixels
    (kept_brush,) = [r for r in regions if r["type"] == "brushlabels" and r["score"] == 1.0]
    mask = decode_rle(kept_brush["value"]["rle"]).reshape(480, 640, 4)[:, :, 3] > 0  # Label Studio's size
    ys, xs = np.nonzero(mask)
    assert abs(xs.min() - 60) <= 2 and abs(ys.min() - 80) <= 2 and abs(xs.max() + 1 - 170) <= 2
    assert abs(ys.max() + 1 - 190) <= 2


def test_batch_predict_uses_stored_exemplars(workers, backend, ls_payload):
    if not any(child.alive() for child in workers.children):
        workers.start()
    assert backend.post("/webhook", json=ls_payload("webhook_annotation_created")).status_code == 200
    batch = ls_payload("predict_batch_request")
    batch["tasks"][1]["data"]["image"] = "/data/local-files/?d=images/c.png"
    answer = backend.post("/predict", json=batch)
    assert answer.status_code == 200
    results = answer.json["results"]
    assert len(results) == 2
    assert sum(len(entry["result"]) for entry in results) > 0
    for entry in results:
        assert entry["model_version"] == "tiny-untrained"
        for region in entry["result"]:
            assert_valid_region(region, width=640, height=480, label="Object")


def test_batch_predict_on_a_large_jpeg_decodes_it_smaller_and_answers_in_its_own_size(
        workers, backend, ls_payload, redis_url):
    if not any(child.alive() for child in workers.children):
        workers.start()
    assert backend.post("/webhook", json=ls_payload("webhook_annotation_created")).status_code == 200
    batch = ls_payload("predict_batch_request")
    batch["tasks"] = batch["tasks"][:1]
    batch["tasks"][0]["data"]["image"] = "/data/local-files/?d=images/a.jpg"
    answer = backend.post("/predict", json=batch)
    assert answer.status_code == 200, answer.json
    (entry,) = answer.json["results"]
    assert entry["result"], "the exemplar's own kind is on the image: something is found"
    for region in entry["result"]:
        assert_valid_region(region, width=640, height=480, label="Object")  # the file's size, not the decoded one
    for brush in (r for r in entry["result"] if r["type"] == "brushlabels"):
        assert decode_rle(brush["value"]["rle"]).size == 480 * 640 * 4
    connection = connect(redis_url)
    registry = FinishedJobRegistry(QueueName.BATCH.value, connection=connection, serializer=SERIALIZER)
    finished = [Job.fetch(i, connection=connection, serializer=SERIALIZER) for i in registry.get_job_ids()]
    results = [BatchResult.from_dict(job.return_value()) for job in finished]
    assert any(r.image_size == (240, 320) and r.original_size == (480, 640) for r in results)


def test_batch_jobs_past_the_budget_are_posted_to_label_studio_by_the_worker(
        workers, backend_settings, redis_url, ls_payload, ls_stub):
    from test_service_helpers import slow_image_url

    from backend.app import create_app

    if not any(child.alive() for child in workers.children):
        workers.start()
    client = create_app(backend_settings.replace(batch_budget=0.5), connect(redis_url)).test_client()
    client.post("/setup", json={"project": "1.1795295462", "hostname": ls_stub.url, "access_token": LEGACY_TOKEN})
    client.post("/webhook", json=ls_payload("webhook_annotation_created"))
    batch = ls_payload("predict_batch_request")
    batch["tasks"] = batch["tasks"][:1]
    batch["tasks"][0]["data"]["image"] = slow_image_url(ls_stub, seconds=2.0)
    started = time.monotonic()
    answer = client.post("/predict", json=batch)
    assert answer.status_code == 200 and answer.json["results"] == [[]]
    assert time.monotonic() - started < 2.0
    deadline = time.monotonic() + 30
    while not ls_stub.predictions and time.monotonic() < deadline:
        time.sleep(0.2)
    (posted,) = ls_stub.predictions
    assert posted["task"] == 1 and posted["model_version"] == "tiny-untrained"
    for region in posted["result"]:
        assert_valid_region(region, width=640, height=480, label="Object")


def test_worker_killed_mid_job_gives_a_clear_error_then_the_next_request_works(
        workers, backend_settings, redis_url, ls_payload, ls_stub):
    from test_service_helpers import slow_image_url

    from backend.app import create_app

    victim = workers.start() if not any(c.alive() for c in workers.children) else next(
        c for c in workers.children if c.alive())
    body = _interactive(ls_payload, slow_image_url(ls_stub, seconds=20.0))
    answers: list = []

    def call():
        answers.append(create_app(backend_settings, connect(redis_url)).test_client().post("/predict", json=body))

    thread = threading.Thread(target=call)
    thread.start()
    deadline = time.monotonic() + 30
    while not any(path.startswith("/slow") for _, path, _ in ls_stub.requests):
        assert time.monotonic() < deadline, "the worker never started fetching"
        time.sleep(0.05)
    victim.kill()
    killed_at = time.monotonic()
    thread.join(timeout=30)
    assert answers, "the request did not return"
    assert time.monotonic() - killed_at < ALIVE_TTL_S + 3
    assert answers[0].status_code == 503
    assert "stopped while running job" in answers[0].json["error"]
    client = create_app(backend_settings, connect(redis_url)).test_client()
    assert client.get("/metrics").json["workers"] == 0  # RQ still lists the dead worker; its alive key is gone
    workers.start()
    again = create_app(backend_settings, connect(redis_url)).test_client().post("/predict",
                                                                               json=_interactive(ls_payload))
    assert again.status_code == 200 and again.json["results"][0]["result"]


def test_an_interactive_request_carries_the_projects_exemplars(workers, backend, ls_payload, redis_url):
    """The stored exemplars of every label of the config travel with the job: the other labels' (the worker's
    model lets them claim their objects when its `detection_label_claims` is on; the tiny preset's is off) and the
    drawn label's own (they join its answer when `detection_drawn_bank` is on)."""
    if not any(child.alive() for child in workers.children):
        workers.start()
    assert backend.post("/webhook", json=ls_payload("webhook_annotation_created")).status_code == 200  # "Object"

    def ask(drawn: str) -> dict:
        body = _interactive(ls_payload)
        body["label_config"] = body["label_config"].replace(
            '<Label value="Object" background="#ff0000"/>',
            '<Label value="Object" background="#ff0000"/><Label value="Dust" background="#00ff00"/>')
        body["params"]["context"]["result"][0]["value"]["rectanglelabels"] = [drawn]
        answer = backend.post("/predict", json=body)
        assert answer.status_code == 200, answer.json
        job = Job.fetch(answer.json["jobs"][0]["id"], connection=connect(redis_url), serializer=SERIALIZER)
        return job.args[0]

    (other,) = ask("Dust")["other_labels"]
    assert other["label"] == "Object" and other["outputs"]
    assert other["exemplars"][0]["image"]["url"] == "/data/local-files/?d=images/a.png"
    assert len(other["exemplars"][0]["boxes"]) == 3
    assert ask("Dust")["drawn_label"] is None  # no accepted annotation of the drawn label yet
    drawn = ask("Object")
    assert drawn["other_labels"] == []  # the drawn label's own exemplars never claim: they join its answer
    assert drawn["drawn_label"]["label"] == "Object" and drawn["drawn_label"]["exemplars"] == other["exemplars"]
