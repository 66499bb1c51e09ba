"""common.mask_crop: a mask kept as its content box gives every consumer what the full mask gives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from common.mask_crop import MaskCrop, as_mask_crop
from common.mask_runs import foreground_runs, resampled_runs
from common.masks import decode_mask, decode_mask_crop, encode_mask
from common.polygons import mask_to_polygons


def _object(height: int, width: int, seed: int) -> np.ndarray:
    """A blotch somewhere in a larger image, possibly touching its edges."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((height, width), bool)
    top, left = int(rng.integers(0, height)), int(rng.integers(0, width))
    bottom, right = int(rng.integers(top, height + 1)), int(rng.integers(left, width + 1))
    mask[top:bottom, left:right] = rng.uniform(size=(bottom - top, right - left)) < rng.uniform(0.2, 1.0)
    return mask


masks = st.one_of(
    arrays(bool, st.tuples(st.integers(1, 30), st.integers(1, 30))),
    st.builds(_object, st.integers(1, 60), st.integers(1, 60), st.integers(0, 2**32)),
)


def _content_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


@settings(max_examples=150, deadline=None)
@given(masks)
def test_the_crop_is_the_content_box_with_or_without_a_window(mask):
    boxed = MaskCrop.of(mask)
    box = _content_box(mask)
    assert boxed.shape == mask.shape and boxed.any() == (box is not None)
    if box is not None:
        top, left, bottom, right = box
        assert (boxed.top, boxed.left, boxed.crop.shape) == (top, left, (bottom - top, right - left))
        # Any window that holds the foreground gives the same crop, reading only that window.
        windowed = MaskCrop.of(mask, (max(top - 2, 0), max(left - 1, 0), bottom, min(right + 3, mask.shape[1])))
        assert (windowed.top, windowed.left) == (boxed.top, boxed.left)
        assert np.array_equal(windowed.crop, boxed.crop)
    assert np.array_equal(boxed.full(), mask)
    assert np.array_equal(boxed.transposed().full(), mask.T)
    assert as_mask_crop(boxed) is boxed


@settings(max_examples=150, deadline=None)
@given(masks, st.integers(1, 50), st.integers(1, 50), st.sampled_from([0.5, 1.5]))
def test_runs_rle_and_polygons_of_the_crop_equal_those_of_the_full_mask(mask, height, width, tolerance):
    boxed = MaskCrop.of(mask)
    for got, want in ((foreground_runs(boxed), foreground_runs(mask)),
                      (resampled_runs(boxed, height, width), resampled_runs(mask, height, width))):
        assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
    rle = encode_mask(boxed)
    assert rle == encode_mask(mask)
    decoded = decode_mask_crop(rle)
    assert (decoded.top, decoded.left, decoded.shape) == (boxed.top, boxed.left, boxed.shape)
    assert np.array_equal(decoded.crop, boxed.crop) and np.array_equal(decode_mask(rle), mask)
    ours, full = mask_to_polygons(boxed, tolerance), mask_to_polygons(mask, tolerance)
    assert len(ours) == len(full) and all(np.array_equal(a, b) for a, b in zip(ours, full, strict=True))


def test_empty_masks_and_bad_windows():
    empty = MaskCrop.of(np.zeros((4, 6), bool))
    assert not empty.any() and empty.crop.shape == (0, 0) and not empty.full().any()
    assert [r.size for r in foreground_runs(empty)] == [0, 0] and mask_to_polygons(empty) == []
    assert not decode_mask_crop(encode_mask(empty)).any()
    with pytest.raises(ValueError, match="not inside a 4x6 mask"):
        MaskCrop.of(np.zeros((4, 6), bool), (0, 0, 5, 6))
    with pytest.raises(ValueError, match="expects a \\(H, W\\) mask"):
        MaskCrop.of(np.zeros((2, 2, 2), bool))
