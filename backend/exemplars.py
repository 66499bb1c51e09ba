"""The exemplar bank: boxes of accepted annotations, per project and label, for batch pre-annotation.

Stored as one JSON file per project, `MODEL_DIR/projects/<id>/exemplars.json`:

    {"format": 1,
     "annotations": {"<annotation id>": {"task_id": int, "image_url": str, "updated_at": str,
                                         "labels": {"<label>": [[x1, y1, x2, y2], ...]}}}}

Boxes are pixels of the original image. Webhooks write it (`record` / `forget`), batch /predict reads it
(`exemplars_for`). Writes are atomic (temporary file, then rename) under an exclusive `flock`, so gunicorn
threads and processes can share it. The learning issue can add fields per annotation (masks, splits) without
breaking readers: unknown keys are kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from backend.regions import box_iou

__all__ = ["ExemplarBank"]

FORMAT_VERSION = 1
MAX_ANNOTATIONS_PER_LABEL = 5
"""Most recent annotations used as references for one label (K-shot across images)."""
MAX_BOXES_PER_ANNOTATION = 8
"""Boxes of one label taken from one annotation (they are averaged into one reference)."""
SAME_OBJECT_IOU = 0.9
"""A box, brush and polygon of the same object give nearly identical boxes; keep one."""


class ExemplarBank:
    """Per-project file store of reference boxes.

    Args:
        model_dir: the shared MODEL_DIR.
    """

    def __init__(self, model_dir: Path):
        self.model_dir = Path(model_dir)

    def path(self, project_id: int) -> Path:
        return self.model_dir / "projects" / str(int(project_id)) / "exemplars.json"

    @contextlib.contextmanager
    def _locked(self, project_id: int) -> Iterator[dict]:
        path = self.path(project_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self._read(path)
            yield data
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".exemplars-", suffix=".json")
            with os.fdopen(fd, "w") as handle:
                json.dump(data, handle)
            os.replace(tmp, path)

    @staticmethod
    def _read(path: Path) -> dict:
        if not path.exists():
            return {"format": FORMAT_VERSION, "annotations": {}}
        with open(path) as handle:
            data = json.load(handle)
        data.setdefault("annotations", {})
        return data

    def record(self, project_id: int, annotation_id: int, task_id: int, image_url: str,
               boxes: dict[str, list[tuple[float, ...]]], updated_at: str = "") -> int:
        """Store (or replace) the boxes of one annotation; returns how many boxes were kept.

        An annotation with no usable boxes removes any earlier entry for it.
        """
        labels = {label: _dedupe(items)[:MAX_BOXES_PER_ANNOTATION] for label, items in boxes.items() if items}
        with self._locked(project_id) as data:
            if labels:
                data["annotations"][str(annotation_id)] = {
                    "task_id": int(task_id), "image_url": image_url, "updated_at": updated_at,
                    "labels": {k: [list(map(float, b)) for b in v] for k, v in labels.items()},
                }
            else:
                data["annotations"].pop(str(annotation_id), None)
        return sum(len(v) for v in labels.values())

    def forget(self, project_id: int, annotation_ids: list[int]) -> int:
        """Remove annotations (deleted in Label Studio); returns how many were stored."""
        if not self.path(project_id).exists():
            return 0
        with self._locked(project_id) as data:
            return sum(data["annotations"].pop(str(i), None) is not None for i in annotation_ids)

    def exemplars_for(self, project_id: int) -> dict[str, list[dict]]:
        """`{label: [{"task_id", "image_url", "boxes"}, ...]}`, newest annotations first, capped per label."""
        path = self.path(project_id)
        if not path.exists():
            return {}
        entries = sorted(self._read(path)["annotations"].items(),
                         key=lambda item: (item[1].get("updated_at", ""), int(item[0])), reverse=True)
        per_label: dict[str, list[dict]] = {}
        for _, entry in entries:
            for label, boxes in entry.get("labels", {}).items():
                bucket = per_label.setdefault(label, [])
                if len(bucket) < MAX_ANNOTATIONS_PER_LABEL:
                    bucket.append({"task_id": entry["task_id"], "image_url": entry["image_url"], "boxes": boxes})
        return per_label


def _dedupe(boxes: list[tuple[float, ...]]) -> list[tuple[float, ...]]:
    kept: list[tuple[float, ...]] = []
    for box in boxes:
        if not kept or float(box_iou(box, np.asarray(kept)).max()) < SAME_OBJECT_IOU:
            kept.append(box)
    return kept
