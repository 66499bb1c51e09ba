"""Augmentation keeps images, boxes and masks aligned."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.data import Augmentation
from model.data.annotations import box_from_mask


def _scene(height: int, width: int, boxes: list[tuple[int, int, int, int]]):
    image = np.zeros((height, width, 3), np.uint8)
    masks = np.zeros((len(boxes), height, width), bool)
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        masks[i, y1:y2, x1:x2] = True
        image[y1:y2, x1:x2] = 255
    return image, np.array(boxes, np.float32), masks


@st.composite
def _boxes(draw):
    height, width = draw(st.integers(20, 60)), draw(st.integers(20, 60))
    count = draw(st.integers(1, 3))
    boxes = []
    for _ in range(count):
        x1, y1 = draw(st.integers(0, width - 6)), draw(st.integers(0, height - 6))
        boxes.append((x1, y1, draw(st.integers(x1 + 5, width)), draw(st.integers(y1 + 5, height))))
    return height, width, boxes


@settings(max_examples=40, deadline=None)
@given(_boxes(), st.integers(0, 2**31 - 1))
def test_boxes_follow_masks_under_flip_and_scale(scene, seed):
    height, width, box_list = scene
    image, boxes, masks = _scene(height, width, box_list)
    augmentation = Augmentation(
        flip_probability=0.5, scale_range=(0.5, 1.5), brightness=0, contrast=0, saturation=0
    )
    new_image, new_boxes, new_masks = augmentation.apply(image, boxes, masks, np.random.default_rng(seed))
    assert new_masks.shape[1:] == new_image.shape[:2]
    for mask, box in zip(new_masks, new_boxes, strict=True):
        np.testing.assert_allclose(box_from_mask(mask), box, atol=1.5)  # nearest-neighbour rounding
    # The white pixels of the image are where the masks are, up to one pixel along the box edges.
    white = new_image[..., 0] > 128
    union = new_masks.any(axis=0)
    perimeters = sum(2 * ((x2 - x1) + (y2 - y1)) + 4 for x1, y1, x2, y2 in new_boxes)
    assert np.sum(white != union) <= perimeters


def test_flip_is_exact():
    image, boxes, masks = _scene(10, 20, [(2, 1, 7, 5)])
    augmentation = Augmentation(
        flip_probability=1.0, scale_range=(1, 1), brightness=0, contrast=0, saturation=0
    )
    new_image, new_boxes, new_masks = augmentation.apply(image, boxes, masks, np.random.default_rng(0))
    np.testing.assert_array_equal(new_boxes, [[13, 1, 18, 5]])
    np.testing.assert_array_equal(box_from_mask(new_masks[0]), new_boxes[0])
    np.testing.assert_array_equal(new_image, image[:, ::-1])


def test_colour_jitter_changes_colours_only():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    augmentation = Augmentation(
        flip_probability=0, scale_range=(1, 1), brightness=0.5, contrast=0.5, saturation=0.5
    )
    new_image, boxes, masks = augmentation.apply(image, np.zeros((0, 4)), None, np.random.default_rng(1))
    assert new_image.shape == image.shape and new_image.dtype == np.uint8
    assert not np.array_equal(new_image, image)
    assert masks is None and boxes.shape == (0, 4)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="scale_range"):
        Augmentation(scale_range=(1.2, 0.8))


def test_acquisition_shift_flattens_brightens_and_blurs_within_its_ranges():
    from model.data.augment import NETWORK_SIDE, AcquisitionShift, blur_at_network_scale, flatten_and_scale

    image = np.zeros((NETWORK_SIDE // 2, NETWORK_SIDE, 3), np.uint8)
    image[:, : NETWORK_SIDE // 2] = 200
    image[:, NETWORK_SIDE // 2 :] = 100
    flat = flatten_and_scale(image, 0.5, 1.0)
    assert set(np.unique(flat)) == {125, 175}  # half the distance from the mean (150)
    assert flatten_and_scale(image, 1.0, 1.2).max() == 240
    edge = blur_at_network_scale(image, 2.0)[0, NETWORK_SIDE // 2 - 4 : NETWORK_SIDE // 2 + 4, 0]
    assert ((edge > 100) & (edge < 200)).any()  # the step is smeared over a few pixels
    assert blur_at_network_scale(image, 0.0) is image
    never = AcquisitionShift(probability=0.0)
    assert never.apply(image, np.random.default_rng(0)) is image
    always = AcquisitionShift(probability=1.0, contrast=(0.5, 0.5), brightness=(1.0, 1.0), defocus_probability=0.0)
    assert np.array_equal(always.apply(image, np.random.default_rng(0)), flat)


@pytest.mark.parametrize("field, value", [("probability", 1.5), ("defocus_probability", -0.1),
                                          ("contrast", (1.2, 0.8)), ("defocus_sigma", (-1.0, 1.0))])
def test_acquisition_shift_refuses_impossible_settings(field, value):
    from model.data.augment import AcquisitionShift

    with pytest.raises(ValueError, match=field):
        AcquisitionShift(**{field: value})
