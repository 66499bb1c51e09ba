from __future__ import annotations

import json
import threading

from common.exemplars import MAX_ANNOTATIONS_PER_LABEL, ExemplarBank


def test_record_replaces_per_annotation_dedupes_boxes_and_caps_per_label(tmp_path):
    bank = ExemplarBank(tmp_path)
    same_object = [(10, 10, 50, 50), (10.5, 10, 50, 50.5), (100, 100, 150, 160)]
    assert bank.record(1, 7, 3, "/data/upload/1/a.png", {"cat": same_object}, "2026-01-01") == 2
    assert bank.record(1, 7, 3, "/data/upload/1/a.png", {"cat": same_object[:1]}, "2026-01-02") == 1
    assert bank.exemplars_for(1) == {
        "cat": [{"task_id": 3, "image_url": "/data/upload/1/a.png", "boxes": [[10.0, 10.0, 50.0, 50.0]]}]
    }
    for annotation in range(10, 20):
        bank.record(
            1,
            annotation,
            annotation,
            f"/img/{annotation}.png",
            {"cat": [(0, 0, 5, 5)]},
            f"2026-02-{annotation}",
        )
    newest = bank.exemplars_for(1)["cat"]
    assert len(newest) == MAX_ANNOTATIONS_PER_LABEL and newest[0]["task_id"] == 19
    assert bank.exemplars_for(2) == {}


def test_empty_annotation_and_forget_remove_entries(tmp_path):
    bank = ExemplarBank(tmp_path)
    bank.record(1, 1, 1, "u", {"dog": [(0, 0, 4, 4)]})
    assert bank.record(1, 1, 1, "u", {}) == 0
    assert bank.exemplars_for(1) == {}
    bank.record(1, 2, 1, "u", {"dog": [(0, 0, 4, 4)]})
    assert bank.forget(1, [2, 3]) == 1
    assert bank.forget(9, [1]) == 0


def test_concurrent_writers_lose_nothing_and_the_file_stays_json(tmp_path):
    bank = ExemplarBank(tmp_path)
    threads = [
        threading.Thread(target=bank.record, args=(1, i, i, f"u{i}", {f"l{i}": [(0, 0, 2, 2)]}))
        for i in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    data = json.loads(bank.path(1).read_text())
    assert len(data["annotations"]) == 20 and data["format"] == 1
