"""Webhook sequences through the real Flask app and Redis: the store ends exactly right, training is triggered."""

from __future__ import annotations

import time

from learning_helpers import annotation_event, rectangle, stamp, tile_result
from rq.job import Job

from common.annotation_store import ACCEPTED, CANCELLED, DELETED, AnnotationStore
from common.queues import SERIALIZER, QueueName, make_queue
from common.training_lock import TrainingLock


def _post(client, body: dict) -> dict:
    started = time.perf_counter()
    answer = client.post("/webhook", json=body)
    assert answer.status_code == 200, answer.json
    assert time.perf_counter() - started < 1.0  # Label Studio waits 1 s, once (typically ~20 ms here)
    return answer.json


def _store_state(settings) -> dict:
    return {a.id: (a.state, a.task_id, len(a.result)) for a in AnnotationStore(settings.model_dir).annotations(
        1, state=None)}


def test_create_update_delete_duplicates_and_out_of_order(client, settings):
    one, two = tile_result(0), tile_result(1)[:2]
    created = annotation_event("ANNOTATION_CREATED", 10, 100, one, stamp(1))
    updated = annotation_event("ANNOTATION_UPDATED", 10, 100, two, stamp(5))
    other = annotation_event("ANNOTATION_CREATED", 11, 101, one, stamp(2))
    _post(client, created)
    _post(client, created)  # duplicate delivery
    _post(client, updated)
    assert _post(client, created)["store"] == "stale"  # the create replayed after the update
    _post(client, other)
    assert _store_state(settings) == {10: (ACCEPTED, 100, 2), 11: (ACCEPTED, 101, 3)}
    # the exemplar bank follows: the stale replay did not bring back three boxes
    from common.exemplars import ExemplarBank

    per_annotation = {e["task_id"]: len(e["boxes"]) for e in ExemplarBank(settings.model_dir).exemplars_for(1)["Tile"]}
    assert per_annotation == {100: 2, 101: 3}

    deleted = {"action": "ANNOTATIONS_DELETED", "project": {"id": 1}, "annotations": [{"id": 11}]}
    _post(client, deleted)
    _post(client, deleted)
    _post(client, annotation_event("ANNOTATION_UPDATED", 11, 101, one, stamp(9)))  # late update of a deleted one
    assert _store_state(settings) == {10: (ACCEPTED, 100, 2), 11: (DELETED, 101, 0)}
    assert [e["task_id"] for e in ExemplarBank(settings.model_dir).exemplars_for(1)["Tile"]] == [100]


def test_delete_delivered_before_create_and_task_deletion(client, settings):
    _post(client, {"action": "ANNOTATIONS_DELETED", "project": {"id": 1}, "annotations": [{"id": 20}]})
    assert _post(client, annotation_event("ANNOTATION_CREATED", 20, 200, tile_result(0), stamp(1)))["store"] == "deleted"
    _post(client, annotation_event("ANNOTATION_CREATED", 21, 201, tile_result(0), stamp(1)))
    _post(client, annotation_event("ANNOTATION_CREATED", 22, 202, tile_result(1), stamp(1)))
    answer = _post(client, {"action": "TASKS_DELETED", "project": {"id": 1}, "tasks": [{"id": 201}]})
    assert answer["removed"] == 1
    assert _store_state(settings) == {20: (DELETED, 0, 0), 21: (DELETED, 201, 0), 22: (ACCEPTED, 202, 3)}


def test_skipped_annotations_are_stored_as_cancelled_and_never_used(client, settings):
    _post(client, annotation_event("ANNOTATION_CREATED", 30, 300, [], stamp(1), was_cancelled=True))
    _post(client, annotation_event("ANNOTATION_CREATED", 31, 301, [rectangle(5, 5, 30, 30)], stamp(1)))
    assert _store_state(settings) == {30: (CANCELLED, 300, 0), 31: (ACCEPTED, 301, 1)}
    assert [a.id for a in AnnotationStore(settings.model_dir).annotations(1)] == [31]


def test_start_training_enqueues_one_training_job_and_triggers_debounce(client, settings, redis_conn, ls_payload):
    first = _post(client, ls_payload("webhook_start_training"))["training"]
    assert first["status"] == "queued"
    job = Job.fetch(first["job_id"], connection=redis_conn, serializer=SERIALIZER)
    assert job.origin == QueueName.TRAINING.value and job.func_name == "worker.training.training_job"
    assert job.args[0]["trigger"] == "start_training" and job.args[0]["project_id"] == 1
    again = client.post("/train", json={"project": 1})
    assert again.status_code == 202 and again.json == {"job_id": first["job_id"], "status": "already queued"}
    assert make_queue(QueueName.TRAINING, redis_conn).count == 1
    status = client.get(f"/jobs/{first['job_id']}").json
    assert status["status"] == "queued" and status["queue"] == "training"


def test_automatic_training_after_n_new_accepted_annotations(settings, redis_conn):
    from backend.app import create_app

    client = create_app(settings.replace(train_every=3), redis_conn).test_client()
    for i in range(2):
        assert "training_job" not in _post(client, annotation_event("ANNOTATION_CREATED", 40 + i, 400 + i,
                                                                     tile_result(i), stamp(1)))
    _post(client, annotation_event("ANNOTATION_CREATED", 49, 409, [], stamp(1), was_cancelled=True))  # not counted
    third = _post(client, annotation_event("ANNOTATION_CREATED", 42, 402, tile_result(2), stamp(1)))
    assert third["training_job"]["status"] == "queued"
    fourth = _post(client, annotation_event("ANNOTATION_CREATED", 43, 403, tile_result(3), stamp(1)))
    assert fourth["training_job"]["status"] == "already queued"  # debounced while the first one waits
    job = Job.fetch(third["training_job"]["job_id"], connection=redis_conn, serializer=SERIALIZER)
    assert job.args[0]["trigger"] == "auto" and make_queue(QueueName.TRAINING, redis_conn).count == 1
    versions = client.get("/versions?project=1").json
    assert versions["annotations"] == {"accepted": 4, "cancelled": 1, "deleted": 0}
    assert versions["queued_job"] == job.id and versions["versions"] == [] and versions["active_version"] is None


def test_train_while_a_job_holds_the_lock_of_a_dead_worker_reaps_it(client, redis_conn):
    queued = client.post("/train", json={"project": 2}).json
    job = Job.fetch(queued["job_id"], connection=redis_conn, serializer=SERIALIZER)
    # simulate: a worker took the job, holds the lock, then was killed (no alive key)
    from rq.job import JobStatus

    job.set_status(JobStatus.STARTED)
    job.worker_name = "gone-worker"
    job.save()
    redis_conn.delete("siamese-assist:project:2:training-queued")
    assert TrainingLock(redis_conn, 2).acquire(job.id)
    status = client.get(f"/jobs/{job.id}").json
    assert status["status"] == "failed" and "gone-worker stopped" in status["error"]
    assert "active version is unchanged" in status["error"]
    again = client.post("/train", json={"project": 2}).json
    assert again["status"] == "queued" and again["job_id"] != job.id
    assert TrainingLock(redis_conn, 2).holder() is None


def test_rollback_to_unknown_version_is_refused_with_the_known_ones(client):
    answer = client.post("/versions/rollback", json={"project": 1, "version": "project-1-v7"})
    assert answer.status_code == 400 and "known versions: none yet" in answer.json["error"]
    assert client.post("/versions/rollback", json={"project": 1, "version": None}).json == {
        "project": 1, "active_version": None}


def test_resync_needs_label_studio_url(client):
    answer = client.post("/resync", json={"project": 1})
    assert answer.status_code == 400 and "LABEL_STUDIO_URL" in answer.json["error"]


def test_the_task_clip_named_in_its_data_is_stored_with_the_annotation(client, settings):
    named = annotation_event("ANNOTATION_CREATED", 30, 300, tile_result(0), stamp(1))
    named["task"]["data"]["video_id"] = 17
    _post(client, named)
    _post(client, annotation_event("ANNOTATION_CREATED", 31, 301, tile_result(1), stamp(1)))
    cancelled = annotation_event("ANNOTATION_CREATED", 32, 302, tile_result(1), stamp(1), was_cancelled=True)
    cancelled["task"]["data"]["video"] = "run-2"
    _post(client, cancelled)
    stored = AnnotationStore(settings.model_dir).annotations(1, state=None)
    assert {a.id: (a.state, a.group) for a in stored} == {30: (ACCEPTED, "17"), 31: (ACCEPTED, ""),
                                                          32: (CANCELLED, "run-2")}
