"""Label Studio JSON export reader: brush RLE, polygons, rectangles (rotated too), cancelled annotations, paths."""

from __future__ import annotations

import json

import numpy as np
import pytest
from label_studio_sdk.converter.brush import mask2rle
from PIL import Image

from model.data.label_studio import read_label_studio

HEIGHT, WIDTH = 40, 80


def _region(kind: str, label: str, value: dict) -> dict:
    return {
        "id": f"{kind}-{label}",
        "type": kind,
        "from_name": "label",
        "to_name": "image",
        "original_width": WIDTH,
        "original_height": HEIGHT,
        "value": {**value, kind: [label]},
    }


def _write_export(tmp_path, brush_mask: np.ndarray) -> tuple:
    images = tmp_path / "media"
    images.mkdir()
    Image.fromarray(np.zeros((HEIGHT, WIDTH, 3), np.uint8)).save(images / "photo.jpg")
    Image.fromarray(np.zeros((HEIGHT, WIDTH, 3), np.uint8)).save(images / "other.jpg")
    brush = _region(
        "brushlabels", "screw", {"format": "rle", "rle": mask2rle(brush_mask.astype(np.uint8) * 255)}
    )
    polygon = _region("polygonlabels", "nut", {"points": [[10, 10], [30, 10], [30, 60], [10, 60]]})
    rectangle = _region(
        "rectanglelabels", "washer", {"x": 50, "y": 25, "width": 25, "height": 50, "rotation": 0}
    )
    rotated = _region(
        "rectanglelabels", "washer", {"x": 50, "y": 0, "width": 10, "height": 20, "rotation": 90}
    )
    tasks = [
        {
            "id": 11,
            "data": {"image": "/data/upload/3/1a2b3c4d-photo.jpg"},
            "annotations": [
                {"id": 1, "was_cancelled": True, "result": [_region("polygonlabels", "bogus", {"points": [[0, 0], [9, 0], [9, 9]]})]},
                {"id": 2, "was_cancelled": False, "result": [brush, polygon, rectangle, rotated]},
            ],
        },
        {"id": 12, "data": {"image": "/data/local-files/?d=media/other.jpg", "video": 3}, "annotations": []},
    ]  # fmt: skip
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks))
    return path, images


def test_read_label_studio_brush_polygon_rectangle(tmp_path):
    brush_mask = np.zeros((HEIGHT, WIDTH), bool)
    brush_mask[5:15, 60:70] = True
    path, images = _write_export(tmp_path, brush_mask)
    dataset = read_label_studio(path, images)

    assert dataset.categories == ("nut", "screw", "washer"), (
        "labels sorted; the cancelled annotation's is ignored"
    )
    task, empty = dataset.images
    assert task.image_id == "11" and task.source == images / "photo.jpg", "upload prefix stripped"
    assert empty.instances == () and (empty.height, empty.width) == (HEIGHT, WIDTH)
    assert task.group is None and empty.group == "3", "a task's data.video is its image's group"
    screw, nut, washer, rotated = task.instances

    np.testing.assert_array_equal(screw.mask(HEIGHT, WIDTH), brush_mask)
    np.testing.assert_allclose(screw.box, [60, 5, 70, 15])

    np.testing.assert_allclose(nut.box, [8, 4, 24, 24], atol=1e-4)  # percent -> pixels
    assert nut.mask(HEIGHT, WIDTH)[10, 10] and not nut.mask(HEIGHT, WIDTH)[30, 30]

    np.testing.assert_allclose(washer.box, [40, 10, 60, 30], atol=1e-4)
    assert not washer.has_mask and washer.mask(HEIGHT, WIDTH).sum() == 20 * 20

    # 8x8 px rectangle at (40, 0) turned 90 degrees clockwise about its top-left corner: spans x 32..40, y 0..8.
    np.testing.assert_allclose(rotated.box, [32, 0, 40, 8], atol=1e-3)
    assert rotated.has_mask


def test_read_label_studio_missing_image_says_pass_images_dir(tmp_path):
    path, _ = _write_export(tmp_path, np.zeros((HEIGHT, WIDTH), bool))
    with pytest.raises(ValueError, match="images_dir"):
        read_label_studio(path, tmp_path / "elsewhere")


def test_read_label_studio_rejects_region_of_other_size(tmp_path):
    path, images = _write_export(tmp_path, np.zeros((HEIGHT, WIDTH), bool))
    tasks = json.loads(path.read_text())
    tasks[0]["annotations"][1]["result"][1]["original_width"] = WIDTH * 2
    path.write_text(json.dumps(tasks))
    with pytest.raises(ValueError, match="share one size"):
        read_label_studio(path, images)
