"""A mask kept as its content box: the crop that holds every foreground pixel, and where that crop lies.

An object covers a small part of its image, and every mask the service handles is one object's. Building an
answer needs the mask's runs (for the COCO and brush RLE) and its outline (for polygons), all of which live on
the crop; a full-size mask only adds work: a 12-megapixel photo's mask is 12 MB to allocate and to scan for its
bounding box, once per step. `MaskCrop` carries the crop through those steps, so nothing of the image's size is
made or read:

- the worker cuts it from the pasted mask inside the window the paste wrote (`MaskCrop.of(mask, window)`),
- `common.masks` encodes it to COCO RLE and decodes COCO RLE straight back into one,
- `common.mask_runs` and `common.polygons` take it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MaskCrop", "as_mask_crop"]


@dataclass(frozen=True)
class MaskCrop:
    """A `(height, width)` bool mask that is False outside `crop`.

    Attributes:
        crop: `(h, w)` bool, the mask's content box: its first and last rows and columns each hold a True pixel.
            An empty mask has a `(0, 0)` crop.
        top, left: the mask pixel of `crop[0, 0]`.
        height, width: the whole mask's size.
    """

    crop: np.ndarray
    top: int
    left: int
    height: int
    width: int

    @classmethod
    def of(cls, mask: np.ndarray, window: tuple[int, int, int, int] | None = None) -> MaskCrop:
        """The content box of a `(H, W)` bool mask (any memory layout).

        Args:
            mask: `(H, W)` bool (or 0/1 integers).
            window: `(top, left, bottom, right)` pixels (bottom/right exclusive) outside which `mask` is known to be
                False, e.g. where `model.postprocess.paste_mask` wrote; only that window is read. None: the whole
                mask is scanned.

        Raises:
            ValueError: not a 2-D mask, or a window outside it.
        """
        if mask.ndim != 2:
            raise ValueError(f"expects a (H, W) mask, got shape {mask.shape}")
        height, width = mask.shape
        top, left, bottom, right = window if window is not None else (0, 0, height, width)
        if not (0 <= top <= bottom <= height and 0 <= left <= right <= width):
            raise ValueError(f"window {window} is not inside a {height}x{width} mask")
        part = mask[top:bottom, left:right].astype(bool, copy=False)
        rows = np.flatnonzero(part.any(axis=1))
        if rows.size == 0:
            return cls.empty(height, width)
        cols = np.flatnonzero(part.any(axis=0))
        crop = part[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        return cls(crop, top + int(rows[0]), left + int(cols[0]), height, width)

    @classmethod
    def empty(cls, height: int, width: int) -> MaskCrop:
        return cls(np.zeros((0, 0), bool), 0, 0, height, width)

    @property
    def shape(self) -> tuple[int, int]:
        """`(height, width)` of the whole mask."""
        return self.height, self.width

    def any(self) -> bool:
        """Whether the mask has a foreground pixel."""
        return self.crop.size > 0

    def transposed(self) -> MaskCrop:
        """The crop of `mask.T` (a view, no copy): its row-major runs are the mask's column-major runs."""
        return MaskCrop(self.crop.T, self.left, self.top, self.width, self.height)

    def full(self) -> np.ndarray:
        """The whole `(height, width)` bool mask, C order."""
        mask = np.zeros((self.height, self.width), bool)
        h, w = self.crop.shape
        mask[self.top : self.top + h, self.left : self.left + w] = self.crop
        return mask


def as_mask_crop(mask: np.ndarray | MaskCrop) -> MaskCrop:
    """`mask` itself if it is a `MaskCrop`, else the content box of the `(H, W)` bool array (`MaskCrop.of`)."""
    return mask if isinstance(mask, MaskCrop) else MaskCrop.of(mask)
