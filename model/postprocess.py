"""From network outputs back to the original image: boxes in pixels and full-resolution masks."""

from __future__ import annotations

import cv2
import numpy as np

from model.preprocess import ResizeInfo

MASK_THRESHOLD = 0.5


def boxes_to_original(boxes: np.ndarray, info: ResizeInfo) -> np.ndarray:
    """Normalised `(y1, x1, y2, x2)` in the padded input -> `(x1, y1, x2, y2)` float pixels of the original image.

    Args:
        boxes: [N, 4] normalised. info: how the image was resized.
    Returns:
        [N, 4] float32, clipped to the image.
    """
    size = info.size
    px = np.asarray(boxes, np.float32) * np.float32(size - 1) + np.array([0, 0, 1, 1], np.float32)
    top, left = info.window[0], info.window[1]
    px = (px - np.array([top, left, top, left], np.float32)) / np.float32(info.scale)
    h, w = info.original_shape
    px = np.clip(px, 0, np.array([h, w, h, w], np.float32))
    return px[:, [1, 0, 3, 2]].astype(np.float32)


def paste_window(box: np.ndarray, image_shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The pixels `paste_mask` writes for `box`: `(top, left, bottom, right)`, bottom/right exclusive.

    The box's outward-rounded pixel rectangle, clipped to the image and at least one pixel wide and high. A pasted
    mask is False outside it, so its crop can be taken from this window alone (`common.mask_crop.MaskCrop.of`).

    Args:
        box: `(x1, y1, x2, y2)` float pixels; image_shape: `(H, W)`.
    """
    h, w = image_shape
    x1, y1 = int(np.floor(box[0])), int(np.floor(box[1]))
    x2, y2 = int(np.ceil(box[2])), int(np.ceil(box[3]))
    x1, y1 = min(max(x1, 0), w - 1), min(max(y1, 0), h - 1)
    x2, y2 = max(min(x2, w), x1 + 1), max(min(y2, h), y1 + 1)
    return y1, x1, y2, x2


def paste_mask(mask: np.ndarray, box: np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
    """Resize a box-relative mask to its box and place it in a full-size boolean image.

    Args:
        mask: (m, m) probabilities over the box; box: `(x1, y1, x2, y2)` float pixels; image_shape: (H, W).
    Returns:
        (H, W) bool, True where the probability is >= 0.5; False outside `paste_window(box, image_shape)`.
    """
    y1, x1, y2, x2 = paste_window(box, image_shape)
    resized = cv2.resize(np.asarray(mask, np.float32), (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR)
    full = np.zeros(image_shape, bool)
    full[y1:y2, x1:x2] = resized.reshape(y2 - y1, x2 - x1) >= MASK_THRESHOLD
    return full
