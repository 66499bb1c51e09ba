"""`ExemplarBank.record_many`: the same bank as one `record` per annotation, in one write of the file."""

from __future__ import annotations

import json
import os

import numpy as np

from common.exemplars import ExemplarBank, ExemplarUpdate


def _updates(count: int, seed: int) -> list[ExemplarUpdate]:
    """Replaced ids, several labels, duplicate boxes of one object, and annotations left without boxes."""
    rng = np.random.default_rng(seed)
    updates = []
    for index in range(count):
        annotation_id = int(rng.integers(1, count // 2 + 2))  # about half the ids come back (updates)
        boxes: dict[str, list] = {}
        for label in ("Cup", "Car")[: int(rng.integers(0, 3))]:  # 0 labels: the annotation has no usable box
            x, y = (float(v) for v in rng.uniform(0, 300, 2))
            w, h = (float(v) for v in rng.uniform(5, 200, 2))
            boxes[label] = [(x, y, x + w, y + h), (x + 0.5, y, x + w, y + h)] * int(rng.integers(1, 3))
        updates.append(
            ExemplarUpdate(
                annotation_id,
                annotation_id + 1000,
                f"/data/upload/1/{annotation_id}.png",
                boxes,
                f"2026-11-21T10:{index % 60:02d}:{index // 60:02d}",
            )
        )
    return updates


def test_one_write_gives_the_same_file_and_counts_as_one_record_per_annotation(tmp_path, monkeypatch):
    updates, forget = _updates(300, seed=1), [3, 5, 7, 10_000]
    one_by_one, bulk = ExemplarBank(tmp_path / "one"), ExemplarBank(tmp_path / "bulk")
    for bank in (one_by_one, bulk):  # both start from the same stored annotations
        bank.record(1, 3, 3, "/data/upload/1/old.png", {"Cup": [(0, 0, 9, 9)]})
        bank.record(1, 99_999, 9, "/data/upload/1/kept.png", {"Cup": [(0, 0, 9, 9)]})
    recorded = sum(one_by_one.record(1, *update) > 0 for update in updates)
    removed = one_by_one.forget(1, forget)

    writes = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: writes.append(dst) or real_replace(src, dst))
    counts = bulk.record_many(1, iter(updates), forget)

    assert writes == [bulk.path(1)]
    assert counts == {"recorded": recorded, "removed": removed}
    assert json.loads(bulk.path(1).read_text()) == json.loads(one_by_one.path(1).read_text())
    assert bulk.exemplars_for(1) == one_by_one.exemplars_for(1)
    assert (
        "99999" in json.loads(bulk.path(1).read_text())["annotations"]
    )  # neither updated nor forgotten: kept


def test_nothing_to_do_writes_nothing(tmp_path):
    bank = ExemplarBank(tmp_path)
    assert bank.record_many(1, [], [1, 2]) == {"recorded": 0, "removed": 0}
    assert not bank.path(1).exists()
    assert bank.record_many(1, [ExemplarUpdate(1, 1, "u", {})]) == {"recorded": 0, "removed": 0}
    assert json.loads(bank.path(1).read_text())["annotations"] == {}
