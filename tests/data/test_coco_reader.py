"""COCO JSON reader: polygons, compressed and uncompressed RLE, crowd flags, category order, size checks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from model.data import load_dataset
from model.data.coco import read_coco

HEIGHT, WIDTH = 40, 60


def _write_fixture(tmp_path):
    images_dir = tmp_path / "val"
    images_dir.mkdir()
    Image.fromarray(np.zeros((HEIGHT, WIDTH, 3), np.uint8)).save(images_dir / "a.png")
    Image.fromarray(np.full((HEIGHT, WIDTH, 3), 200, np.uint8)).save(images_dir / "b.png")

    square = np.zeros((HEIGHT, WIDTH), np.uint8)
    square[10:20, 30:45] = 1
    compressed = mask_utils.encode(np.asfortranarray(square))
    compressed["counts"] = compressed["counts"].decode("ascii")
    crowd = np.zeros((HEIGHT, WIDTH), np.uint8)
    crowd[0:5, 0:5] = 1
    flat = crowd.ravel(order="F")
    # Uncompressed RLE: run lengths starting with zeros, column-major.
    changes = np.flatnonzero(np.diff(np.concatenate([[0], flat, [2]])) != 0)
    counts = np.diff(np.concatenate([[0], changes])).tolist()

    data = {
        "images": [
            {"id": 7, "file_name": "a.png", "height": HEIGHT, "width": WIDTH},
            {"id": 9, "file_name": "b.png", "height": HEIGHT, "width": WIDTH},
        ],
        "categories": [{"id": 18, "name": "dog"}, {"id": 1, "name": "person"}],
        "annotations": [
            {  # polygon, person
                "id": 1, "image_id": 7, "category_id": 1, "iscrowd": 0,
                "segmentation": [[2, 2, 12, 2, 12, 22, 2, 22]], "bbox": [2, 2, 10, 20],
            },
            {  # compressed RLE, dog
                "id": 2, "image_id": 7, "category_id": 18, "iscrowd": 0,
                "segmentation": compressed, "bbox": [30, 10, 15, 10],
            },
            {  # uncompressed RLE crowd, person, no bbox given
                "id": 3, "image_id": 9, "category_id": 1, "iscrowd": 1,
                "segmentation": {"size": [HEIGHT, WIDTH], "counts": counts},
            },
        ],
    }  # fmt: skip
    annotations_dir = tmp_path / "annotations"
    annotations_dir.mkdir()
    path = annotations_dir / "instances_val.json"
    path.write_text(json.dumps(data))
    return path, square, crowd


def test_read_coco_polygon_rle_and_crowd(tmp_path):
    path, square, crowd = _write_fixture(tmp_path)
    dataset = read_coco(path)

    assert dataset.categories == ("person", "dog"), "categories are ordered by COCO id"
    first, second = dataset.images
    assert first.image_id == "7" and first.source == tmp_path / "val" / "a.png", (
        "images dir guessed from the layout"
    )
    person, dog = first.instances
    assert person.category == "person" and person.category_id == 0
    np.testing.assert_allclose(person.box, [2, 2, 12, 22])
    polygon_mask = person.mask(HEIGHT, WIDTH)
    assert polygon_mask[5, 5] and not polygon_mask[30, 30]
    assert 180 <= polygon_mask.sum() <= 231, "a 10x20 polygon fills about 200 pixels"

    np.testing.assert_array_equal(dog.mask(HEIGHT, WIDTH), square.astype(bool))
    np.testing.assert_allclose(dog.box, [30, 10, 45, 20])

    (crowd_instance,) = second.instances
    assert crowd_instance.iscrowd
    np.testing.assert_array_equal(crowd_instance.mask(HEIGHT, WIDTH), crowd.astype(bool))
    np.testing.assert_allclose(crowd_instance.box, [0, 0, 5, 5])
    assert second.category_ids() == frozenset(), "crowd regions do not make a category present"
    assert dataset.images_with(0) == (0,)
    assert first.load_image().shape == (HEIGHT, WIDTH, 3)


def test_load_dataset_dispatches_and_rejects_unknown_format(tmp_path):
    path, *_ = _write_fixture(tmp_path)
    assert len(load_dataset(path, "coco")) == 2
    with pytest.raises(ValueError, match="yolo-seg"):
        load_dataset(path, "voc")


def test_read_coco_reports_missing_category(tmp_path):
    path, *_ = _write_fixture(tmp_path)
    data = json.loads(path.read_text())
    data["annotations"][0]["category_id"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="category 99"):
        read_coco(path)


def test_annotated_image_refuses_wrong_sized_file(tmp_path):
    path, *_ = _write_fixture(tmp_path)
    Image.fromarray(np.zeros((HEIGHT + 1, WIDTH, 3), np.uint8)).save(tmp_path / "val" / "a.png")
    with pytest.raises(ValueError, match="different"):
        read_coco(path).images[0].load_image()


def test_coco_rle_matches_the_rasterised_mask(tmp_path):
    from model.data.annotations import decode_rle_mask

    path, *_ = _write_fixture(tmp_path)
    dataset = read_coco(path)
    for image in dataset.images:
        for instance in image.instances:
            rle = instance.coco_rle(image.height, image.width)
            np.testing.assert_array_equal(decode_rle_mask(rle), instance.mask(image.height, image.width))


def test_images_in_an_images_folder_beside_the_json_are_found(tmp_path):
    import json

    from PIL import Image

    from model.data.coco import read_coco

    (tmp_path / "images").mkdir()
    Image.new("RGB", (8, 6)).save(tmp_path / "images" / "a.png")
    (tmp_path / "set.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.png", "height": 6, "width": 8}], "annotations": [],
        "categories": [{"id": 1, "name": "thing"}]}))
    assert read_coco(tmp_path / "set.json").images[0].load_image().shape == (6, 8, 3)
