"""The backend's side of learning from accepted labels: record annotations, trigger training, versions.

- `record`/`delete`/`delete_tasks`: the webhook's writes into the annotation store (`common.annotation_store`).
- `request_training`: enqueue one `training` job for a project (Label Studio's Train button, `POST /train`,
  `POST /resync`, or automatically after `TRAIN_EVERY` new accepted annotations). Debounced: while a project's
  training job waits in the queue, further triggers return that job instead of queueing another; the job itself
  takes the project's training lock, so two never run at once.
- `status`, `rollback`: what `/versions` and `/versions/rollback` serve.
"""

from __future__ import annotations

import logging

import redis
from rq.job import JobStatus

from backend.dispatch import JobClient, redis_errors_as_unavailable
from backend.projects import ProjectSetup
from common.annotation_store import IMAGE_KEY_META, TRAINED_SEQ_META, AnnotationStore
from common.exceptions import BadRequestError
from common.jobs import TrainingRequest
from common.model_registry import ModelRegistry, VersionNotFoundError
from common.queues import QueueName, training_queued_key
from common.settings import Settings
from common.training_lock import TrainingLock, fail_if_orphaned

__all__ = ["TRAINING_JOB", "Learning"]

TRAINING_JOB = "worker.training.training_job"
_PENDING = "pending"
_WAITING_STATES = (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED)

log = logging.getLogger(__name__)


class Learning:
    """Annotation store writes, training triggers and version control for the backend.

    Args:
        settings: process settings.
        jobs: the queue client.
    """

    def __init__(self, settings: Settings, jobs: JobClient):
        self.settings = settings
        self.jobs = jobs
        self.connection: redis.Redis = jobs.connection
        self.store = AnnotationStore(settings.model_dir)
        self.registry = ModelRegistry(settings.model_dir, jobs.connection)

    # --- webhook writes ----------------------------------------------------------------------------------------

    def record(self, project_id: int, annotation: dict, task_id: int, image_url: str, image_key: str | None,
               group: str | None = None) -> dict:
        """Store a created/updated annotation (with its task's `group`, `common.image_groups`); may enqueue an
        automatic training job. Returns a status dict."""
        outcome = self.store.record(project_id, annotation, task_id, image_url, group=group)
        if image_key and self.store.get_meta(project_id, IMAGE_KEY_META) != image_key:
            self.store.set_meta(project_id, IMAGE_KEY_META, image_key)
        status = {"store": outcome}
        if outcome == "stored" and not annotation.get("was_cancelled"):
            job = self.maybe_auto_train(project_id)
            if job:
                status["training_job"] = job
        return status

    def delete(self, project_id: int, annotation_ids: list[int]) -> list[int]:
        return self.store.delete(project_id, annotation_ids)

    def delete_tasks(self, project_id: int, task_ids: list[int]) -> list[int]:
        return self.store.delete_tasks(project_id, task_ids)

    def new_since_training(self, project_id: int) -> int:
        return self.store.accepted_since(project_id, int(self.store.get_meta(project_id, TRAINED_SEQ_META, 0)))

    def maybe_auto_train(self, project_id: int) -> dict | None:
        """Enqueue a training job when `TRAIN_EVERY` accepted annotations arrived since the last one started."""
        every = self.settings.train_every
        if not every or self.new_since_training(project_id) < every:
            return None
        return self.request_training(project_id, "auto")

    # --- training jobs -----------------------------------------------------------------------------------------

    def request_training(self, project_id: int, trigger: str, *, resync: bool = False, train: bool = True,
                         image_key: str | None = None) -> dict:
        """Enqueue a training (or resync-only) job unless one is already waiting; returns `{"job_id", "status"}`.

        Raises:
            QueueUnavailableError: Redis is down.
        """
        with redis_errors_as_unavailable(self.settings.redis_url):
            self.reap_orphans(project_id)
            key = training_queued_key(project_id)
            for _ in range(2):
                if self.connection.set(key, _PENDING, nx=True, ex=self.settings.train_job_timeout):
                    break
                waiting = self._waiting_job(key)
                if waiting is not None:
                    return {"job_id": waiting, "status": "already queued"}
                self.connection.delete(key)
            else:
                return {"job_id": None, "status": "already queued"}
            setup = ProjectSetup.load(self.connection, project_id)
            ls_url, token = setup.label_studio(self.settings)
            request = TrainingRequest(
                project_id=project_id, trigger=trigger, ls_url=ls_url, ls_token=token,
                image_key=image_key or str(self.store.get_meta(project_id, IMAGE_KEY_META, "image")),
                resync=resync and bool(ls_url), train=train,
            )
            try:
                job = self.jobs.enqueue(
                    QueueName.TRAINING, TRAINING_JOB, request.to_dict(), job_timeout=self.settings.train_job_timeout,
                    result_ttl=self.settings.result_ttl,
                    description=f"{'training' if train else 'resync'} project={project_id} trigger={trigger}",
                )
            except BaseException:
                self.connection.delete(key)
                raise
            self.connection.set(key, job.id, ex=self.settings.train_job_timeout)
        log.info("project %s: %s job %s enqueued (trigger %s, resync %s)", project_id,
                 "training" if train else "resync", job.id, trigger, request.resync)
        return {"job_id": job.id, "status": "queued", "resync": request.resync}

    def _waiting_job(self, key: str) -> str | None:
        value = self.connection.get(key)
        if value is None:
            return None
        job_id = value.decode()
        if job_id == _PENDING:
            return job_id
        job = self.jobs.fetch(job_id)
        return job_id if job is not None and job.get_status(refresh=True) in _WAITING_STATES else None

    def reap_orphans(self, project_id: int) -> str | None:
        """Fail the project's training job if its worker died, and free the lock; returns the failed job id."""
        lock = TrainingLock(self.connection, project_id)
        holder = lock.holder()
        if holder is None:
            return None
        job = self.jobs.fetch(holder)
        if job is not None and not fail_if_orphaned(job) and job.get_status(refresh=True) == JobStatus.STARTED:
            return None  # alive and training
        lock.break_for(holder)  # its worker died (job now failed), or the job ended without releasing the lock
        log.warning("project %s: training job %s no longer runs; its lock was freed", project_id, holder)
        return holder

    # --- versions ----------------------------------------------------------------------------------------------

    def status(self, project_id: int) -> dict:
        """Versions, the active one, the store's counts and the training state of a project."""
        with redis_errors_as_unavailable(self.settings.redis_url):
            self.reap_orphans(project_id)
            queued = self.connection.get(training_queued_key(project_id))
            return {
                "project": project_id,
                "active_version": self.registry.active(project_id),
                "versions": self.registry.list_versions(project_id),
                "annotations": self.store.summary(project_id),
                "new_since_training": self.new_since_training(project_id),
                "training_job": TrainingLock(self.connection, project_id).holder(),
                "queued_job": queued.decode() if queued else None,
            }

    def rollback(self, project_id: int, version: str | None) -> dict:
        """Activate an earlier version (None: the workers' base model).

        Raises:
            BadRequestError: the version does not exist for this project.
        """
        with redis_errors_as_unavailable(self.settings.redis_url):
            try:
                self.registry.activate(project_id, version, reason="rollback")
            except VersionNotFoundError as error:
                raise BadRequestError(str(error)) from None
        log.info("project %s rolled back to %s", project_id, version or "the base model")
        return {"project": project_id, "active_version": version}
