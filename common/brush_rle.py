"""Label Studio's brush RLE, vectorised: the bytes of `label_studio_sdk.converter.brush.mask2rle`, in numpy.

The format is thi.ng's rle-pack, a big-endian bit stream over the flat RGBA image (4 bytes per pixel):

- header: value count (32 bits), word size - 1 (5 bits), then the four run-length field sizes - 1 (4 bits each);
- then one code per run of equal values: a flag bit (1 = a repeated value, 0 = literal values), the index of the
  run-length field size (2 bits), run length - 1 in that many bits, then the value (flag 1) or each of the
  run's values (flag 0) in word-size bits;
- zero bits up to the next byte boundary, a whole zero byte when the stream already ends on one.

The SDK writes word size 8 and field sizes 3, 4, 8, 16; a run of length 1 as a literal, longer runs with the
smallest field that holds them, and runs over 2**16 as full 2**16 chunks then the rest (always in the 16-bit
field). `encode_values` writes exactly that, so its bytes equal the SDK's (tests compare them on random arrays
and masks); `decode_brush_rle` reads any word size up to 8 and any field sizes, literal runs of any length
included, as Label Studio's editor writes them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from common.mask_runs import alternating_counts, foreground_runs

__all__ = ["decode_brush_rle", "encode_runs", "encode_values", "mask_to_brush_rle", "runs_to_brush_rle"]

CHANNELS = 4
"""Label Studio's brush RLE covers RGBA: every mask pixel is 4 equal values."""
FOREGROUND = 255
WORD_BITS = 8
RUN_FIELD_BITS = (3, 4, 8, 16)
"""Bits of the run-length field the 2-bit index chooses (the SDK's `rle_sizes`)."""
COUNT_BITS = 32
WORD_SIZE_BITS = 5
FIELD_SIZE_BITS = 4
CHUNK = 1 << RUN_FIELD_BITS[-1]
"""Longest run one code can hold; longer runs are split."""
_WINDOW_BYTES = 5
"""A code of up to 33 bits fits in 5 bytes at any bit offset (the widest code is the 32-bit value count)."""


def _pack(codes: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """Concatenate variable-width big-endian codes into bytes, zero-padded as the SDK pads.

    Args:
        codes: `(M,)` uint64, each `< 2 ** widths[i]`.
        widths: `(M,)` int64 bit widths, 1 to 33.

    Returns:
        `(total_bits // 8 + 1,)` uint8.
    """
    ends = np.cumsum(widths)
    starts = ends - widths
    size = int(ends[-1]) // 8 + 1
    # Each code, shifted to its bit offset, inside a 40-bit window starting at its first byte. Codes own
    # disjoint bits, so summing the windows' bytes per output byte is the same as OR-ing them.
    shift = (8 * _WINDOW_BYTES - widths - (starts & 7)).astype(np.uint64)
    windows = codes << shift
    byte_shifts = np.arange(8 * (_WINDOW_BYTES - 1), -1, -8, dtype=np.uint64)
    parts = (windows[:, None] >> byte_shifts) & np.uint64(0xFF)
    positions = (starts >> 3)[:, None] + np.arange(_WINDOW_BYTES)
    packed = np.bincount(
        positions.ravel(), weights=parts.ravel().astype(np.float64), minlength=size + _WINDOW_BYTES
    )
    return packed[:size].astype(np.uint8)


def encode_runs(lengths: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The brush RLE of a flat array given as runs.

    Args:
        lengths: `(R,)` positive run lengths (adjacent runs may even share a value: each is coded as given).
        values: `(R,)` the value of each run, 0..255.

    Returns:
        `(B,)` uint8, the bytes of the SDK's `encode_rle` of `np.repeat(values, lengths)`.
    """
    lengths = np.asarray(lengths, np.int64)
    values = np.asarray(values, np.uint64)
    if lengths.size and int(lengths.min()) < 1:
        raise ValueError(f"run lengths must be positive, got minimum {int(lengths.min())}")
    if values.size and int(values.max()) >= 1 << WORD_BITS:
        raise ValueError(f"values must fit in {WORD_BITS} bits, got maximum {int(values.max())}")
    total = int(lengths.sum())
    if total >= 1 << COUNT_BITS:
        raise ValueError(f"{total} values do not fit the {COUNT_BITS}-bit count of the format")
    # Runs over CHUNK become (length - 1) // CHUNK full chunks and the rest.
    extra = np.where(lengths > CHUNK, (lengths - 1) // CHUNK, 0)
    run = np.repeat(np.arange(len(lengths)), extra + 1)
    chunk = np.arange(len(run)) - np.repeat(np.cumsum(extra + 1) - (extra + 1), extra + 1)
    run_length = lengths[run]
    length = np.where(chunk < extra[run], CHUNK, run_length - chunk * CHUNK)
    index = np.searchsorted(np.asarray([1 << b for b in RUN_FIELD_BITS[:-1]]), run_length)  # by the whole run
    field_bits = np.asarray(RUN_FIELD_BITS, np.int64)[index]
    widths = 3 + field_bits + WORD_BITS
    repeated = (run_length > 1).astype(np.uint64)  # a single value is a literal run of one
    shift = widths.astype(np.uint64)
    codes = (
        (repeated << (shift - np.uint64(1)))
        | (index.astype(np.uint64) << (shift - np.uint64(3)))
        | ((length - 1).astype(np.uint64) << np.uint64(WORD_BITS))
        | values[run]
    )
    header = WORD_BITS - 1
    for bits in RUN_FIELD_BITS:
        header = (header << FIELD_SIZE_BITS) | (bits - 1)
    head_codes = np.asarray([total, header], np.uint64)
    head_widths = np.asarray([COUNT_BITS, WORD_SIZE_BITS + FIELD_SIZE_BITS * len(RUN_FIELD_BITS)], np.int64)
    return _pack(np.concatenate((head_codes, codes)), np.concatenate((head_widths, widths)))


def encode_values(array: np.ndarray) -> np.ndarray:
    """The brush RLE of a flat uint8 array: the bytes of the SDK's `encode_rle(array)`, as `(B,)` uint8."""
    array = np.asarray(array).ravel()
    if array.size == 0:
        return encode_runs(np.zeros(0, np.int64), np.zeros(0, np.uint8))
    change = np.flatnonzero(array[1:] != array[:-1]) + 1
    bounds = np.concatenate(([0], change, [array.size]))
    return encode_runs(np.diff(bounds), array[bounds[:-1]])


def mask_to_brush_rle(mask: np.ndarray) -> list[int]:
    """A mask as Label Studio's brush RLE (`value.rle` of a `brushlabels` region).

    Args:
        mask: `(H, W)` bool in Label Studio's image frame (`original_height`, `original_width`).

    Returns:
        The bytes as ints, equal to `mask2rle(mask.astype(np.uint8) * 255)` of the SDK.
    """
    height, width = mask.shape
    return runs_to_brush_rle(*foreground_runs(mask), height * width)


def runs_to_brush_rle(starts: np.ndarray, ends: np.ndarray, pixels: int) -> list[int]:
    """Label Studio's brush RLE of a mask given as its foreground runs (`common.mask_runs`).

    Args:
        starts, ends: `(R,)` sorted, maximal, half-open runs of flat row-major pixel indices.
        pixels: `H * W` of Label Studio's image frame.

    Returns:
        The bytes as ints, as `mask_to_brush_rle` of the mask those runs describe.
    """
    counts = alternating_counts(starts, ends, pixels)
    values = np.zeros(len(counts), np.uint8)
    values[1::2] = FOREGROUND
    keep = counts > 0  # only the first (background) count can be 0
    return encode_runs(counts[keep] * CHANNELS, values[keep]).tolist()


class _BitReader:
    """Big-endian bit fields of a byte string; reading past the end is a `ValueError`."""

    __slots__ = ("_data", "_limit", "position")

    def __init__(self, data: bytes):
        self._data = data + bytes(_WINDOW_BYTES)
        self._limit = 8 * len(data)
        self.position = 0

    def read(self, bits: int) -> int:
        start = self.position
        if start + bits > self._limit:
            raise ValueError(f"the brush RLE ends inside a field (bit {start} of {self._limit})")
        self.position = start + bits
        byte = start >> 3
        window = int.from_bytes(self._data[byte : byte + _WINDOW_BYTES], "big")
        return (window >> (8 * _WINDOW_BYTES - bits - (start & 7))) & ((1 << bits) - 1)


def decode_brush_rle(rle: Sequence[int], expected_length: int | None = None) -> np.ndarray:
    """The flat values of a brush RLE (as the SDK's `decode_rle`).

    Args:
        rle: the bytes, as ints 0..255 (`value.rle` of a `brushlabels` region).
        expected_length: when given, a stream announcing another value count is refused before decoding
            (`H * W * 4` for an image of `H x W`).

    Returns:
        `(N,)` uint8, N the count in the header.

    Raises:
        ValueError: not bytes, truncated, a word size over 8 bits, or an unexpected value count.
    """
    reader = _BitReader(bytes(rle))
    count = reader.read(COUNT_BITS)
    if expected_length is not None and count != expected_length:
        raise ValueError(f"the brush RLE holds {count} values, expected {expected_length}")
    word_bits = reader.read(WORD_SIZE_BITS) + 1
    if word_bits > WORD_BITS:
        raise ValueError(
            f"the brush RLE has {word_bits}-bit words; only up to {WORD_BITS} bits are supported"
        )
    field_bits = [reader.read(FIELD_SIZE_BITS) + 1 for _ in RUN_FIELD_BITS]
    lengths: list[int] = []
    values: list[int] = []
    done = 0
    while done < count:
        repeated = reader.read(1)
        length = 1 + reader.read(field_bits[reader.read(2)])
        if repeated:
            lengths.append(length)
            values.append(reader.read(word_bits))
        else:
            lengths += [1] * length
            values += [reader.read(word_bits) for _ in range(length)]
        done += length
    return np.repeat(np.asarray(values, np.uint8), lengths)[:count]
