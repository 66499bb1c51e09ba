"""The annotation store on its own: replay-safe writes, tombstones, cancelled annotations, export resync."""

from __future__ import annotations

import time

from learning_helpers import rectangle, stamp

from common.annotation_store import ACCEPTED, CANCELLED, DELETED, AnnotationStore


def _annotation(annotation_id: int, second: int, x: float = 10.0, **fields) -> dict:
    return {"id": annotation_id, "updated_at": stamp(second), "result": [rectangle(x, 10, 20, 20)],
            "was_cancelled": False} | fields


def _state(store: AnnotationStore) -> dict[int, tuple[str, float | None]]:
    """{annotation id: (state, x of its first region)} for exact comparisons."""
    return {a.id: (a.state, a.result[0]["value"]["x"] if a.result else None)
            for a in store.annotations(1, state=None)}


def test_update_replaces_and_replays_change_nothing(tmp_path):
    store = AnnotationStore(tmp_path)
    assert store.record(1, _annotation(5, 1, x=10), 7, "/img/7.png") == "stored"
    assert store.record(1, _annotation(5, 1, x=10), 7, "/img/7.png") == "unchanged"
    assert store.record(1, _annotation(5, 2, x=30), 7, "/img/7.png") == "stored"
    assert store.record(1, _annotation(5, 2, x=30), 7, "/img/7.png") == "unchanged"
    (stored,) = store.annotations(1)
    assert stored.id == 5 and stored.task_id == 7 and stored.image_url == "/img/7.png"
    assert stored.result[0]["value"]["x"] == 30 * 100 / 128
    assert store.accepted_since(1, 0) == 1  # one annotation, changed twice: counted once


def test_out_of_order_update_is_ignored(tmp_path):
    store = AnnotationStore(tmp_path)
    store.record(1, _annotation(5, 9, x=50), 7, "/img/7.png")
    assert store.record(1, _annotation(5, 3, x=10), 7, "/img/7.png") == "stale"
    assert _state(store) == {5: (ACCEPTED, 50 * 100 / 128)}


def test_delete_wins_even_when_it_overtakes_the_create(tmp_path):
    store = AnnotationStore(tmp_path)
    assert store.delete(1, [6]) == []  # delivered before its create
    assert store.record(1, _annotation(6, 1), 8, "/img/8.png") == "deleted"
    store.record(1, _annotation(5, 1), 7, "/img/7.png")
    assert store.delete(1, [5]) == [5]
    assert store.delete(1, [5]) == []  # replayed delete
    assert store.record(1, _annotation(5, 9), 7, "/img/7.png") == "deleted"  # a late update cannot resurrect it
    assert store.annotations(1) == [] and _state(store) == {5: (DELETED, None), 6: (DELETED, None)}


def test_deleted_tasks_take_their_annotations_and_later_ones(tmp_path):
    store = AnnotationStore(tmp_path)
    store.record(1, _annotation(5, 1), 7, "/img/7.png")
    store.record(1, _annotation(6, 1), 8, "/img/8.png")
    assert store.delete_tasks(1, [7]) == [5]
    assert store.record(1, _annotation(9, 2), 7, "/img/7.png") == "deleted"
    assert [a.id for a in store.annotations(1)] == [6]


def test_cancelled_annotations_are_kept_out(tmp_path):
    store = AnnotationStore(tmp_path)
    store.record(1, _annotation(5, 1, was_cancelled=True), 7, "")
    assert store.annotations(1) == [] and store.summary(1) == {ACCEPTED: 0, CANCELLED: 1, DELETED: 0}
    store.record(1, _annotation(5, 2), 7, "/img/7.png")  # submitted later after all
    assert [a.id for a in store.annotations(1)] == [5]


def test_projects_are_separate_and_survive_a_new_store_object(tmp_path):
    AnnotationStore(tmp_path).record(1, _annotation(5, 1), 7, "/img/7.png")
    AnnotationStore(tmp_path).record(2, _annotation(5, 1, x=40), 7, "/img/other.png")
    reopened = AnnotationStore(tmp_path)
    assert [a.image_url for a in reopened.annotations(1)] == ["/img/7.png"]
    assert [a.image_url for a in reopened.annotations(2)] == ["/img/other.png"]


def test_export_resync_adds_missed_updates_and_removes_missed_deletions(tmp_path):
    store = AnnotationStore(tmp_path)
    store.record(1, _annotation(5, 1, x=10), 7, "/img/7.png")  # its update webhook was lost
    store.record(1, _annotation(6, 1), 8, "/img/8.png")  # deleted in LS, webhook lost
    requested = time.time()
    tasks = [
        {"id": 7, "data": {"image": "/img/7.png"}, "annotations": [_annotation(5, 4, x=60)]},
        {"id": 9, "data": {"image": "/img/9.png"}, "annotations": [_annotation(11, 2), _annotation(12, 3, was_cancelled=True)]},
    ]
    counts = store.apply_export(1, tasks, "image", requested)
    assert counts["stored"] == 3 and counts["removed"] == 1
    assert _state(store) == {5: (ACCEPTED, 60 * 100 / 128), 6: (DELETED, None), 11: (ACCEPTED, 10 * 100 / 128),
                             12: (CANCELLED, 10 * 100 / 128)}
    assert {a.id: a.source for a in store.annotations(1)} == {5: "export", 11: "export"}
    assert store.apply_export(1, tasks, "image", time.time())["stored"] == 0  # replay: nothing changes


def test_export_does_not_drop_an_annotation_recorded_after_it_was_requested(tmp_path):
    store = AnnotationStore(tmp_path)
    requested = time.time()
    time.sleep(0.01)
    store.record(1, _annotation(5, 1), 7, "/img/7.png")  # arrived by webhook while the export was produced
    assert store.apply_export(1, [], "image", requested)["removed"] == 0
    assert [a.id for a in store.annotations(1)] == [5]


def test_sequence_counts_new_accepted_annotations(tmp_path):
    store = AnnotationStore(tmp_path)
    for i in range(3):
        store.record(1, _annotation(i + 1, 1), i, f"/img/{i}.png")
    mark = store.last_seq(1)
    store.record(1, _annotation(4, 1), 4, "/img/4.png")
    store.record(1, _annotation(1, 5, x=70), 0, "/img/0.png")
    store.record(1, _annotation(9, 1, was_cancelled=True), 9, "")
    assert store.accepted_since(1, 0) == 4 and store.accepted_since(1, mark) == 2


def test_the_task_group_is_kept_learnt_from_replays_and_never_lost(tmp_path):
    store = AnnotationStore(tmp_path)
    store.record(1, _annotation(5, 1), 7, "/img/7.png", group="clip-3")
    store.record(1, _annotation(6, 1), 8, "/img/8.png")  # a task that names no clip
    assert {a.id: a.group for a in store.annotations(1)} == {5: "clip-3", 6: ""}
    mark = store.last_seq(1)
    assert store.record(1, _annotation(6, 1), 8, "/img/8.png", group="clip-4") == "unchanged"  # learnt, not a change
    assert store.record(1, _annotation(5, 2, x=40), 7, "/img/7.png") == "stored"  # an event without the task's data
    assert {a.id: a.group for a in store.annotations(1)} == {5: "clip-3", 6: "clip-4"}
    assert store.accepted_since(1, mark) == 1  # only the real update counts towards automatic training
    store.record(1, _annotation(7, 5), 9, "/img/9.png")
    assert store.record(1, _annotation(7, 2), 9, "/img/9.png", group="clip-5") == "stale"  # older, names the clip
    assert {a.id: a.group for a in store.annotations(1)}[7] == "clip-5"


def test_export_resync_records_each_task_clip(tmp_path):
    store = AnnotationStore(tmp_path)
    store.record(1, _annotation(5, 1), 7, "/img/7.png")  # recorded before the store kept groups
    tasks = [{"id": 7, "data": {"image": "/img/7.png", "video": "run-A"}, "annotations": [_annotation(5, 1)]},
             {"id": 9, "data": {"image": "/img/9.png", "video_id": 12}, "annotations": [_annotation(11, 2)]},
             {"id": 10, "data": {"image": "/img/10.png"}, "annotations": [_annotation(12, 2)]}]
    counts = store.apply_export(1, tasks, "image", time.time())
    assert counts["stored"] == 2 and counts["unchanged"] == 1
    assert {a.id: a.group for a in store.annotations(1)} == {5: "run-A", 11: "12", 12: ""}


def test_a_store_from_before_groups_keeps_its_rows_and_gains_groups(tmp_path):
    import sqlite3

    store = AnnotationStore(tmp_path)
    path = store.path(1)
    path.parent.mkdir(parents=True)
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE annotations (id INTEGER PRIMARY KEY, task_id INTEGER NOT NULL, image_url TEXT NOT NULL DEFAULT '',
            updated_at TEXT NOT NULL DEFAULT '', state TEXT NOT NULL, ground_truth INTEGER NOT NULL DEFAULT 0,
            result TEXT NOT NULL DEFAULT '[]', seq INTEGER NOT NULL DEFAULT 0, source TEXT NOT NULL DEFAULT '',
            recorded_at REAL NOT NULL);
        INSERT INTO annotations VALUES (5, 7, '/img/7.png', '2026-11-21T10:00:01.000000Z', 'accepted', 0, '[]', 1,
            'webhook', 0.0);
    """)
    old.commit()
    old.close()
    (kept,) = store.annotations(1)
    assert (kept.id, kept.task_id, kept.seq, kept.group) == (5, 7, 1, "")
    assert store.record(1, _annotation(6, 1), 8, "/img/8.png", group="clip-1") == "stored"
    assert {a.id: a.group for a in store.annotations(1)} == {5: "", 6: "clip-1"}
    assert AnnotationStore(tmp_path).last_seq(1) == 2  # reopened: the rows stay

