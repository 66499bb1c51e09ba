"""/webhook: record Label Studio's project events and return at once.

Label Studio sends webhooks synchronously with a 1 s timeout and no retry, so this handler only does O(1)
work: annotation events update the exemplar bank (one small file write) and, with `learning`
(`backend.training.Learning`), the durable annotation store (one SQLite transaction, with the task's clip when its
data names one: `video_id` or `video`, `common.image_groups`); START_TRAINING enqueues a
`training` job that first resynchronises the store from Label Studio's export (it carries no annotations).
"""

from __future__ import annotations

import logging

from backend.label_config import parse_label_config
from backend.training import Learning
from common.exceptions import BadRequestError
from common.exemplars import ExemplarBank
from common.image_groups import group_from
from common.region_boxes import regions_to_boxes

__all__ = ["ANNOTATION_EVENTS", "handle_event"]

ANNOTATION_EVENTS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED")
DELETE_EVENTS = ("ANNOTATIONS_DELETED",)
TASK_DELETE_EVENTS = ("TASKS_DELETED",)

log = logging.getLogger(__name__)


def _project_id(body: dict) -> int:
    project = body.get("project")
    project_id = project.get("id") if isinstance(project, dict) else None
    if not isinstance(project_id, int) or isinstance(project_id, bool):
        raise BadRequestError("The webhook body has no project.id; is this a Label Studio webhook with payload?")
    return project_id


def _ids(items: object) -> list[int]:
    return [i for item in items or [] if isinstance(item, dict) and isinstance(i := item.get("id"), int)]


def handle_event(body: dict, bank: ExemplarBank, learning: Learning | None = None) -> dict:
    """Apply one webhook event; returns a small JSON status for logs and tests.

    Raises:
        BadRequestError: the body is not a Label Studio webhook.
    """
    action = body.get("action")
    if not isinstance(action, str) or not action:
        raise BadRequestError("The webhook body has no 'action'; Label Studio sends {'action': ..., ...}.")
    if action in ANNOTATION_EVENTS:
        return _record_annotation(body, bank, learning)
    if action in DELETE_EVENTS:
        ids = _ids(body.get("annotations"))
        if learning is not None:
            learning.delete(_project_id(body), ids)
        removed = bank.forget(_project_id(body), ids)
        return {"status": "ok", "action": action, "removed": removed}
    if action in TASK_DELETE_EVENTS and learning is not None:
        annotation_ids = learning.delete_tasks(_project_id(body), _ids(body.get("tasks")))
        removed = bank.forget(_project_id(body), annotation_ids)
        return {"status": "ok", "action": action, "removed": removed}
    if action == "START_TRAINING":
        if learning is None:
            log.info("START_TRAINING for project %s recorded; fine-tuning is not enabled", _project_id(body))
            return {"status": "recorded", "action": action, "training": "not enabled"}
        config = parse_label_config((body.get("project") or {}).get("label_config") or "")
        job = learning.request_training(_project_id(body), "start_training", resync=True, image_key=config.image_key)
        return {"status": "recorded", "action": action, "training": job}
    return {"status": "ignored", "action": action}


def _record_annotation(body: dict, bank: ExemplarBank, learning: Learning | None) -> dict:
    project_id = _project_id(body)
    annotation, task = body.get("annotation"), body.get("task")
    if not isinstance(annotation, dict) or not isinstance(task, dict):
        raise BadRequestError(f"{body['action']} needs 'annotation' and 'task' objects in the payload.")
    annotation_id, task_id = annotation.get("id"), task.get("id")
    if not isinstance(annotation_id, int) or not isinstance(task_id, int):
        raise BadRequestError("The annotation and the task need integer ids.")
    group = group_from(task.get("data"))  # the task's clip: fine-tuning holds out whole clips
    if annotation.get("was_cancelled"):  # kept in the store as cancelled (never used), removed from the bank
        learned = {} if learning is None else learning.record(project_id, annotation, task_id, "", None, group)
        removed = bank.forget(project_id, [annotation_id])
        return {"status": "ok", "action": body["action"], "stored_boxes": 0, "removed": removed, **learned}
    config = parse_label_config((body.get("project") or {}).get("label_config") or "")
    url = (task.get("data") or {}).get(config.image_key)
    learned = {} if learning is None else learning.record(
        project_id, annotation, task_id, url if isinstance(url, str) else "", config.image_key, group)
    if not isinstance(url, str) or not url:
        raise BadRequestError(f"Task {task_id} has no image URL in data.{config.image_key}.")
    boxes = regions_to_boxes(annotation.get("result") or [])
    if learned.get("store") in ("stale", "deleted"):  # an older replay, or a deleted annotation: the bank stays
        return {"status": "ok", "action": body["action"], "stored_boxes": 0, **learned}
    stored = bank.record(project_id, annotation_id, task_id, url, boxes, str(annotation.get("updated_at") or ""))
    return {"status": "ok", "action": body["action"], "stored_boxes": stored, **learned}
