"""/webhook: record Label Studio's project events and return at once.

Label Studio sends webhooks synchronously with a 1 s timeout and no retry, so this handler only does O(1)
work: annotation events update the exemplar bank (one small file write); START_TRAINING is acknowledged and
recorded. Fine-tuning (issue 5) plugs in here by enqueueing a `training` job.
"""

from __future__ import annotations

import logging

from backend.context import regions_to_boxes
from backend.exemplars import ExemplarBank
from backend.label_config import parse_label_config
from common.exceptions import BadRequestError

__all__ = ["ANNOTATION_EVENTS", "handle_event"]

ANNOTATION_EVENTS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED")
DELETE_EVENTS = ("ANNOTATIONS_DELETED",)

log = logging.getLogger(__name__)


def _project_id(body: dict) -> int:
    project = body.get("project")
    project_id = project.get("id") if isinstance(project, dict) else None
    if not isinstance(project_id, int) or isinstance(project_id, bool):
        raise BadRequestError("The webhook body has no project.id; is this a Label Studio webhook with payload?")
    return project_id


def handle_event(body: dict, bank: ExemplarBank) -> dict:
    """Apply one webhook event; returns a small JSON status for logs and tests.

    Raises:
        BadRequestError: the body is not a Label Studio webhook.
    """
    action = body.get("action")
    if not isinstance(action, str) or not action:
        raise BadRequestError("The webhook body has no 'action'; Label Studio sends {'action': ..., ...}.")
    if action in ANNOTATION_EVENTS:
        return _record_annotation(body, bank)
    if action in DELETE_EVENTS:
        ids = [a.get("id") for a in body.get("annotations") or [] if isinstance(a, dict)]
        removed = bank.forget(_project_id(body), [i for i in ids if isinstance(i, int)])
        return {"status": "ok", "action": action, "removed": removed}
    if action == "START_TRAINING":
        log.info("START_TRAINING for project %s recorded; fine-tuning is not available yet", _project_id(body))
        return {"status": "recorded", "action": action, "training": "not available in this version"}
    return {"status": "ignored", "action": action}


def _record_annotation(body: dict, bank: ExemplarBank) -> dict:
    project_id = _project_id(body)
    annotation, task = body.get("annotation"), body.get("task")
    if not isinstance(annotation, dict) or not isinstance(task, dict):
        raise BadRequestError(f"{body['action']} needs 'annotation' and 'task' objects in the payload.")
    annotation_id, task_id = annotation.get("id"), task.get("id")
    if not isinstance(annotation_id, int) or not isinstance(task_id, int):
        raise BadRequestError("The annotation and the task need integer ids.")
    if annotation.get("was_cancelled"):
        removed = bank.forget(project_id, [annotation_id])
        return {"status": "ok", "action": body["action"], "stored_boxes": 0, "removed": removed}
    config = parse_label_config((body.get("project") or {}).get("label_config") or "")
    url = (task.get("data") or {}).get(config.image_key)
    if not isinstance(url, str) or not url:
        raise BadRequestError(f"Task {task_id} has no image URL in data.{config.image_key}.")
    boxes = regions_to_boxes(annotation.get("result") or [])
    stored = bank.record(project_id, annotation_id, task_id, url, boxes, str(annotation.get("updated_at") or ""))
    return {"status": "ok", "action": body["action"], "stored_boxes": stored}
