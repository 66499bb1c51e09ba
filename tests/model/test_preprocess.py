import numpy as np
import pytest

from model.postprocess import boxes_to_original, paste_mask, paste_window
from model.preprocess import ResizeInfo, mold, reference_crop, resize_square, validate_box


def test_resize_square_landscape_downscale():
    image = np.full((300, 600, 3), 200, np.uint8)
    square, info = resize_square(image, 128, 96)
    assert square.shape == (128, 128, 3) and square.dtype == np.float32
    assert info.scale == pytest.approx(128 / 600)
    assert info.window == (32, 0, 96, 128)
    assert square[:32].max() == 0 and square[96:].max() == 0 and square[40, 64, 0] == 200


def test_resize_square_upscales_small_images_to_min_dim():
    _, info = resize_square(np.zeros((20, 30, 3), np.uint8), 128, 96)
    assert info.scale == pytest.approx(96 / 20 if round(30 * 96 / 20) <= 128 else 128 / 30)


def test_mold_subtracts_mean():
    np.testing.assert_allclose(mold(np.full((1, 1, 3), 100.0), (10, 20, 30))[0, 0], [90, 80, 70])


@pytest.mark.parametrize(
    "box, message",
    [((np.nan, 0, 5, 5), "NaN"), ((5, 5, 5, 9), "zero or negative"), ((9, 5, 2, 9), "zero or negative"),
     ((200, 200, 300, 300), "outside"), ((-50, -50, -1, -1), "outside"), ((1, 2, 3), "4 numbers")],
)
def test_validate_box_errors(box, message):
    with pytest.raises(ValueError, match=message):
        validate_box(box, (100, 100))


def test_validate_box_clips_partial_boxes():
    assert validate_box((-10, 5.5, 50.2, 500), (100, 80)) == (0, 5, 51, 100)


def test_reference_crop_letterboxes():
    image = np.zeros((100, 100, 3), np.uint8)
    image[10:20, 10:50] = 255
    crop = reference_crop(image, (10, 10, 50, 20), 64, 48)
    assert crop.shape == (64, 64, 3)
    # 40x10 box, long side to 64: 16 rows of white centred.
    assert crop[:, :, 0].max() == 255 and crop[0].max() == 0 and crop[32, 32, 0] == 255


def test_boxes_to_original_inverts_the_resize():
    image = np.zeros((300, 600, 3), np.uint8)
    _, info = resize_square(image, 128, 96)
    # A box drawn on the original at x 60..120, y 30..90 -> padded pixels -> normalised.
    px = np.array([[30 * info.scale + 32, 60 * info.scale, 90 * info.scale + 32, 120 * info.scale]], np.float32)
    norm = (px - [0, 0, 1, 1]) / 127
    np.testing.assert_allclose(boxes_to_original(norm, info), [[60, 30, 120, 90]], atol=1e-3)


def test_paste_mask_places_mask_at_full_resolution():
    mask = np.zeros((28, 28), np.float32)
    mask[:, :14] = 1.0  # left half of the box
    full = paste_mask(mask, np.array([100, 50, 140, 90], np.float32), (200, 300))
    assert full.shape == (200, 300) and full.dtype == bool
    ys, xs = np.nonzero(full)
    assert ys.min() == 50 and ys.max() == 89
    assert xs.min() == 100 and 118 <= xs.max() <= 121
    assert full.sum() == pytest.approx(40 * 20, rel=0.1)


def test_paste_mask_clips_at_the_border():
    full = paste_mask(np.ones((28, 28)), np.array([290, 190, 310, 210], np.float32), (200, 300))
    assert full.sum() == 100 and full[199, 299]


@pytest.mark.parametrize("box", [(10.2, 5.7, 40.1, 30.0), (-20.0, -5.0, 3.5, 2.2), (60.5, 40.5, 90.0, 70.0),
                                 (63.9, 47.9, 64.0, 48.0), (0.0, 0.0, 64.0, 48.0)])
def test_a_pasted_mask_is_false_outside_its_paste_window(box):
    # The worker encodes each mask from this window alone (worker.jobs._records): nothing may lie outside it.
    window = paste_window(np.asarray(box), (48, 64))
    top, left, bottom, right = window
    assert 0 <= top < bottom <= 48 and 0 <= left < right <= 64
    full = paste_mask(np.ones((28, 28), np.float32), np.asarray(box), (48, 64))
    inside = np.zeros((48, 64), bool)
    inside[top:bottom, left:right] = True
    assert full[inside].all() and not full[~inside].any()


def test_normalized_window():
    info = ResizeInfo((300, 600), 128 / 600, (32, 0, 96, 128), 128)
    np.testing.assert_allclose(info.normalized_window(), [32 / 127, 0, 95 / 127, 1.0], atol=1e-6)
