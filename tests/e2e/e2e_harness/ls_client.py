"""A small REST client for the parts of Label Studio 1.23.2 the end-to-end tests use (legacy token auth)."""

from __future__ import annotations

import time
from typing import Any

import requests

REQUEST_TIMEOUT_S = 180  # a batch "retrieve predictions" waits for the ML backend inside the request
RETRIEVE_PREDICTIONS_ACTION = "retrieve_tasks_predictions"


class LabelStudioError(RuntimeError):
    """Label Studio answered with an error status; the message has the method, path, status and body."""


class LabelStudioClient:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    # -- plumbing -------------------------------------------------------------------------------------------
    def request(self, method: str, path: str, expect: tuple[int, ...] = (200, 201), **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", REQUEST_TIMEOUT_S)
        response = self.session.request(method, f"{self.url}{path}", **kwargs)
        if response.status_code not in expect:
            raise LabelStudioError(
                f"{method} {path} -> {response.status_code}: {response.text[:2000]}"
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=json, **kwargs)

    # -- users and projects ---------------------------------------------------------------------------------
    def whoami(self) -> dict:
        return self.get("/api/current-user/whoami")

    def create_project(self, title: str, label_config: str) -> dict:
        return self.post("/api/projects", {"title": title, "label_config": label_config})

    def update_project(self, project_id: int, **fields: Any) -> dict:
        return self.request("PATCH", f"/api/projects/{project_id}", json=fields)

    def project(self, project_id: int) -> dict:
        return self.get(f"/api/projects/{project_id}")

    def model_versions(self, project_id: int) -> dict:
        """Predictions per model version: `{"<version>": count, ...}`."""
        return self.get(f"/api/projects/{project_id}/model-versions")

    # -- images and tasks -----------------------------------------------------------------------------------
    def add_local_storage(self, project_id: int, path: str, title: str = "e2e images") -> dict:
        """Local files storage over `path` (must lie under LOCAL_FILES_DOCUMENT_ROOT); needed to serve its files."""
        return self.post(
            "/api/storages/localfiles",
            {"project": project_id, "path": path, "title": title, "use_blob_urls": True},
        )

    def import_tasks(self, project_id: int, tasks: list[dict]) -> list[int]:
        """Import task data dicts; return the new task ids in import order."""
        before = {task["id"] for task in self.tasks(project_id)}
        self.post(f"/api/projects/{project_id}/import", tasks)
        new = [task for task in self.tasks(project_id) if task["id"] not in before]
        return [task["id"] for task in sorted(new, key=lambda t: t["id"])]

    def tasks(self, project_id: int) -> list[dict]:
        page = self.get("/api/tasks", params={"project": project_id, "page_size": 1000, "fields": "all"})
        return page["tasks"] if isinstance(page, dict) else page

    def task(self, task_id: int) -> dict:
        return self.get(f"/api/tasks/{task_id}")

    # -- annotations and predictions ------------------------------------------------------------------------
    def create_annotation(self, task_id: int, result: list[dict]) -> dict:
        return self.post(f"/api/tasks/{task_id}/annotations", {"result": result, "was_cancelled": False})

    def annotations(self, task_id: int) -> list[dict]:
        return self.get(f"/api/tasks/{task_id}/annotations")

    def predictions(self, task_id: int) -> list[dict]:
        return self.get("/api/predictions", params={"task": task_id})

    def retrieve_predictions(self, project_id: int, task_ids: list[int]) -> dict:
        """The Data Manager action "Retrieve predictions" on the given tasks."""
        return self.post(
            "/api/dm/actions",
            {"selectedItems": {"all": False, "included": task_ids}},
            params={"id": RETRIEVE_PREDICTIONS_ACTION, "project": project_id},
        )

    # -- ML backends ----------------------------------------------------------------------------------------
    def add_ml_backend(
        self, project_id: int, url: str, title: str, interactive: bool = True, extra_params: dict | None = None
    ) -> dict:
        """Connect an ML backend; Label Studio checks /health and /setup here and creates the /webhook hook.
        `extra_params` is the "Extra params" JSON Label Studio passes to the backend's /setup."""
        body = {"project": project_id, "url": url, "title": title, "is_interactive": interactive}
        if extra_params is not None:
            body["extra_params"] = extra_params
        return self.post("/api/ml", body)

    def ml_backend(self, ml_id: int) -> dict:
        """GET refreshes the state: Label Studio calls /health and /setup again (and takes the model version)."""
        return self.get(f"/api/ml/{ml_id}")

    def ml_backends(self, project_id: int) -> list[dict]:
        return self.get("/api/ml", params={"project": project_id})

    def delete_ml_backend(self, ml_id: int) -> None:
        self.request("DELETE", f"/api/ml/{ml_id}", expect=(200, 204))

    def interactive_annotating(self, ml_id: int, task_id: int, context_result: list[dict]) -> dict:
        """What the frontend sends when a smart region is drawn. Label Studio answers 200 with
        `{"data": {"result": [...], ...}}` or `{"errors": [...]}`."""
        return self.post(
            f"/api/ml/{ml_id}/interactive-annotating",
            {"task": task_id, "context": {"result": context_result}},
        )

    def train(self, ml_id: int) -> None:
        """The Train button: Label Studio sends START_TRAINING to the backend's /webhook (always answers 200)."""
        self.post(f"/api/ml/{ml_id}/train")

    def versions(self, ml_id: int) -> dict:
        return self.get(f"/api/ml/{ml_id}/versions", expect=(200,))

    def webhooks(self, project_id: int) -> list[dict]:
        return self.get("/api/webhooks", params={"project": project_id})


def poll(fetch: Any, done: Any, timeout_s: float, interval_s: float = 1.0) -> Any:
    """Call `fetch()` until `done(value)` or the timeout; return the last value either way."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = fetch()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(interval_s)
