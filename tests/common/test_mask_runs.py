"""common.mask_runs against a flat reference, and the COCO RLE built on it against pycocotools' encoder and decoder."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as coco_mask

from common.mask_runs import alternating_counts, counts_to_runs, foreground_runs
from common.masks import decode_mask, encode_mask

masks = arrays(bool, st.tuples(st.integers(1, 40), st.integers(1, 40)))


def _blotchy(height: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(height, width)) < rng.uniform()


any_masks = st.one_of(
    masks, st.builds(_blotchy, st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32))
)


def _reference_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    flat = np.concatenate(([0], mask.ravel().astype(np.int8), [0]))
    change = np.flatnonzero(np.diff(flat))
    return change[0::2], change[1::2]


def _pycocotools(mask: np.ndarray) -> dict:
    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


@settings(max_examples=200, deadline=None)
@given(any_masks)
def test_runs_equal_those_of_the_flattened_mask_in_any_layout(mask):
    for view in (mask, mask.T, np.asfortranarray(mask), mask[::-1]):
        starts, ends = foreground_runs(view)
        expected_starts, expected_ends = _reference_runs(np.ascontiguousarray(view))
        assert np.array_equal(starts, expected_starts) and np.array_equal(ends, expected_ends)
        counts = alternating_counts(starts, ends, view.size)
        assert counts.sum() == view.size and (counts[1:] > 0).all()


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (5, 7)])
def test_empty_full_and_row_spanning_masks(shape):
    empty = np.zeros(shape, bool)
    assert [r.tolist() for r in foreground_runs(empty)] == [[], []]
    assert alternating_counts(*foreground_runs(empty), empty.size).tolist() == [empty.size]
    full = ~empty
    assert [r.tolist() for r in foreground_runs(full)] == [[0], [full.size]]
    assert alternating_counts(*foreground_runs(full), full.size).tolist() == [0, full.size]


def test_a_run_continues_from_the_right_edge_into_the_next_row():
    mask = np.zeros((3, 4), bool)
    mask[0, 2:] = mask[1, :] = mask[2, :1] = True
    assert [r.tolist() for r in foreground_runs(mask)] == [[2], [9]]


@settings(max_examples=300, deadline=None)
@given(any_masks)
def test_encode_mask_writes_pycocotools_string(mask):
    assert encode_mask(mask) == _pycocotools(mask)
    assert encode_mask(np.asfortranarray(mask)) == _pycocotools(mask)
    assert encode_mask(mask.astype(np.uint8)) == _pycocotools(mask)


@pytest.mark.parametrize("shape", [(1, 1), (3, 1), (1, 3), (768, 1024)])
def test_encode_mask_of_empty_full_and_object_masks(shape):
    for mask in (np.zeros(shape, bool), np.ones(shape, bool)):
        assert encode_mask(mask) == _pycocotools(mask)
    mask = np.zeros(shape, bool)
    mask[shape[0] // 3 :, : shape[1] // 2 + 1] = True
    assert encode_mask(mask) == _pycocotools(mask)


@settings(max_examples=300, deadline=None)
@given(any_masks)
def test_decode_mask_reads_pycocotools_strings(mask):
    rle = _pycocotools(mask)
    decoded = decode_mask(rle)
    assert decoded.dtype == bool and decoded.flags.c_contiguous
    assert np.array_equal(decoded, coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode()}))
    assert np.array_equal(decode_mask({"size": rle["size"], "counts": rle["counts"].encode()}), mask)


@pytest.mark.parametrize("shape", [(1, 1), (3, 1), (1, 3), (768, 1024), (3024, 4032)])
def test_decode_mask_of_empty_full_tall_and_object_masks(shape):
    tall = np.zeros(shape, bool)
    tall[:, shape[1] // 3 :] = True  # runs that span whole columns
    tall[: shape[0] // 2, -1] = False
    blob = np.zeros(shape, bool)
    blob[shape[0] // 4 : shape[0] // 2 + 1, shape[1] // 5 : shape[1] // 2 + 1] = True
    blob[shape[0] // 3, :] = True
    for mask in (np.zeros(shape, bool), np.ones(shape, bool), tall, blob):
        assert np.array_equal(decode_mask(_pycocotools(mask)), mask)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=20))
def test_counts_to_runs_inverts_alternating_counts_even_with_empty_runs(counts):
    values = np.repeat(np.arange(len(counts)) % 2 == 1, counts)
    starts, ends = counts_to_runs(np.array(counts, np.int64))
    expected_starts, expected_ends = _reference_runs(values[None, :])
    assert starts.tolist() == expected_starts.tolist() and ends.tolist() == expected_ends.tolist()
    again = alternating_counts(starts, ends, values.size)
    assert np.array_equal(np.repeat(np.arange(len(again)) % 2 == 1, again), values)


@pytest.mark.parametrize(
    "rle",
    [
        {"size": [2, 2], "counts": "3"},  # covers 3 of 4 pixels
        {"size": [2, 2], "counts": "0`"},  # ends inside a number
        {"size": [2, 2], "counts": "4 "},  # a character below '0'
        {"size": [2, 2], "counts": [4]},  # uncompressed counts are not what encode_mask writes
        {"size": [2], "counts": "4"},
    ],
)
def test_malformed_rle_is_a_value_error(rle):
    with pytest.raises(ValueError):
        decode_mask(rle)
