"""The Flask application: the routes Label Studio calls, plus /jobs/<id> and /metrics.

| route | answers |
|---|---|
| `GET /health` | `{"status": "UP", "model_class", "redis": bool}`, always 200 and fast (Label Studio waits 1 s) |
| `POST /setup` | `{"model_version"}`; stores the project's hostname, token and extra params |
| `POST /predict` | `{"results": [...]}` one entry per task (`backend.predict`) |
| `POST /webhook` | 200 at once; records annotation events (`backend.webhook`) |
| `GET /versions` | `{"versions": [...], "model_version"}`; with `?project=<id>` also that project's versions |
| `POST /versions/rollback` | `{"project", "version"}`: activate an earlier version (`null`: the base model) |
| `POST /train` | `{"project", "resync": false}`: enqueue a fine-tuning job (202, `{"job_id"}`) |
| `POST /resync` | `{"project"}`: enqueue a resync of the annotation store from Label Studio's export |
| `GET /jobs/<id>` | status, progress, timings and error of any job |
| `GET /metrics` | queue depths, workers, recent job latencies, model version |

Errors are JSON `{"error": message}` with the status of the `AssistError` raised (400 bad input, 503 queue
unavailable or worker lost, 504 job timeout). Label Studio shows interactive errors to the annotator.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import redis
from flask import Flask, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from backend.auth import install_basic_auth
from backend.dispatch import JobClient, redis_errors_as_unavailable
from backend.json_provider import OrjsonProvider
from backend.label_config import parse_label_config
from backend.predict import Predictions
from backend.projects import ProjectSetup, parse_project_id
from backend.training import Learning
from backend.webhook import handle_event
from common.exceptions import AssistError, BadRequestError
from common.exemplars import ExemplarBank
from common.queues import QueueName, latency_key
from common.settings import Settings
from common.training_lock import fail_if_orphaned
from common.versions import active_version, known_versions

__all__ = ["MODEL_CLASS", "create_app"]

MODEL_CLASS = "SiameseMaskRCNN"
_HEALTH_PING_TIMEOUT_S = 0.3
_LATENCY_SAMPLES = 200
"""Recent job durations per queue kept for /metrics (workers trim the list)."""

log = logging.getLogger(__name__)


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequestError("The request body must be a JSON object (Content-Type: application/json).")
    return body


def create_app(settings: Settings, connection: redis.Redis) -> Flask:
    """Build the app.

    Args:
        settings: the process settings (read once by the caller).
        connection: redis-py client for the queues (lazy: a down Redis fails requests, not startup).
    """
    app = Flask("siamese-assist")
    app.json = OrjsonProvider(app)  # answers hold long brush RLE lists: encoded 10x faster
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes  # werkzeug refuses longer bodies with 413
    jobs = JobClient(connection, settings.redis_url)
    bank = ExemplarBank(settings.model_dir)
    predictions = Predictions(settings, jobs, bank)
    learning = Learning(settings, jobs)
    install_basic_auth(app, settings.basic_auth_user, settings.basic_auth_pass)
    health_probe = _quick_client(connection)

    @app.errorhandler(AssistError)
    def _assist_error(error: AssistError):
        log.warning("%s %s -> %s: %s", request.method, request.path, error.http_status, error)
        response = jsonify(error=str(error))
        if getattr(error, "retry_after_s", None):  # QueueFullError: "busy, retry"
            response.headers["Retry-After"] = str(error.retry_after_s)
        return response, error.http_status

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_error):
        log.warning("%s %s -> 413: body of %s bytes", request.method, request.path, request.content_length)
        return jsonify(error=f"The request body is larger than MAX_REQUEST_BYTES={settings.max_request_bytes} "
                             "bytes; send fewer tasks per request or raise MAX_REQUEST_BYTES."), 413

    @app.get("/")
    @app.get("/health")
    def health():
        try:
            redis_up = bool(health_probe.ping())
        except redis.exceptions.RedisError:
            redis_up = False
        return jsonify(status="UP", model_class=MODEL_CLASS, redis=redis_up)

    @app.post("/setup")
    def setup():
        body = _json_body()
        project_id = parse_project_id(body.get("project"))
        warnings = []
        try:
            parse_label_config(body.get("schema") or "")
        except BadRequestError as error:
            warnings.append(str(error))
        with redis_errors_as_unavailable(settings.redis_url):
            ProjectSetup.from_request(body).save(connection, project_id)
            version = active_version(connection, project_id)
        return jsonify(model_version=version, **({"warnings": warnings} if warnings else {}))

    @app.post("/predict")
    def predict():
        started = time.perf_counter()
        answer = predictions.handle(_json_body())
        log.info("/predict answered %d task(s) in %.2f s", len(answer["results"]), time.perf_counter() - started)
        return jsonify(answer)

    @app.post("/webhook")
    def webhook():
        return jsonify(handle_event(_json_body(), bank, learning)), 200

    @app.get("/versions")
    def versions():
        project = request.args.get("project")
        with redis_errors_as_unavailable(settings.redis_url):
            answer = {"versions": known_versions(connection), "model_version": active_version(connection)}
            if project:
                project_id = parse_project_id(project)
                answer |= {"model_version": active_version(connection, project_id), **learning.status(project_id)}
            return jsonify(answer)

    @app.post("/versions/rollback")
    def rollback():
        body = _json_body()
        version = body.get("version")
        if version is not None and not isinstance(version, str):
            raise BadRequestError("'version' must be a version string from GET /versions?project=<id>, or null.")
        return jsonify(learning.rollback(parse_project_id(body.get("project")), version))

    @app.post("/train")
    def train():
        body = _json_body()
        answer = learning.request_training(parse_project_id(body.get("project")), "api",
                                           resync=bool(body.get("resync", False)))
        return jsonify(answer), 202

    @app.post("/resync")
    def resync():
        project_id = parse_project_id(_json_body().get("project"))
        with redis_errors_as_unavailable(settings.redis_url):
            ls_url, _ = ProjectSetup.load(connection, project_id).label_studio(settings)
        if not ls_url:
            raise BadRequestError("Label Studio's URL is unknown for this project: connect the model in Label Studio "
                                  "(it calls /setup) or set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY.")
        return jsonify(learning.request_training(project_id, "resync", resync=True, train=False)), 202

    @app.get("/jobs/<job_id>")
    def job_status(job_id: str):
        job = jobs.fetch(job_id)
        if job is None:
            return jsonify(error=f"No job {job_id!r} (unknown, or its result expired after RESULT_TTL)."), 404
        with redis_errors_as_unavailable(settings.redis_url):
            fail_if_orphaned(job)  # started, but its worker is gone: failed with that reason, not 'started' forever
            status = job.get_status(refresh=True)
            result = job.latest_result()
        error = (result.exc_string or "").strip().splitlines() if result is not None else []
        return jsonify(
            id=job.id, status=str(status.value if status else None), queue=job.origin,
            description=job.description, progress=job.meta.get("progress"),
            feature_cache_hit=job.meta.get("feature_cache_hit"), timings=job.meta.get("timings"),
            enqueued_at=_iso(job.enqueued_at), started_at=_iso(job.started_at), ended_at=_iso(job.ended_at),
            worker=job.worker_name, error=error[-1] if error else None,
            **_training_outcome(job, result),
        )

    @app.get("/metrics")
    def metrics():
        with redis_errors_as_unavailable(settings.redis_url):
            latencies = {}
            for name in QueueName:
                samples = [float(v) for v in connection.lrange(latency_key(name), 0, _LATENCY_SAMPLES - 1)]
                latencies[name.value] = _summary(samples)
            return jsonify(
                model_version=active_version(connection), queues=jobs.queue_depths(),
                workers=jobs.living_workers(), job_latency_s=latencies,
            )

    return app


def _quick_client(connection: redis.Redis) -> redis.Redis:
    """A client to the same Redis with short timeouts, so /health answers within Label Studio's 1 s."""
    pool = connection.connection_pool
    kwargs = dict(pool.connection_kwargs, socket_timeout=_HEALTH_PING_TIMEOUT_S,
                  socket_connect_timeout=_HEALTH_PING_TIMEOUT_S)
    return redis.Redis(connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs))


def _training_outcome(job, result) -> dict:
    """A finished training job's summary (new version, metrics, activation decision) for /jobs/<id>."""
    if job.origin != QueueName.TRAINING.value or result is None or result.type != result.Type.SUCCESSFUL:
        return {}
    return {"result": result.return_value}


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def _summary(samples: list[float]) -> dict:
    if not samples:
        return {"count": 0}
    values = np.asarray(samples)
    return {"count": int(values.size), "mean": round(float(values.mean()), 4),
            "p50": round(float(np.percentile(values, 50)), 4), "p95": round(float(np.percentile(values, 95)), 4),
            "max": round(float(values.max()), 4)}
