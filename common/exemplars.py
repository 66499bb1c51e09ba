"""The exemplar bank: boxes of accepted annotations, per project and label, for batch pre-annotation.

Stored as one JSON file per project, `MODEL_DIR/projects/<id>/exemplars.json`:

    {"format": 1,
     "annotations": {"<annotation id>": {"task_id": int, "image_url": str, "updated_at": str,
                                         "labels": {"<label>": [[x1, y1, x2, y2], ...]}}}}

Boxes are pixels of the original image. Webhooks write it (`record` / `forget`), a resync from Label Studio's
export rewrites it once (`record_many`), batch /predict reads it (`exemplars_for`, which picks a few diverse
annotations per label with `select_diverse`). Writes are atomic (temporary file, then rename) under an exclusive
`flock`, so gunicorn threads and processes can share it. The learning issue can add fields per annotation
(masks, splits) without breaking readers: unknown keys are kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from common.regions import box_iou

__all__ = ["ExemplarBank", "ExemplarUpdate", "box_descriptor", "select_diverse"]

FORMAT_VERSION = 1
MAX_ANNOTATIONS_PER_LABEL = 5
"""Annotations used as references for one label (K-shot across images), chosen by `select_diverse`."""
MAX_CANDIDATES_PER_LABEL = 50
"""`select_diverse` looks at this many newest annotations of a label (bounds the work of every batch request)."""
MAX_BOXES_PER_ANNOTATION = 8
"""Boxes of one label taken from one annotation (they are averaged into one reference)."""
SAME_OBJECT_IOU = 0.9
"""A box, brush and polygon of the same object give nearly identical boxes; keep one."""
DESCRIPTOR_RESOLUTION = 0.1
"""Descriptor distances are compared in steps of this (natural-log units, about 10% in side or aspect ratio):
annotations closer than that count as equally far, and the newer one wins."""
MIN_SIDE_PX = 1.0
"""Floor of a box side in the descriptor (a degenerate box stays finite)."""

Box = Sequence[float]


class ExemplarUpdate(NamedTuple):
    """One annotation to store (`ExemplarBank.record_many`): its boxes per label, pixels of the original image."""

    annotation_id: int
    task_id: int
    image_url: str
    boxes: dict[str, list[Box]]
    updated_at: str = ""


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
                handle.write(json.dumps(data))  # json.dump streams through the pure-Python encoder: 5x slower
            os.replace(tmp, path)

    @staticmethod
    def _read(path: Path) -> dict:
        if not path.exists():
            return {"format": FORMAT_VERSION, "annotations": {}}
        with open(path) as handle:
            data = json.load(handle)
        data.setdefault("annotations", {})
        return data

    def record(
        self,
        project_id: int,
        annotation_id: int,
        task_id: int,
        image_url: str,
        boxes: dict[str, list[Box]],
        updated_at: str = "",
    ) -> int:
        """Store (or replace) the boxes of one annotation; returns how many boxes were kept.

        An annotation with no usable boxes removes any earlier entry for it.
        """
        with self._locked(project_id) as data:
            return _apply(
                data["annotations"], ExemplarUpdate(annotation_id, task_id, image_url, boxes, updated_at)
            )

    def record_many(
        self, project_id: int, updates: Iterable[ExemplarUpdate], forget: Iterable[int] = ()
    ) -> dict[str, int]:
        """`record` every update and `forget` the given ids in ONE read-modify-write of the file (a resync).

        The result is the same as calling `record` for each update in order, then `forget`; annotations the
        bank holds that are neither updated nor forgotten stay as they are.

        Returns:
            `{"recorded": annotations stored with at least one box, "removed": forgotten ids that were stored}`.
        """
        updates, forget = list(updates), [str(i) for i in forget]
        if not updates and not (forget and self.path(project_id).exists()):
            return {"recorded": 0, "removed": 0}
        with self._locked(project_id) as data:
            annotations = data["annotations"]
            recorded = sum(_apply(annotations, update) > 0 for update in updates)
            removed = sum(annotations.pop(i, None) is not None for i in forget)
        return {"recorded": recorded, "removed": removed}

    def forget(self, project_id: int, annotation_ids: list[int]) -> int:
        """Remove annotations (deleted in Label Studio); returns how many were stored."""
        if not self.path(project_id).exists():
            return 0
        with self._locked(project_id) as data:
            return sum(data["annotations"].pop(str(i), None) is not None for i in annotation_ids)

    def exemplars_for(self, project_id: int) -> dict[str, list[dict]]:
        """`{label: [{"task_id", "image_url", "boxes"}, ...]}`: per label, up to `MAX_ANNOTATIONS_PER_LABEL`
        diverse annotations (`select_diverse` over the `MAX_CANDIDATES_PER_LABEL` newest), the newest first."""
        path = self.path(project_id)
        if not path.exists():
            return {}
        entries = sorted(
            self._read(path)["annotations"].items(),
            key=lambda item: (item[1].get("updated_at", ""), int(item[0])),
            reverse=True,
        )
        candidates: dict[str, list[dict]] = {}
        for _, entry in entries:
            for label, boxes in entry.get("labels", {}).items():
                bucket = candidates.setdefault(label, [])
                if len(bucket) < MAX_CANDIDATES_PER_LABEL:
                    bucket.append(
                        {"task_id": entry["task_id"], "image_url": entry["image_url"], "boxes": boxes}
                    )
        return {
            label: select_diverse(bucket, MAX_ANNOTATIONS_PER_LABEL) for label, bucket in candidates.items()
        }


def box_descriptor(boxes: Sequence[Box]) -> tuple[float, float]:
    """What one annotation's boxes of a label look like to the reference encoder, without the model.

    `(log aspect ratio w/h, log size in pixels)`, the size being the geometric mean of width and height, both
    averaged over the boxes. The encoder crops each box from the original image and letterboxes it into a fixed
    square: the aspect ratio decides the crop's shape (and often the pose: a standing or a sitting person, a car
    seen from the side or the front), the pixel size its sharpness (a 20-pixel object is a blurry crop, a
    300-pixel one a detailed one). Natural-log units: a factor of 2 in either is a distance of 0.69.
    """
    widths = [max(float(b[2]) - float(b[0]), MIN_SIDE_PX) for b in boxes]
    heights = [max(float(b[3]) - float(b[1]), MIN_SIDE_PX) for b in boxes]
    aspect = [math.log(w / h) for w, h in zip(widths, heights, strict=True)]
    size = [0.5 * math.log(w * h) for w, h in zip(widths, heights, strict=True)]
    return sum(aspect) / len(aspect), sum(size) / len(size)


def select_diverse(candidates: Sequence[dict], count: int) -> list[dict]:
    """Pick `count` varied annotations of one label: greedy farthest-point selection, deterministic.

    Args:
        candidates: `{"image_url", "boxes", ...}` per annotation, NEWEST FIRST (recency is the tie-breaker).
        count: how many to keep.
    Returns:
        The chosen candidates in the order they were chosen; all of them, newest first, when there are at most
        `count`.

    The newest annotation is taken first (it follows the current labelling guideline). Then, repeatedly, the
    candidate that maximises, in this order:
    1. showing an image none of the chosen ones shows (references from other images bring other lighting,
       backgrounds and instances, which no box descriptor sees);
    2. the distance of its `box_descriptor` to the nearest chosen one, in steps of `DESCRIPTOR_RESOLUTION`;
    3. recency.
    """
    if count <= 0:
        return []
    if len(candidates) <= count:
        return list(candidates)
    points = np.array([box_descriptor(c["boxes"]) for c in candidates])
    # distance of each candidate's descriptor to the nearest chosen one
    nearest = np.linalg.norm(points - points[0], axis=1)
    chosen, images = [0], {candidates[0]["image_url"]}
    while len(chosen) < count:
        best, best_key = -1, None
        for index, candidate in enumerate(candidates):
            if index in chosen:
                continue
            key = (
                candidate["image_url"] not in images,
                math.floor(nearest[index] / DESCRIPTOR_RESOLUTION),
                -index,
            )
            if best_key is None or key > best_key:
                best, best_key = index, key
        chosen.append(best)
        images.add(candidates[best]["image_url"])
        nearest = np.minimum(nearest, np.linalg.norm(points - points[best], axis=1))
    return [candidates[i] for i in chosen]


def _apply(annotations: dict, update: ExemplarUpdate) -> int:
    """Store `update` into the file's `annotations` (or drop its entry when it has no box); returns boxes kept."""
    labels = {
        label: _dedupe(items)[:MAX_BOXES_PER_ANNOTATION] for label, items in update.boxes.items() if items
    }
    if labels:
        annotations[str(update.annotation_id)] = {
            "task_id": int(update.task_id),
            "image_url": update.image_url,
            "updated_at": update.updated_at,
            "labels": {k: [list(map(float, b)) for b in v] for k, v in labels.items()},
        }
    else:
        annotations.pop(str(update.annotation_id), None)
    return sum(len(v) for v in labels.values())


def _dedupe(boxes: list[Box]) -> list[Box]:
    kept: list[Box] = []
    for box in boxes:
        if not kept or float(box_iou(box, np.asarray(kept)).max()) < SAME_OBJECT_IOU:
            kept.append(box)
    return kept
