"""Resynchronise a project's annotation store from Label Studio's export API, and the exemplar bank from the store.

Label Studio sends each webhook once (1 s timeout, no retry), and `START_TRAINING` carries no annotations, so the
training job pulls `GET /api/projects/{id}/export?exportType=JSON&download_all_tasks=false` (tasks with their
annotations; label-studio-protocol.md §3) and applies it with the store's replay-safe rules. The exemplar bank
(`common.exemplars`, what batch pre-annotation reads) is then rebuilt from the store's accepted annotations, so a
lost webhook does not leave a label without references.
"""

from __future__ import annotations

import logging
import time

import requests

from common.annotation_store import ACCEPTED, AnnotationStore
from common.exceptions import LabelStudioApiError
from common.exemplars import ExemplarBank, ExemplarUpdate
from common.region_boxes import regions_to_boxes
from worker.ls_client import LabelStudioClient, is_jwt

__all__ = ["EXPORT_PATH", "fetch_export", "mirror_bank", "resync_project"]

EXPORT_PATH = "/api/projects/{project_id}/export?exportType=JSON&download_all_tasks=false"
EXPORT_TIMEOUT_S = 300.0
"""A large project's export takes a while; the training job's own timeout bounds the rest."""

log = logging.getLogger(__name__)


def fetch_export(client: LabelStudioClient, project_id: int) -> list[dict]:
    """The project's annotated tasks, as Label Studio's JSON export.

    Raises:
        LabelStudioApiError: network failure, refused token or a non-JSON answer (with what to fix).
    """
    url = client.base_url + EXPORT_PATH.format(project_id=int(project_id))
    response = None
    for refresh in (False, True):
        try:
            response = requests.get(
                url, headers=client.auth_headers(refresh=refresh), timeout=EXPORT_TIMEOUT_S
            )
        except requests.RequestException as error:
            raise LabelStudioApiError(f"Exporting project {project_id} from {url} failed: {error}.") from None
        if response.status_code != 401 or not (client.token and is_jwt(client.token)):
            break
    assert response is not None
    if response.status_code in (401, 403):
        raise LabelStudioApiError(
            f"Label Studio refused the export of project {project_id} (HTTP {response.status_code}): set "
            "LABEL_STUDIO_API_KEY to a token of a project member (legacy token or personal access token)."
        )
    if response.status_code != 200:
        raise LabelStudioApiError(
            f"Label Studio answered HTTP {response.status_code} to the export of project {project_id}: "
            f"{response.text[:200]}"
        )
    try:
        tasks = response.json()
    except ValueError:
        raise LabelStudioApiError(
            f"The export of project {project_id} is not JSON: {response.text[:200]!r}"
        ) from None
    if not isinstance(tasks, list):
        raise LabelStudioApiError(f"The export of project {project_id} is not a list of tasks.")
    return tasks


def mirror_bank(store: AnnotationStore, bank: ExemplarBank, project_id: int) -> dict:
    """Make the exemplar bank follow the store: its accepted annotations with an image are (re)recorded, the
    others (deleted, cancelled, no image) removed, in one rewrite of the bank's file. Returns counts."""
    updates, forgotten = [], []
    for item in store.annotations(project_id, state=None):
        if item.state == ACCEPTED and item.image_url:
            updates.append(
                ExemplarUpdate(
                    item.id, item.task_id, item.image_url, regions_to_boxes(item.result), item.updated_at
                )
            )
        else:
            forgotten.append(item.id)
    counts = bank.record_many(project_id, updates, forgotten)
    return {"bank_annotations": counts["recorded"], "bank_removed": counts["removed"]}


def resync_project(
    store: AnnotationStore, bank: ExemplarBank, client: LabelStudioClient, project_id: int, image_key: str
) -> dict:
    """Pull the export, apply it to the store, rebuild the bank. Returns the store's counts plus the bank's."""
    requested_at = time.time()
    tasks = fetch_export(client, project_id)
    counts = store.apply_export(project_id, tasks, image_key, requested_at)
    counts |= mirror_bank(store, bank, project_id)
    counts["seconds"] = round(time.time() - requested_at, 2)
    log.info("project %s resynchronised from Label Studio: %s", project_id, counts)
    return counts
