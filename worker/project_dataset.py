"""A project's accepted annotations -> a `model.data.annotations.Dataset` for fine-tuning.

Per task, one annotation is used: the one marked ground truth, else the most recently updated (several
annotators may label one task). The suggestions this plugin returns carry the same object as a box, a brush
and a polygon; per label, regions whose boxes overlap by more than `SAME_OBJECT_IOU` are one object, and the one
with a mask (brush, then polygon) is kept. Images are fetched with the worker's own fetcher (every URL form Label
Studio serves), decoded once, written as PNG into a scratch folder and read with `model.data.label_studio`'s
reader, so Label Studio's region formats are parsed in one place only. A task's group (its clip, as the store
keeps it per task) goes into the export's task data, so the dataset's images carry it and fine-tuning holds out
whole clips. A task whose image cannot be fetched or whose size disagrees with its regions
is skipped and reported, never silently dropped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from common.annotation_store import StoredAnnotation
from common.image_groups import GROUP_FIELDS

__all__ = ["SAME_OBJECT_IOU", "build_dataset", "choose_per_task", "dedupe_regions"]

SAME_OBJECT_IOU = 0.9
"""Box IoU above which two regions of one label are the same object drawn with two tools."""
_PREFERENCE = {"brushlabels": 0, "polygonlabels": 1, "rectanglelabels": 2}
"""Which region of one object to keep: the most detailed mask first."""

log = logging.getLogger(__name__)


def choose_per_task(annotations: list[StoredAnnotation]) -> list[StoredAnnotation]:
    """One annotation per task: ground truth first, then the newest `updated_at`, then the highest id."""
    chosen: dict[int, StoredAnnotation] = {}
    for item in annotations:
        best = chosen.get(item.task_id)
        if best is None or (item.ground_truth, item.updated_at, item.id) > (best.ground_truth, best.updated_at, best.id):
            chosen[item.task_id] = item
    return [chosen[task] for task in sorted(chosen)]


def dedupe_regions(result: list[dict]) -> list[dict]:
    """Keep one region per object and label (see module doc); unsupported or malformed regions are dropped."""
    from common.exceptions import BadRequestError
    from common.region_boxes import region_to_box
    from common.regions import box_iou

    candidates = []
    for region in result:
        if not isinstance(region, dict) or region.get("type") not in _PREFERENCE:
            continue
        labels = (region.get("value") or {}).get(region["type"]) or []
        try:
            box = region_to_box(region)
        except BadRequestError:
            continue
        if labels:
            candidates.append((_PREFERENCE[region["type"]], str(labels[0]), box, region))
    kept: list[tuple[str, tuple, dict]] = []
    for _, label, box, region in sorted(candidates, key=lambda item: item[0]):
        same = [b for lab, b, _ in kept if lab == label]
        if same and float(box_iou(box, np.asarray(same)).max()) > SAME_OBJECT_IOU:
            continue
        kept.append((label, box, region))
    return [region for _, _, region in kept]


def _original_size(result: list[dict]) -> tuple[int, int] | None:
    for region in result:
        if "original_height" in region and "original_width" in region:
            return int(region["original_height"]), int(region["original_width"])
    return None


def build_dataset(annotations: list[StoredAnnotation], load_image: Callable[[StoredAnnotation], np.ndarray],
                  scratch: Path, progress: Callable[[int, int], None] | None = None):
    """Build the fine-tuning dataset.

    Args:
        annotations: the project's accepted annotations (from the store).
        load_image: fetches and decodes one annotation's task image (uint8 RGB, EXIF applied).
        scratch: an empty folder for the decoded images and the export file.
        progress: called with (done, total) after each image.

    Returns:
        `(Dataset, skipped)`; `skipped` lists `{"task_id", "annotation_id", "reason"}`.
    """
    from PIL import Image

    from model.data.label_studio import read_label_studio

    chosen = [a for a in choose_per_task(annotations) if a.result]
    tasks, skipped = [], []
    for index, item in enumerate(chosen):
        regions = dedupe_regions(item.result)
        try:
            if not regions:
                raise ValueError("no box, brush or polygon region")
            image = load_image(item)
            size = _original_size(regions)
            if size is not None and tuple(image.shape[:2]) != size:
                raise ValueError(f"the image decodes to {image.shape[1]}x{image.shape[0]} but was annotated at "
                                 f"{size[1]}x{size[0]}")
            path = scratch / f"task-{item.task_id}.png"
            Image.fromarray(image).save(path)
            data = {"image": str(path.resolve())} | ({GROUP_FIELDS[0]: item.group} if item.group else {})
            tasks.append({"id": item.task_id, "data": data,
                          "annotations": [{"id": item.id, "result": regions}]})
        except Exception as error:  # one bad task must not stop training on the others; it is reported
            skipped.append({"task_id": item.task_id, "annotation_id": item.id, "reason": str(error)[:300]})
            log.warning("task %s skipped for fine-tuning: %s", item.task_id, error)
        if progress:
            progress(index + 1, len(chosen))
    export = scratch / "export.json"
    export.write_text(json.dumps(tasks))
    return read_label_studio(export, scratch, image_key="image"), skipped
