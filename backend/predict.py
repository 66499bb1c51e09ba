"""/predict: interactive "draw one, get all" and batch pre-annotation, in Label Studio's terms.

Interactive (`params.context` present): one task; the reference comes from the context (`common.region_boxes`),
an `interactive` job finds the instances, the answer is `{"results": [{"result", "score", "model_version"}]}`.

Batch (no context): one `batch` job per task that has exemplars for some label of its project. The request
collects results for `BATCH_BUDGET` seconds (Label Studio gives up at 100 s). For every job still running at the
deadline, the backend hands delivery to the worker, atomically: both sides try `SET delivery:<job> NX`; the
worker writes "backend" when it finishes first, the backend writes "post" when it gives up first, and whoever
loses reads the winner's value. A task whose prediction is not in the answer gets an empty list (no prediction
now; the worker posts it to `/api/predictions` later).
"""

from __future__ import annotations

import logging
import time

from backend.dispatch import JobClient, redis_errors_as_unavailable
from backend.label_config import ProjectConfig, parse_label_config
from backend.projects import ProjectSetup, parse_project_id, resolve_thresholds
from common.exceptions import AssistError, BadRequestError, JobTimeoutError
from common.exemplars import ExemplarBank
from common.jobs import (
    BatchRequest,
    BatchResult,
    Exemplar,
    ImageSource,
    InteractiveRequest,
    LabelExemplars,
    PredictionResult,
)
from common.queues import QueueName, delivery_key
from common.region_boxes import select_reference
from common.regions import drop_overlapping, instances_to_regions, keep_references, prediction_entry
from common.settings import Settings
from common.versions import active_version

__all__ = ["INTERACTIVE_JOB", "BATCH_JOB", "Predictions"]

INTERACTIVE_JOB = "worker.jobs.interactive_job"
BATCH_JOB = "worker.jobs.batch_job"

DELIVERY_BACKEND = "backend"
DELIVERY_POST = "post"
INTERACTIVE_RETRY_AFTER_S = 2
"""Retry-After of a 'busy' interactive answer: an interactive job takes about a second."""
BATCH_RETRY_AFTER_S = 30
"""Retry-After of a 'busy' batch answer: the batch queue drains in minutes, not seconds."""
_LATE_RESULT_WAIT_S = 5.0
"""After losing the delivery race the worker is already returning; wait at most this long for its result."""

log = logging.getLogger(__name__)


def _task_image_url(task: dict, config: ProjectConfig) -> str:
    data = task.get("data") if isinstance(task, dict) else None
    url = (data or {}).get(config.image_key)
    if not isinstance(url, str) or not url:
        raise BadRequestError(
            f"Task {task.get('id') if isinstance(task, dict) else task!r} has no image URL in "
            f"data.{config.image_key} (the label config reads value=\"${config.image_key}\")."
        )
    return url


def _task_id(task: dict) -> int:
    task_id = task.get("id")
    if not isinstance(task_id, int) or isinstance(task_id, bool):
        raise BadRequestError(f"Every task needs an integer 'id'; got {task_id!r}.")
    return task_id


class Predictions:
    """Serve /predict bodies.

    Args:
        settings: the process settings.
        jobs: the queue client.
        bank: the exemplar store.
    """

    def __init__(self, settings: Settings, jobs: JobClient, bank: ExemplarBank):
        self.settings = settings
        self.jobs = jobs
        self.bank = bank

    def handle(self, body: dict) -> dict:
        """Answer a /predict body (interactive when `params.context` is set, batch otherwise)."""
        tasks = body.get("tasks")
        if not isinstance(tasks, list) or not tasks or not all(isinstance(t, dict) for t in tasks):
            raise BadRequestError("The body needs a non-empty 'tasks' list of task objects.")
        config = parse_label_config(body.get("label_config") or "")
        project_id = parse_project_id(body.get("project"))
        with redis_errors_as_unavailable(self.jobs.redis_url):
            setup = ProjectSetup.load(self.jobs.connection, project_id)
        params = body.get("params") or {}
        context = params.get("context") if isinstance(params, dict) else None
        if context:
            if len(tasks) != 1:
                raise BadRequestError(f"An interactive request must carry exactly one task, got {len(tasks)}.")
            entry, job = self.interactive(project_id, tasks[0], context, config, setup)
            # Label Studio ignores extra top-level keys; `jobs` lets operators and tests find the job.
            return {"results": [entry], "model_version": entry["model_version"], "jobs": [job]}
        return {"results": self.batch(project_id, tasks, config, setup)}

    def _image(self, url: str, task_id: int | None, setup: ProjectSetup) -> ImageSource:
        ls_url, token = setup.label_studio(self.settings)
        return ImageSource(url=url, ls_url=ls_url, ls_token=token, task_id=task_id)

    def _label_exemplars(self, label: str, items: list[dict], config: ProjectConfig,
                         setup: ProjectSetup) -> LabelExemplars:
        """One label's stored exemplars (`ExemplarBank.exemplars_for` items) as a job's `LabelExemplars`."""
        return LabelExemplars(label=label, outputs=config.outputs_for_label(label), exemplars=tuple(
            Exemplar(image=self._image(item["image_url"], item["task_id"], setup),
                     boxes=tuple(tuple(b) for b in item["boxes"]))
            for item in items))

    def _project_labels(self, project_id: int, drawn: str, config: ProjectConfig,
                        setup: ProjectSetup) -> tuple[LabelExemplars | None, tuple[LabelExemplars, ...]]:
        """`(the drawn label's exemplars or None, the other labels')`, of the labels the label config still has.
        The other labels claim their objects in the drawn box's answer and the drawn label's own join it (the
        worker uses them when the model's `detection_label_claims` / `detection_drawn_bank` /
        `detection_label_vote` is on)."""
        exemplars = {label: self._label_exemplars(label, items, config, setup)
                     for label, items in self.bank.exemplars_for(project_id).items()
                     if config.outputs_for_label(label)}
        own = exemplars.pop(drawn, None)
        return own, tuple(exemplars.values())

    def interactive(self, project_id: int, task: dict, context: dict, config: ProjectConfig,
                    setup: ProjectSetup) -> tuple[dict, dict]:
        """`(prediction entry, job info {"id", "feature_cache_hit", "timings"})` for one smart region."""
        reference = select_reference(context)
        outputs = config.outputs_for_label(reference.label)
        if not outputs:
            raise BadRequestError(f"No RectangleLabels/BrushLabels/PolygonLabels control has label "
                                  f"{reference.label!r}; add it to the label config.")
        own, others = self._project_labels(project_id, reference.label, config, setup)
        request = InteractiveRequest(
            project_id=project_id,
            image=self._image(_task_image_url(task, config), task.get("id"), setup),
            reference_boxes=reference.boxes,
            thresholds=resolve_thresholds(self.settings, setup.extra_params),
            expected_size=reference.original_size,
            other_labels=others,
            drawn_label=own,
        )
        self.jobs.ensure_room(QueueName.INTERACTIVE, 1, self.settings.max_queued_interactive,
                              INTERACTIVE_RETRY_AFTER_S)
        job = self.jobs.enqueue(
            QueueName.INTERACTIVE, INTERACTIVE_JOB, request.to_dict(),
            job_timeout=self.settings.job_timeout, result_ttl=self.settings.result_ttl,
            description=f"interactive project={project_id} task={task.get('id')}",
        )
        result = PredictionResult.from_dict(self.jobs.wait(job, self.settings.interactive_timeout))
        scale_x = result.image_size[1] / reference.original_size[1]
        scale_y = result.image_size[0] / reference.original_size[0]
        def scaled(b):
            return (b[0] * scale_x, b[1] * scale_y, b[2] * scale_x, b[3] * scale_y)

        drawn = [scaled(b) for b in reference.boxes]
        others = [scaled(b) for b in reference.existing if b not in reference.boxes]
        # Found instances that are the reference objects, or regions already on the canvas, are not new; the
        # reference objects come back as regions of their own (Label Studio deletes the drawn smart regions).
        instances = drop_overlapping(drop_overlapping(list(result.instances), others), drawn)
        instances = keep_references(list(result.instances), drawn, result.image_size) + instances
        regions = instances_to_regions(instances, outputs, reference.label, result.image_size,
                                       reference.original_size, self.settings.polygon_tolerance)
        log.info("interactive project=%s task=%s job=%s: %d instances (%d after dropping existing), cache hit=%s",
                 project_id, task.get("id"), job.id, len(result.instances), len(instances),
                 result.feature_cache_hit)
        info = {"id": job.id, "feature_cache_hit": result.feature_cache_hit, "timings": result.timings}
        return prediction_entry(regions, [i.score for i in instances], result.model_version), info

    def batch(self, project_id: int, tasks: list[dict], config: ProjectConfig, setup: ProjectSetup) -> list:
        deadline = time.monotonic() + self.settings.batch_budget
        exemplars = self.bank.exemplars_for(project_id)
        labels = [label for label in exemplars if config.outputs_for_label(label)]
        results: list = [[] for _ in tasks]
        if not labels:
            log.info("batch project=%s: no exemplars yet; submit annotations first", project_id)
            return results
        thresholds = resolve_thresholds(self.settings, setup.extra_params)
        # all or nothing: a half-enqueued batch would leave jobs no one collects or posts
        for task in tasks:  # a bad task is refused before any job is enqueued
            _task_id(task)
            _task_image_url(task, config)
        self.jobs.ensure_room(QueueName.BATCH, len(tasks), self.settings.max_queued_batch, BATCH_RETRY_AFTER_S)
        pending = []
        for index, task in enumerate(tasks):
            task_id = _task_id(task)
            request = BatchRequest(
                project_id=project_id, task_id=task_id,
                image=self._image(_task_image_url(task, config), task_id, setup),
                labels=tuple(self._label_exemplars(label, exemplars[label], config, setup) for label in labels),
                thresholds=thresholds,
                polygon_tolerance=self.settings.polygon_tolerance,
            )
            job = self.jobs.enqueue(
                QueueName.BATCH, BATCH_JOB, request.to_dict(), job_timeout=self.settings.job_timeout,
                result_ttl=self.settings.result_ttl, description=f"batch project={project_id} task={task_id}",
            )
            pending.append((index, job))
        with redis_errors_as_unavailable(self.jobs.redis_url):
            version = active_version(self.jobs.connection, project_id)
        for index, job in pending:
            entry = self._collect(job, deadline, config, version)
            if entry is not None:
                results[index] = entry
        return results

    def _collect(self, job, deadline: float, config: ProjectConfig, version: str) -> dict | None:
        """The prediction of one batch job, or None when the worker will post it later."""
        try:
            value = self.jobs.wait(job, max(0.0, deadline - time.monotonic()), cancel_on_timeout=False)
        except JobTimeoutError:
            connection = self.jobs.connection
            claimed = connection.set(delivery_key(job.id), DELIVERY_POST, nx=True, ex=self.settings.result_ttl)
            if claimed:
                log.info("batch job %s still running at the deadline: the worker will post it", job.id)
                return None
            try:
                value = self.jobs.wait(job, _LATE_RESULT_WAIT_S, cancel_on_timeout=False)
            except AssistError as error:
                log.warning("batch job %s finished but its result is unavailable: %s", job.id, error)
                return None
        except AssistError as error:
            log.warning("batch job %s failed: %s", job.id, error)
            return None
        result = BatchResult.from_dict(value)
        regions, scores = [], []
        for label, instances in result.instances.items():
            regions += instances_to_regions(list(instances), config.outputs_for_label(label), label,
                                            result.image_size, result.label_studio_size,
                                            self.settings.polygon_tolerance)
            scores += [i.score for i in instances]
        return prediction_entry(regions, scores, result.model_version or version)
