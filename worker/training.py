"""The training job: fine-tune a project's active model on its accepted annotations, as a new immutable version.

`training_job(TrainingRequest dict) -> dict`, on the `training` queue:

1. take the project's training lock (one training job per project; a second one returns "skipped");
2. with `resync`, pull Label Studio's export into the annotation store and rebuild the exemplar bank;
3. build the dataset from the store, fetching every task image through the worker's fetcher;
4. `model.training.finetune` (the recipe `python -m model finetune` runs too) from the active version (or the base
   model) into `MODEL_DIR/projects/<id>/versions/project-<id>-v<k>.weights.h5` + card (temporary names, renamed;
   card last), its score threshold calibrated on the held-out slice and stored in its config;
5. activate it when `TRAIN_ACTIVATION` allows (by default: its held-out effort is not higher than its parent's),
   record the decision in its card, prune old versions (`VERSION_RETENTION`).

Progress (`stage`, `step`, `max_steps`, `loss`, `eta_s`, `fraction`) is in `job.meta["progress"]`, visible at
`/jobs/<id>`. If the worker dies, nothing was activated (activation is the last step, after the complete
checkpoint is on disk) and `/jobs/<id>` reports the job failed with that reason.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
import uuid
from pathlib import Path

from rq import get_current_job

from common.annotation_store import TRAINED_SEQ_META, AnnotationStore, StoredAnnotation
from common.exceptions import AssistError, BadRequestError
from common.exemplars import ExemplarBank
from common.jobs import ImageSource, TrainingRequest
from common.queues import connect, training_queued_key
from common.settings import Settings
from common.training_lock import TrainingLock
from worker import runtime
from worker.ls_client import LabelStudioClient
from worker.models import ProjectModels, base_checkpoint, project_models
from worker.project_dataset import build_dataset
from worker.resync import resync_project

__all__ = ["training_job"]

log = logging.getLogger(__name__)


class _Progress:
    """Writes `job.meta["progress"]` (no-op outside an RQ job)."""

    def __init__(self, max_steps: int, time_budget_s: float):
        self.job = get_current_job()
        self.max_steps = max_steps
        self.time_budget_s = time_budget_s
        self.train_started: float | None = None

    def stage(self, stage: str, fraction: float, **extra) -> None:
        if self.job is None:
            return
        self.job.meta["progress"] = {"stage": stage, "fraction": round(fraction, 3), **extra}
        self.job.save_meta()

    def step(self, log_entry) -> None:
        """`on_progress` of `finetune`: a `StepLog` every few steps."""
        if self.train_started is None:
            self.train_started = time.monotonic() - log_entry.seconds
        per_step = log_entry.seconds / max(1, log_entry.step)
        remaining_steps = max(0, self.max_steps - log_entry.step)
        eta = min(per_step * remaining_steps, max(0.0, self.time_budget_s - log_entry.seconds))
        done = log_entry.step >= self.max_steps or log_entry.seconds >= self.time_budget_s
        self.stage("evaluating the new version" if done else "training",
                   0.2 + 0.7 * min(1.0, log_entry.step / self.max_steps),
                   step=log_entry.step, max_steps=self.max_steps, loss=round(float(log_entry.total), 4),
                   eta_s=round(eta, 1))


def _finetune_settings(settings: Settings):
    from model.training.finetune import FineTuneSettings

    return FineTuneSettings(
        max_steps=settings.train_max_steps, time_budget_s=settings.train_time_budget,
        learning_rate=settings.train_learning_rate, layers=settings.train_layers,
        holdout_fraction=settings.train_holdout_fraction, parent_share=settings.train_parent_share,
        average_tail=settings.train_average_tail, runs=settings.train_runs,
        shifted_calibration=settings.train_shifted_calibration, tie_break=settings.train_tie_break,
        acquisition_shift=settings.train_acquisition_shift, refit=settings.train_refit,
        drawn_bank=settings.train_drawn_bank,
    )


def _decide(result, settings: Settings) -> tuple[bool, str]:
    """Whether the new version becomes active, and why (written in its card): with TRAIN_ACTIVATION=if-not-worse,
    the recipe's effort gate (a child whose held-out effort is higher than its parent's is refused)."""
    if settings.train_activation == "always":
        return True, "TRAIN_ACTIVATION=always"
    if settings.train_activation == "never":
        return False, "TRAIN_ACTIVATION=never: activate it with POST /versions/rollback"
    return result.effort_gate(tolerance=settings.train_activation_tolerance)


def _json_safe(value):
    """Numpy scalars in metrics -> plain floats (jobs return JSON)."""
    return json.loads(json.dumps(value, default=float))


def training_job(payload: dict) -> dict:
    """Resync and/or fine-tune one project (see module doc). Returns a JSON summary."""
    request = TrainingRequest.from_dict(payload)
    rt = runtime.current()
    job = get_current_job()
    connection = job.connection if job is not None else connect(rt.settings.redis_url)
    job_id = job.id if job is not None else f"local-{uuid.uuid4().hex}"
    if job is not None and (connection.get(training_queued_key(request.project_id)) or b"").decode() == job_id:
        connection.delete(training_queued_key(request.project_id))  # new triggers may queue the next run now
    lock = TrainingLock(connection, request.project_id)
    if not lock.acquire(job_id):
        return {"status": "skipped", "project_id": request.project_id,
                "reason": f"training job {lock.holder()} is already running for this project"}
    try:
        return _run(request, rt, project_models(rt))
    finally:
        lock.release()


def _run(request: TrainingRequest, rt: runtime.Runtime, models: ProjectModels) -> dict:
    settings = rt.settings
    project_id = request.project_id
    store, bank, registry = AnnotationStore(settings.model_dir), ExemplarBank(settings.model_dir), models.registry
    runs = 2 if settings.train_refit else 1  # with TRAIN_REFIT a second run follows (progress counts both)
    progress = _Progress(runs * settings.train_max_steps, runs * settings.train_time_budget)
    summary: dict = {"status": "done", "project_id": project_id, "trigger": request.trigger}

    if request.resync:
        progress.stage("resynchronising from Label Studio", 0.0)
        try:
            client = LabelStudioClient(settings.label_studio_url or request.ls_url, settings.label_studio_api_key
                                       or request.ls_token)
            summary["resync"] = resync_project(store, bank, client, project_id, request.image_key)
        except AssistError as error:
            if not request.train:
                raise
            summary["resync_error"] = str(error)  # train on what the webhooks recorded; say so in the result
            log.warning("project %s: resync failed, training on the stored annotations: %s", project_id, error)
    if not request.train:
        progress.stage("done", 1.0)
        return summary

    store.set_meta(project_id, TRAINED_SEQ_META, store.last_seq(project_id))
    annotations = store.annotations(project_id)
    if not annotations:
        raise BadRequestError(f"Project {project_id} has no accepted annotation yet: submit some, then train.")
    parent_version = registry.active(project_id)
    parent_path = registry.weights_path(project_id, parent_version) if parent_version else base_checkpoint(models)

    def load(item: StoredAnnotation):
        source = ImageSource(url=item.image_url, ls_url=request.ls_url, ls_token=request.ls_token,
                             task_id=item.task_id)
        return rt.load_image(source)[1]

    from model.checkpoint import read_card, write_card
    from model.training.finetune import finetune

    with tempfile.TemporaryDirectory(prefix=f"train-{project_id}-") as scratch:
        dataset, skipped = build_dataset(
            annotations, load, Path(scratch),
            lambda done, total: progress.stage("fetching images", 0.2 * done / total, images=f"{done}/{total}"))
        summary["skipped_tasks"] = skipped
        if not any(image.instances for image in dataset.images):
            raise BadRequestError(f"None of project {project_id}'s {len(annotations)} accepted annotations could be "
                                  f"used: {skipped[:3]}")
        version = registry.next_version(project_id)
        progress.stage("evaluating the parent", 0.2, version=version)
        result = finetune(parent_path, dataset, registry.weights_path(project_id, version), version,
                          _finetune_settings(settings), on_progress=progress.step, answer_settings=settings)

    activate, reason = _decide(result, settings)
    card = read_card(result.weights_path)
    card.training["activation"] = {"activated": activate, "reason": reason, "trigger": request.trigger,
                                   "skipped_tasks": len(skipped)}
    write_card(result.weights_path, card)
    if activate:
        registry.activate(project_id, version, reason=f"fine-tuned ({request.trigger}): {reason}")
    pruned = registry.prune(project_id, settings.version_retention)
    log.info("project %s: version %s from %s, %s (%s)", project_id, version, card.parent,
             "activated" if activate else "kept inactive", reason)
    progress.stage("done", 1.0, version=version)
    return summary | {
        "version": version, "parent": card.parent, "activated": activate, "reason": reason,
        "active_version": registry.active(project_id) or models.base.version, "metrics": _json_safe(result.metrics),
        "steps": result.steps, "seconds": round(result.seconds, 1), "train_images": result.train_images,
        "holdout_images": result.holdout_images, "pruned": pruned,
    }
