"""Queue depth is bounded: past MAX_QUEUED_INTERACTIVE / MAX_QUEUED_BATCH the backend answers 503 "busy, retry"
with Retry-After, and a refused batch enqueues nothing (no half batch that no one would collect or post).

Real Redis, the real app, no worker: queued jobs stay queued, so the depth is exact.
"""

from __future__ import annotations

from backend.predict import BATCH_RETRY_AFTER_S, INTERACTIVE_JOB, INTERACTIVE_RETRY_AFTER_S
from common.queues import QueueName, make_queue

BOUND = 3


def _fill(redis_conn, name: QueueName, count: int) -> None:
    queue = make_queue(name, redis_conn)
    for _ in range(count):
        queue.enqueue_call(INTERACTIVE_JOB, args=({},), description="filler")


def test_interactive_past_the_bound_is_503_busy_with_retry_after(make_client, redis_conn, ls_payload):
    client = make_client(max_queued_interactive=BOUND)
    _fill(redis_conn, QueueName.INTERACTIVE, BOUND)
    answer = client.post("/predict", json=ls_payload("predict_interactive_request_api"))
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == str(INTERACTIVE_RETRY_AFTER_S)
    assert answer.json["error"].startswith("Busy: the interactive queue holds 3 job(s) and takes at most 3")
    assert make_queue(QueueName.INTERACTIVE, redis_conn).count == BOUND  # nothing was added

    make_queue(QueueName.INTERACTIVE, redis_conn).pop_job_id()  # one slot frees up
    answer = client.post("/predict", json=ls_payload("predict_interactive_request_api"))
    assert answer.status_code == 504  # accepted, then no worker answered within INTERACTIVE_TIMEOUT
    assert "Retry-After" not in answer.headers
    assert client.get("/health").status_code == 200


def test_zero_means_no_bound(make_client, redis_conn, ls_payload):
    client = make_client(max_queued_interactive=0)
    _fill(redis_conn, QueueName.INTERACTIVE, 20)
    assert client.post("/predict", json=ls_payload("predict_interactive_request_api")).status_code == 504


def test_a_batch_that_would_overflow_is_refused_whole(make_client, redis_conn, ls_payload):
    client = make_client(max_queued_batch=BOUND)
    assert client.post("/webhook", json=ls_payload("webhook_annotation_created")).status_code == 200  # exemplars
    batch = ls_payload("predict_batch_request")
    assert len(batch["tasks"]) == 2
    _fill(redis_conn, QueueName.BATCH, BOUND - 1)
    answer = client.post("/predict", json=batch)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == str(BATCH_RETRY_AFTER_S)
    assert "this request needs 2" in answer.json["error"]
    assert make_queue(QueueName.BATCH, redis_conn).count == BOUND - 1  # none of the two tasks was enqueued

    make_queue(QueueName.BATCH, redis_conn).pop_job_id()
    answer = client.post("/predict", json=batch)
    assert answer.status_code == 200 and len(answer.json["results"]) == 2
    assert make_queue(QueueName.BATCH, redis_conn).count == BOUND  # both queued: a worker will post them


def test_a_batch_with_one_bad_task_enqueues_nothing(make_client, redis_conn, ls_payload):
    client = make_client()
    assert client.post("/webhook", json=ls_payload("webhook_annotation_created")).status_code == 200
    batch = ls_payload("predict_batch_request")
    batch["tasks"][1]["data"].pop("image")  # the second task is unusable
    answer = client.post("/predict", json=batch)
    assert answer.status_code == 400 and "no image URL" in answer.json["error"]
    assert make_queue(QueueName.BATCH, redis_conn).count == 0  # the first, good task was not enqueued either
