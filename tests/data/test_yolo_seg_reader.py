"""YOLO-seg folder reader: normalised polygons to pixels, box lines, negatives, helpful errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from model.data.yolo_seg import read_yolo_seg

HEIGHT, WIDTH = 50, 100


def _write_folder(root, label_text: str):
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    (root / "classes.txt").write_text("cat\ndog\n")
    for stem in ("one", "two"):
        Image.fromarray(np.zeros((HEIGHT, WIDTH, 3), np.uint8)).save(
            root / "images" / "train" / f"{stem}.jpg"
        )
    (root / "labels" / "train" / "one.txt").write_text(label_text)


def test_read_yolo_seg_polygons_boxes_and_negatives(tmp_path):
    _write_folder(tmp_path, "1 0.1 0.2 0.5 0.2 0.5 0.8 0.1 0.8\n0 0.5 0.5 0.2 0.4\n")
    dataset = read_yolo_seg(tmp_path)

    assert dataset.categories == ("cat", "dog")
    one, two = dataset.images
    assert (one.height, one.width) == (HEIGHT, WIDTH) and one.image_id == "train/one"
    dog, cat = one.instances
    assert dog.category == "dog" and dog.has_mask
    np.testing.assert_allclose(dog.box, [10, 10, 50, 40], atol=1e-4)
    mask = dog.mask(HEIGHT, WIDTH)
    assert mask[25, 30] and not mask[25, 70]
    assert abs(int(mask.sum()) - 40 * 30) <= 80, "the polygon covers about 40 x 30 pixels"
    assert cat.category == "cat" and not cat.has_mask, "a 5-value line is a box"
    np.testing.assert_allclose(cat.box, [40, 15, 60, 35], atol=1e-4)
    assert cat.mask(HEIGHT, WIDTH).sum() == 20 * 20
    assert two.instances == (), "an image without a label file is a negative"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("5 0.1 0.1 0.2 0.2 0.3 0.1", "outside classes.txt"),
        ("0 0.1 0.1 0.2", "even number"),
        ("x 0 0", "numbers"),
    ],
)
def test_read_yolo_seg_bad_lines_name_the_file_and_line(tmp_path, line, message):
    _write_folder(tmp_path, line + "\n")
    with pytest.raises(ValueError, match=message) as error:
        read_yolo_seg(tmp_path)
    assert "one.txt:1" in str(error.value)


def test_read_yolo_seg_without_classes_file_says_what_to_write(tmp_path):
    _write_folder(tmp_path, "")
    (tmp_path / "classes.txt").unlink()
    with pytest.raises(ValueError, match="classes.txt with one class name a line"):
        read_yolo_seg(tmp_path)


@pytest.mark.parametrize("names", ["names: [cat, dog]", "names:\n  0: cat\n  1: dog"])
def test_read_yolo_seg_takes_names_from_data_yaml(tmp_path, names):
    _write_folder(tmp_path, "1 0.5 0.5 0.2 0.4\n")
    (tmp_path / "classes.txt").unlink()
    (tmp_path / "data.yaml").write_text(f"path: .\ntrain: images/train\n{names}\n")
    dataset = read_yolo_seg(tmp_path)
    assert dataset.categories == ("cat", "dog")
    assert dataset.images[0].instances[0].category == "dog"
