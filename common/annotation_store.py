"""The annotation store: every accepted Label Studio annotation of a project, durable and idempotent.

One SQLite file per project, `MODEL_DIR/projects/<id>/annotations.sqlite3` (WAL mode, so gunicorn threads and
processes and the workers share it). The webhook records events in milliseconds; the training job reads the
accepted annotations and resynchronises from Label Studio's export (webhooks are sent once, with a 1 s timeout and
no retry, so some may be lost).

Rules that make replays and out-of-order delivery harmless:
- one row per annotation id; an event is applied only when its `updated_at` is not older than the stored one
  (the same event twice changes nothing);
- a deletion leaves a tombstone, and a tombstone wins over any later-arriving create/update of the same id
  (Label Studio never reuses annotation ids); `TASKS_DELETED` tombstones the task, so its annotations stay gone;
- cancelled (skipped) annotations are kept as `cancelled`, never served as accepted;
- every accepted change takes the next sequence number, so "N new accepted annotations since the last training"
  is one query.

A task's group (the video or capture session its `data` names, `common.image_groups`) is kept per task, in its
own table, from any event that names it (a replay, an older event, an export), and read back with every annotation
of the task, so that fine-tuning holds out whole clips. A group is never cleared by an event that names none.
Stores written before groups were kept gain the table when opened; their tasks get a group at the next resync (the
Train button and `POST /resync`; automatic training does not resync, so until then old tasks train without their
clip).

Nothing here imports Flask or TensorFlow: the backend and the worker both use it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from common.image_groups import group_from

__all__ = [
    "ACCEPTED", "CANCELLED", "DELETED", "IMAGE_KEY_META", "TRAINED_SEQ_META", "AnnotationStore", "StoredAnnotation",
]

ACCEPTED = "accepted"
CANCELLED = "cancelled"
DELETED = "deleted"

TRAINED_SEQ_META = "trained_seq"
"""Meta key: the annotation sequence number the last training job started from (written by the job)."""
IMAGE_KEY_META = "image_key"
"""Meta key: the task data key of the image, from the label config (the export needs it)."""

FILE_NAME = "annotations.sqlite3"
_BUSY_TIMEOUT_S = 10.0
"""How long a writer waits for another writer (webhook threads, a resync) before failing."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS annotations (
    id INTEGER PRIMARY KEY,
    task_id INTEGER NOT NULL,
    image_url TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    ground_truth INTEGER NOT NULL DEFAULT 0,
    result TEXT NOT NULL DEFAULT '[]',
    seq INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL DEFAULT '',
    recorded_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS annotations_task ON annotations (task_id);
-- MAX(seq), read once per recorded annotation, in O(log n): without it a resync of n new annotations scans
-- the table n times (5000 annotations: 2.0 s of CPU instead of 0.16 s; the time grows with n squared)
CREATE INDEX IF NOT EXISTS annotations_seq ON annotations (seq);
CREATE TABLE IF NOT EXISTS deleted_tasks (task_id INTEGER PRIMARY KEY, recorded_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS task_groups (task_id INTEGER PRIMARY KEY, image_group TEXT NOT NULL);
"""


@dataclasses.dataclass(frozen=True)
class StoredAnnotation:
    """One annotation as stored: Label Studio's `result` list kept verbatim (percent coordinates); `group` is its
    task's video or capture session ('' when the task names none, `common.image_groups.group_from`)."""

    id: int
    task_id: int
    image_url: str
    updated_at: str
    state: str
    ground_truth: bool
    result: list
    seq: int
    source: str
    group: str = ""


class AnnotationStore:
    """Per-project annotation store under `model_dir`.

    Args:
        model_dir: the shared MODEL_DIR.
    """

    def __init__(self, model_dir: Path):
        self.model_dir = Path(model_dir)

    def path(self, project_id: int) -> Path:
        return self.model_dir / "projects" / str(int(project_id)) / FILE_NAME

    @contextlib.contextmanager
    def _connect(self, project_id: int, write: bool = False) -> Iterator[sqlite3.Connection]:
        path = self.path(project_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)
            if write:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    yield connection
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
            else:
                yield connection
        finally:
            connection.close()

    # --- writes ------------------------------------------------------------------------------------------------

    def record(
        self, project_id: int, annotation: dict, task_id: int, image_url: str, source: str = "webhook",
        group: str | None = None,
    ) -> str:
        """Apply one created/updated annotation (Label Studio's annotation object).

        `group`: its task's group (`common.image_groups.group_from` of the task's `data`), recorded for the task
        whatever happens to the annotation (a replay or an older event still names it; it never counts as a
        change). None or '' means not known from this event: the task's group stays as it is.

        Returns what happened: "stored", "unchanged" (a replay), "stale" (older than what is stored), or
        "deleted" (the annotation or its task was deleted; tombstones win).

        Raises:
            ValueError: the annotation has no integer id.
        """
        with self._connect(project_id, write=True) as db:
            return self._record(db, annotation, task_id, image_url, source, time.time(), group or "")

    def _record(
        self, db: sqlite3.Connection, annotation: dict, task_id: int, image_url: str, source: str, now: float,
        group: str,
    ) -> str:
        annotation_id = annotation.get("id")
        if not isinstance(annotation_id, int) or isinstance(annotation_id, bool):
            raise ValueError(f"An annotation needs an integer 'id', got {annotation_id!r}.")
        state = CANCELLED if annotation.get("was_cancelled") else ACCEPTED
        updated_at = str(annotation.get("updated_at") or "")
        result = json.dumps(annotation.get("result") or [], sort_keys=True)
        ground_truth = int(bool(annotation.get("ground_truth")))
        if group:
            db.execute("INSERT OR REPLACE INTO task_groups (task_id, image_group) VALUES (?, ?)", (task_id, group))
        if db.execute("SELECT 1 FROM deleted_tasks WHERE task_id = ?", (task_id,)).fetchone():
            self._tombstone(db, [annotation_id], now, task_id)
            return "deleted"
        row = db.execute(
            "SELECT state, updated_at, result, ground_truth FROM annotations WHERE id = ?", (annotation_id,)
        ).fetchone()
        if row is not None:
            if row[0] == DELETED:
                return "deleted"
            if updated_at < row[1]:
                return "stale"
            same_version = updated_at and updated_at == row[1] and state == row[0]
            if same_version or (state, updated_at, result, ground_truth) == (row[0], row[1], row[2], row[3]):
                return "unchanged"
        seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM annotations").fetchone()[0]
        db.execute(
            "INSERT OR REPLACE INTO annotations (id, task_id, image_url, updated_at, state, ground_truth, result, seq,"
            " source, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (annotation_id, task_id, image_url, updated_at, state, ground_truth, result, seq, source, now),
        )
        return "stored"

    def delete(self, project_id: int, annotation_ids: Iterable[int]) -> list[int]:
        """Tombstone annotations (also ids never seen: a delete may overtake its create). Returns the live ones."""
        with self._connect(project_id, write=True) as db:
            return self._tombstone(db, [int(i) for i in annotation_ids], time.time())

    def delete_tasks(self, project_id: int, task_ids: Iterable[int]) -> list[int]:
        """Tombstone tasks and every annotation of theirs. Returns the annotation ids that were live."""
        now = time.time()
        with self._connect(project_id, write=True) as db:
            removed: list[int] = []
            for task_id in task_ids:
                db.execute(
                    "INSERT OR IGNORE INTO deleted_tasks (task_id, recorded_at) VALUES (?, ?)", (task_id, now)
                )
                ids = [r[0] for r in db.execute("SELECT id FROM annotations WHERE task_id = ?", (task_id,))]
                removed += self._tombstone(db, ids, now, task_id)
            return removed

    @staticmethod
    def _tombstone(db: sqlite3.Connection, ids: list[int], now: float, task_id: int = 0) -> list[int]:
        live = []
        for annotation_id in ids:
            row = db.execute("SELECT state FROM annotations WHERE id = ?", (annotation_id,)).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO annotations (id, task_id, state, source, recorded_at) VALUES (?, ?, ?, ?, ?)",
                    (annotation_id, task_id, DELETED, "tombstone", now),
                )
                continue
            if row[0] != DELETED:
                live.append(annotation_id)
                db.execute(
                    "UPDATE annotations SET state = ?, result = '[]', recorded_at = ? WHERE id = ?",
                    (DELETED, now, annotation_id),
                )
        return live

    def apply_export(self, project_id: int, tasks: list[dict], image_key: str, requested_at: float) -> dict:
        """Resynchronise with a Label Studio JSON export (`GET /api/projects/{id}/export?exportType=JSON`).

        Every annotation in the export is recorded (newer wins, as for webhooks). A live annotation that is absent
        from the export was deleted while its webhook was lost: it is tombstoned, unless it was recorded after
        `requested_at` (our clock when the export was requested; the snapshot may predate it).

        Returns:
            counts: {"stored", "unchanged", "stale", "deleted", "removed", "tasks"}.
        """
        counts = {"stored": 0, "unchanged": 0, "stale": 0, "deleted": 0, "removed": 0, "tasks": len(tasks)}
        seen: set[int] = set()
        now = time.time()
        with self._connect(project_id, write=True) as db:
            for task in tasks:
                task_id = task.get("id")
                if not isinstance(task_id, int):
                    continue
                url = str((task.get("data") or {}).get(image_key) or "")
                group = group_from(task.get("data")) or ""
                for annotation in task.get("annotations") or []:
                    if not isinstance(annotation, dict) or not isinstance(annotation.get("id"), int):
                        continue
                    seen.add(annotation["id"])
                    counts[self._record(db, annotation, task_id, url, "export", now, group)] += 1
            gone = [
                r[0]
                for r in db.execute(
                    "SELECT id FROM annotations WHERE state != ? AND recorded_at < ?", (DELETED, requested_at)
                )
                if r[0] not in seen
            ]
            counts["removed"] = len(self._tombstone(db, gone, now))
        return counts

    def set_meta(self, project_id: int, key: str, value: object) -> None:
        with self._connect(project_id, write=True) as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    # --- reads -------------------------------------------------------------------------------------------------

    def get_meta(self, project_id: int, key: str, default: object = None) -> object:
        if not self.path(project_id).exists():
            return default
        with self._connect(project_id) as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def annotations(self, project_id: int, state: str | None = ACCEPTED) -> list[StoredAnnotation]:
        """Stored annotations in one state (default: accepted), oldest id first; `None` returns every row."""
        if not self.path(project_id).exists():
            return []
        query = ("SELECT a.id, a.task_id, a.image_url, a.updated_at, a.state, a.ground_truth, a.result, a.seq,"
                 " a.source, COALESCE(g.image_group, '') FROM annotations a"
                 " LEFT JOIN task_groups g ON g.task_id = a.task_id")
        with self._connect(project_id) as db:
            rows = db.execute(
                query + (" WHERE a.state = ?" if state else "") + " ORDER BY a.id", (state,) if state else ()
            ).fetchall()
        return [
            StoredAnnotation(r[0], r[1], r[2], r[3], r[4], bool(r[5]), json.loads(r[6]), r[7], r[8], r[9])
            for r in rows
        ]

    def last_seq(self, project_id: int) -> int:
        """The sequence number of the newest accepted change (0 for an empty store)."""
        if not self.path(project_id).exists():
            return 0
        with self._connect(project_id) as db:
            return int(db.execute("SELECT COALESCE(MAX(seq), 0) FROM annotations").fetchone()[0])

    def accepted_since(self, project_id: int, seq: int) -> int:
        """How many accepted annotations changed after sequence number `seq`."""
        if not self.path(project_id).exists():
            return 0
        with self._connect(project_id) as db:
            return int(
                db.execute(
                    "SELECT COUNT(*) FROM annotations WHERE state = ? AND seq > ?", (ACCEPTED, seq)
                ).fetchone()[0]
            )

    def summary(self, project_id: int) -> dict:
        """Counts per state, for /train and logs."""
        if not self.path(project_id).exists():
            return {ACCEPTED: 0, CANCELLED: 0, DELETED: 0}
        with self._connect(project_id) as db:
            counts = dict(db.execute("SELECT state, COUNT(*) FROM annotations GROUP BY state").fetchall())
        return {state: int(counts.get(state, 0)) for state in (ACCEPTED, CANCELLED, DELETED)}
