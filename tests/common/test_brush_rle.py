"""common.brush_rle against the SDK's encoder and decoder: the same bytes, the same values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from label_studio_sdk.converter.brush import decode_rle, encode_rle, mask2rle

from common.brush_rle import CHUNK, decode_brush_rle, encode_runs, encode_values, mask_to_brush_rle


def _sdk_mask(mask: np.ndarray) -> list[int]:
    return mask2rle(mask.astype(np.uint8) * 255)


values = arrays(np.uint8, st.integers(1, 300))
few_values_long_runs = st.lists(
    st.tuples(st.integers(0, 3), st.integers(1, 600)), min_size=1, max_size=30
).map(lambda runs: np.repeat(np.array([v for v, _ in runs], np.uint8), [n for _, n in runs]))
masks = arrays(bool, st.tuples(st.integers(1, 48), st.integers(1, 48)))


def _blotchy(height: int, width: int, seed: int) -> np.ndarray:
    """Random pixels at a random density: many short runs."""
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(height, width)) < rng.uniform()


blotchy_masks = st.builds(_blotchy, st.integers(1, 48), st.integers(1, 48), st.integers(0, 2**32 - 1))


@settings(max_examples=200, deadline=None)
@given(st.one_of(values, few_values_long_runs))
def test_values_encode_to_the_sdks_bytes_and_decode_back(array):
    ours = encode_values(array).tolist()
    assert ours == encode_rle(array)
    assert np.array_equal(decode_brush_rle(ours), array)


@settings(max_examples=200, deadline=None)
@given(st.one_of(masks, blotchy_masks))
def test_masks_encode_to_the_sdks_bytes_and_both_decoders_agree(mask):
    ours = mask_to_brush_rle(mask)
    assert ours == _sdk_mask(mask)
    expected = np.repeat(mask.ravel().astype(np.uint8) * 255, 4)
    assert np.array_equal(decode_rle(ours), expected)
    assert np.array_equal(decode_brush_rle(ours, expected_length=expected.size), expected)


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (3, 5), (97, 3), (480, 640)])
@pytest.mark.parametrize("fill", [False, True])
def test_empty_and_full_masks_of_odd_sizes(shape, fill):
    mask = np.full(shape, fill)
    assert mask_to_brush_rle(mask) == _sdk_mask(mask)


def test_runs_across_row_ends_and_image_corners():
    mask = np.zeros((6, 5), bool)
    mask[0, 0] = mask[1, 3:] = mask[2, :2] = mask[5, 4] = True  # row 1's run continues into row 2
    mask_full_rows = np.zeros((6, 5), bool)
    mask_full_rows[2:4] = True
    for case in (mask, mask_full_rows, ~mask):
        assert mask_to_brush_rle(case) == _sdk_mask(case)


@pytest.mark.parametrize(
    "length",
    [1, 2, 8, 9, 16, 17, 256, 257, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 1, 3 * CHUNK + 5],
)
def test_every_run_length_field_and_chunk_boundary(length):
    array = np.concatenate([np.full(length, 255, np.uint8), [3], np.zeros(length, np.uint8)])
    assert encode_values(array).tolist() == encode_rle(array)
    assert encode_runs([length, 1, length], [255, 3, 0]).tolist() == encode_rle(array)


def test_a_stream_ending_on_a_byte_boundary_gets_a_whole_zero_byte_as_the_sdk_writes():
    array = np.full(20, 7, np.uint8)  # 53 header bits + one 19-bit code = 72 bits
    ours = encode_values(array).tolist()
    assert ours == encode_rle(array) and len(ours) == 10 and ours[-1] == 0


def test_the_long_runs_of_a_large_mask():
    mask = np.zeros((768, 1024), bool)
    mask[100:700, 50:1000] = True
    mask[:, :3] = True
    assert mask_to_brush_rle(mask) == _sdk_mask(mask)


def test_bad_runs_are_refused():
    with pytest.raises(ValueError, match="positive"):
        encode_runs([3, 0], [1, 2])
    with pytest.raises(ValueError, match="8 bits"):
        encode_runs([3], [256])


# --- decoding what Label Studio's editor writes: any field sizes, word sizes, literal runs ---------------------


def _bits(value: int, width: int) -> str:
    return format(value, f"0{width}b")


@st.composite
def streams(draw):
    """A hand-built stream with literal runs of any length, its field sizes and word size, and its values."""
    word = draw(st.integers(1, 8))
    fields = draw(st.lists(st.integers(1, 16), min_size=4, max_size=4))
    bits, out = [], []
    for _ in range(draw(st.integers(0, 12))):
        index = draw(st.integers(0, 3))
        length = draw(st.integers(1, min(2 ** fields[index], 40)))
        repeated = draw(st.booleans())
        bits.append(f"{int(repeated)}{_bits(index, 2)}{_bits(length - 1, fields[index])}")
        words = [draw(st.integers(0, 2**word - 1)) for _ in range(1 if repeated else length)]
        bits += [_bits(w, word) for w in words]
        out += words * length if repeated else words
    head = _bits(len(out), 32) + _bits(word - 1, 5) + "".join(_bits(f - 1, 4) for f in fields)
    stream = head + "".join(bits)
    stream += "0" * (8 - len(stream) % 8)
    return [int(stream[i : i + 8], 2) for i in range(0, len(stream), 8)], np.array(out, np.uint8)


@settings(max_examples=200, deadline=None)
@given(streams())
def test_decoding_any_stream_agrees_with_the_sdk(stream):
    rle, expected = stream
    assert np.array_equal(decode_rle(rle), expected)
    assert np.array_equal(decode_brush_rle(rle), expected)


def test_malformed_streams_are_value_errors():
    rle = mask_to_brush_rle(np.ones((4, 4), bool))
    with pytest.raises(ValueError, match="ends inside"):
        decode_brush_rle(rle[:7])
    with pytest.raises(ValueError, match="ends inside"):
        decode_brush_rle([0, 1, 2])
    with pytest.raises(ValueError, match="expected 100"):
        decode_brush_rle(rle, expected_length=100)
    with pytest.raises(ValueError):
        decode_brush_rle([300] + rle[1:])
    wide = int("".join(_bits(v, 8) for v in rle[:5]), 2) | (15 << 3)  # word size field 15: 16-bit words
    with pytest.raises(ValueError, match="16-bit words"):
        decode_brush_rle(list(wide.to_bytes(5, "big")) + rle[5:])


def test_more_values_than_the_count_field_holds_are_refused():
    with pytest.raises(ValueError, match="32-bit count"):
        encode_runs([2**31, 2**31], [0, 255])
