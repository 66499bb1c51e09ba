"""The fine-tuning dataset built from the store: one annotation per task, one region per object, bad tasks reported."""

from __future__ import annotations

import numpy as np
from learning_helpers import IMAGE_SIZE, rectangle, tile_image, tile_positions, tile_result

from common.annotation_store import ACCEPTED, AnnotationStore, StoredAnnotation
from worker.project_dataset import build_dataset, choose_per_task, dedupe_regions


def _stored(annotation_id: int, task_id: int, result: list, updated_at: str = "a", ground_truth: bool = False):
    return StoredAnnotation(annotation_id, task_id, f"/img/{task_id}.png", updated_at, ACCEPTED, ground_truth, result,
                            annotation_id, "webhook")


def _polygon(x: float, y: float, size: float) -> dict:
    height, width = IMAGE_SIZE
    points = [[100 * px / width, 100 * py / height] for px, py in
              ((x, y), (x + size, y), (x + size, y + size), (x, y + size))]
    return {"id": "p", "type": "polygonlabels", "from_name": "poly", "to_name": "image", "original_width": width,
            "original_height": height, "value": {"points": points, "polygonlabels": ["Tile"]}}


def test_one_annotation_per_task_ground_truth_then_newest():
    chosen = choose_per_task([_stored(1, 7, [], "b"), _stored(2, 7, [], "c"), _stored(3, 8, [], "z"),
                              _stored(4, 8, [], "a", ground_truth=True)])
    assert [a.id for a in chosen] == [2, 4]


def test_the_same_object_drawn_with_two_tools_is_kept_once_with_its_mask():
    regions = [rectangle(10, 10, 24, 24), _polygon(10, 10, 24), rectangle(60, 10, 24, 24),
               rectangle(60, 10, 24, 24, label="Other"), {"type": "choices", "value": {"choices": ["x"]}}]
    kept = dedupe_regions(regions)
    assert [(r["type"], r["value"].get("rectanglelabels", r["value"].get("polygonlabels"))) for r in kept] == [
        ("polygonlabels", ["Tile"]), ("rectanglelabels", ["Tile"]), ("rectanglelabels", ["Other"])]


def test_build_dataset_fetches_images_and_reports_the_tasks_it_cannot_use(tmp_path):
    annotations = [_stored(1, 1, tile_result(1)), _stored(2, 2, tile_result(2)), _stored(3, 3, tile_result(3)),
                   _stored(4, 4, [{"type": "choices", "value": {"choices": ["x"]}}])]
    fetched = []

    def load(item):
        fetched.append(item.task_id)
        if item.task_id == 3:
            return np.zeros((50, 50, 3), np.uint8)  # a different file than the one annotated
        return tile_image(item.task_id)

    progress = []
    dataset, skipped = build_dataset(annotations, load, tmp_path, lambda done, total: progress.append((done, total)))
    assert fetched == [1, 2, 3] and progress[-1] == (4, 4)
    assert [s["task_id"] for s in skipped] == [3, 4]
    assert "annotated at 128x96" in skipped[0]["reason"] and "no box" in skipped[1]["reason"]
    assert dataset.categories == ("Tile",) and [img.image_id for img in dataset.images] == ["1", "2"]
    first = dataset.images[0]
    assert np.array_equal(first.load_image(), tile_image(1))
    boxes = sorted(tuple(np.round(a.box).astype(int)) for a in first.instances)
    assert boxes == sorted((x, y, x + 24, y + 24) for x, y in tile_positions(1))


def test_each_task_clip_from_the_store_becomes_its_image_group(tmp_path):
    store = AnnotationStore(tmp_path / "store")

    def record(annotation_id, task_id, group=None, **fields):
        annotation = {"id": annotation_id, "updated_at": "a", "result": tile_result(task_id)} | fields
        store.record(1, annotation, task_id, f"/img/{task_id}.png", group=group)

    record(1, 1, "clip-7")
    record(2, 2)
    record(3, 3, ground_truth=True)  # recorded before any event named task 3's clip
    record(4, 3, "clip-8")  # another annotation of task 3 names it: the clip is the task's
    dataset, skipped = build_dataset(store.annotations(1), lambda item: tile_image(item.task_id), tmp_path)
    assert skipped == []
    assert {img.image_id: img.group for img in dataset.images} == {"1": "clip-7", "2": None, "3": "clip-8"}
