"""The exemplar bank after a resync of a large export: right content, one write of its file."""

from __future__ import annotations

import json
import os
import time

from learning_helpers import rectangle, stamp

from common.annotation_store import AnnotationStore
from common.exemplars import ExemplarBank
from worker.resync import mirror_bank

ANNOTATIONS = 2000
CANCELLED_EVERY = 10
"""Every tenth annotation of the export was skipped (cancelled) in Label Studio."""


def _export(count: int) -> list[dict]:
    """Label Studio's JSON export: one task per annotation, three boxes each (one of them twice: box + polygon)."""
    return [
        {
            "id": t,
            "data": {"image": f"/data/upload/1/{t}.png"},
            "annotations": [
                {
                    "id": t,
                    "updated_at": stamp(t % 60),
                    "was_cancelled": t % CANCELLED_EVERY == 0,
                    "result": [
                        rectangle(5 + t % 50, 5, 20 + t % 30, 20, region_id=f"r{t}-a"),
                        rectangle(5 + t % 50, 5, 20 + t % 30, 20, region_id=f"r{t}-b"),
                        rectangle(60, 40, 30, 50, region_id=f"r{t}-c"),
                    ],
                }
            ],
        }
        for t in range(1, count + 1)
    ]


def test_resync_of_2000_annotations_rewrites_the_bank_once(tmp_path, monkeypatch):
    store, bank = AnnotationStore(tmp_path), ExemplarBank(tmp_path)
    bank.record(
        1, 5000, 5000, "/data/upload/1/gone.png", {"Tile": [(0, 0, 9, 9)]}
    )  # deleted while a webhook was lost
    store.record(
        1, {"id": 5000, "updated_at": stamp(1), "result": [rectangle(0, 0, 9, 9)]}, 5000, "/gone.png"
    )
    requested_at = time.time() + 1  # the export is newer than everything recorded so far
    counts = store.apply_export(1, _export(ANNOTATIONS), "image", requested_at)
    assert counts["stored"] == ANNOTATIONS and counts["removed"] == 1

    writes = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: writes.append(dst) or real_replace(src, dst))
    started = time.perf_counter()
    mirrored = mirror_bank(store, bank, 1)
    seconds = time.perf_counter() - started
    print(
        f"mirror_bank of {ANNOTATIONS} annotations: {seconds:.3f} s"
    )  # measured, not asserted (shared CPUs)

    accepted = {str(t) for t in range(1, ANNOTATIONS + 1) if t % CANCELLED_EVERY}
    assert writes == [bank.path(1)]
    assert mirrored == {"bank_annotations": len(accepted), "bank_removed": 1}
    stored = json.loads(bank.path(1).read_text())["annotations"]
    assert set(stored) == accepted
    assert all(
        len(entry["labels"]["Tile"]) == 2 for entry in stored.values()
    )  # box + polygon of one object: one
    assert stored["7"]["task_id"] == 7 and stored["7"]["image_url"] == "/data/upload/1/7.png"
    assert len(bank.exemplars_for(1)["Tile"]) == 5
