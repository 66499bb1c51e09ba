"""Model versions on disk (listing, activation, retention, Redis loss) and the resync from Label Studio's export."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from learning_helpers import rectangle, stamp

from common.annotation_store import AnnotationStore
from common.exceptions import LabelStudioApiError
from common.exemplars import ExemplarBank
from common.model_registry import ModelRegistry, VersionNotFoundError
from common.versions import active_version
from worker.ls_client import LabelStudioClient
from worker.resync import EXPORT_PATH, resync_project

TOKEN = "0123456789abcdef0123456789abcdef01234567"


def _write_version(registry: ModelRegistry, project_id: int, k: int, card: bool = True, **training) -> str:
    version = f"project-{project_id}-v{k}"
    registry.versions_dir(project_id).mkdir(parents=True, exist_ok=True)
    registry.weights_path(project_id, version).write_bytes(b"weights")
    if card:
        registry.card_path(project_id, version).write_text(json.dumps(
            {"version": version, "parent": None, "training": {"steps": 3, **training},
             "metrics": {"holdout": {"new": None}}}))
    return version


def test_the_listing_says_whether_a_versions_bank_pre_annotates(tmp_path, redis_conn):
    registry = ModelRegistry(tmp_path, redis_conn)
    silent = {"value": False, "why": "held-out bank effort 1.1000 at threshold 0.95 is not below 1"}
    _write_version(registry, 1, 1)  # a version from before the recipe decided it
    _write_version(registry, 1, 2, bank_answers=silent)
    assert [v["bank_answers"] for v in registry.list_versions(1)] == [None, silent]


def test_the_listing_says_whether_a_version_drops_objects_cut_by_the_frame(tmp_path, redis_conn):
    registry = ModelRegistry(tmp_path, redis_conn)
    skips = {"skip": True, "labels_say_skip": True, "instances": 40, "touching": 0, "expected": 15.2,
             "why": "0 of 40 accepted objects touch the frame ...; confirmed on the held-out slice"}
    _write_version(registry, 1, 1)  # a version from before the recipe read the convention
    _write_version(registry, 1, 2, frame_convention=skips)
    assert [v["frame_convention"] for v in registry.list_versions(1)] == [None, skips]


def test_the_listing_says_whether_a_versions_drawn_boxes_go_through_its_parents_verifier(tmp_path, redis_conn):
    registry = ModelRegistry(tmp_path, redis_conn)
    verifier = {"value": True, "threshold": 0.6, "why": "the parent's verifier (19 numbers) re-scores ..."}
    _write_version(registry, 1, 1)  # a version from before session 28's recipe
    _write_version(registry, 1, 2, verifier=verifier)
    assert [v["verifier"] for v in registry.list_versions(1)] == [None, verifier]


def test_the_listing_says_whether_other_labels_claim_a_versions_drawn_answers(tmp_path, redis_conn):
    registry = ModelRegistry(tmp_path, redis_conn)
    claims = {"value": False, "parent": True, "why": "the recipe sets the other labels' claims off ..."}
    _write_version(registry, 1, 1)  # a version from before session 29's recipe
    _write_version(registry, 1, 2, label_claims=claims)
    assert [v["label_claims"] for v in registry.list_versions(1)] == [None, claims]


def test_versions_listing_activation_and_redis_loss(tmp_path, redis_conn):
    registry = ModelRegistry(tmp_path, redis_conn)
    assert registry.next_version(1) == "project-1-v1" and registry.list_versions(1) == []
    v1, v2 = _write_version(registry, 1, 1), _write_version(registry, 1, 2)
    half = _write_version(registry, 1, 3, card=False)  # a checkpoint whose card never landed (crash)
    assert [v["version"] for v in registry.list_versions(1)] == [v1, v2]
    assert registry.next_version(1) == "project-1-v4"  # numbers are never reused
    with pytest.raises(VersionNotFoundError, match="project-1-v1"):
        registry.activate(1, half, reason="test")
    registry.activate(1, v2, reason="test")
    assert active_version(redis_conn, 1) == v2 and [v["active"] for v in registry.list_versions(1)] == [False, True]
    redis_conn.flushall()  # Redis restarted without its data: the file still knows, and re-publishes
    assert registry.active(1) == v2 and active_version(redis_conn, 1) == v2
    registry.activate(1, None, reason="rollback")
    redis_conn.flushall()
    assert registry.active(1) is None


def test_retention_keeps_the_newest_and_the_active_one(tmp_path, redis_conn):
    registry = ModelRegistry(tmp_path, redis_conn)
    names = [_write_version(registry, 1, k) for k in range(1, 6)]
    registry.activate(1, names[0], reason="rollback")
    assert registry.prune(1, keep=2) == names[1:3]
    assert [v["version"] for v in registry.list_versions(1)] == [names[0], names[3], names[4]]
    assert registry.prune(1, keep=0) == []


class _ExportStub:
    """Answers Label Studio's export API for one project with `tasks`, behind the legacy token."""

    def __init__(self, tasks: list[dict]):
        self.tasks = tasks
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                ok = self.path == EXPORT_PATH.format(project_id=1) and self.headers.get(
                    "Authorization") == f"Token {TOKEN}"
                body = json.dumps(stub.tasks).encode() if ok else b'{"detail": "no"}'
                self.send_response(200 if ok else 401)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_resync_pulls_the_export_into_the_store_and_the_exemplar_bank(tmp_path):
    store, bank = AnnotationStore(tmp_path), ExemplarBank(tmp_path)
    lost = {"id": 6, "updated_at": stamp(1), "result": [rectangle(10, 10, 20, 20)]}
    store.record(1, lost, 8, "/data/upload/1/b.png")  # deleted in Label Studio; its webhook never arrived
    bank.record(1, 6, 8, "/data/upload/1/b.png", {"Tile": [(10, 10, 30, 30)]})
    tasks = [{"id": 7, "data": {"image": "/data/upload/1/a.png"}, "annotations": [
        {"id": 5, "updated_at": stamp(2), "was_cancelled": False, "result": [rectangle(40, 20, 24, 24)]},
        {"id": 9, "updated_at": stamp(3), "was_cancelled": True, "result": []}]}]
    stub = _ExportStub(tasks)
    try:
        counts = resync_project(store, bank, LabelStudioClient(stub.url, TOKEN), 1, "image")
        with pytest.raises(LabelStudioApiError, match="LABEL_STUDIO_API_KEY"):
            resync_project(store, bank, LabelStudioClient(stub.url, "wrong"), 1, "image")
    finally:
        stub.close()
    assert counts["stored"] == 2 and counts["removed"] == 1 and counts["bank_removed"] == 1
    assert [(a.id, a.task_id, a.image_url) for a in store.annotations(1)] == [(5, 7, "/data/upload/1/a.png")]
    (exemplar,) = bank.exemplars_for(1)["Tile"]
    assert exemplar["task_id"] == 7 and [round(v) for v in exemplar["boxes"][0]] == [40, 20, 64, 44]


def test_activation_rule():
    from common.settings import Settings
    from model.checkpoint import ModelCard
    from model.training.finetune import FineTuneResult
    from worker.training import _decide

    def result(new: float | None, parent: float | None):
        figures = {"new": new and {"effort": new, "threshold": 0.8},
                   "parent": parent and {"effort": parent, "threshold": 0.5}}
        card = ModelCard("child", "tiny", {}, training={"holdout_split": {"disjoint": True}})
        return FineTuneResult(None, card, 1, 1.0, 1, 1, figures)

    default = Settings()
    assert _decide(result(0.4, 0.5), default)[0] and not _decide(result(0.6, 0.5), default)[0]
    assert "parent stays active" in _decide(result(0.6, 0.5), default)[1]
    assert _decide(result(0.55, 0.5), default.replace(train_activation_tolerance=0.1))[0]
    assert _decide(result(None, None), default)[0]  # one image: nothing to compare with
    assert _decide(result(0.9, 0.1), default.replace(train_activation="always"))[0]
    assert not _decide(result(0.1, 0.9), default.replace(train_activation="never"))[0]
