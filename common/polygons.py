"""Masks -> simplified polygons for Label Studio's PolygonLabels.

A Label Studio polygon is one closed ring with no holes. Each connected part of a mask becomes one polygon
(its outer boundary, simplified with Douglas-Peucker); holes are filled, because a ring cannot express them and
the brush region of the same instance keeps the exact mask. Parts smaller than `min_area` pixels are dropped.
"""

from __future__ import annotations

import cv2
import numpy as np

from common.mask_crop import MaskCrop, as_mask_crop

__all__ = ["mask_to_polygons"]

MIN_POLYGON_AREA = 16.0
"""Parts of a mask smaller than this (pixels) are specks, not objects."""


def mask_to_polygons(mask: np.ndarray | MaskCrop, tolerance: float = 1.5, min_area: float = MIN_POLYGON_AREA
                     ) -> list[np.ndarray]:
    """Outer boundaries of the connected parts of a mask.

    Args:
        mask: `(H, W)` bool, or its `MaskCrop` (then only the crop is read).
        tolerance: maximum distance in pixels between the simplified ring and the true boundary.
        min_area: parts with a smaller polygon area are dropped.

    Returns:
        A list of `(N, 2)` float arrays of `x, y` pixel vertices (N >= 3), largest part first. Vertices lie on
        pixel corners, so a full-image mask gives the image rectangle `0..W, 0..H`.
    """
    boxed = as_mask_crop(mask)
    if not boxed.any():
        return []
    # Work on the instance's crop only, upsampled by 2 so that contour points of the doubled grid map back to
    # pixel corners, not centres.
    top, left = boxed.top, boxed.left
    crop = np.zeros((boxed.crop.shape[0] + 2, boxed.crop.shape[1] + 2), np.uint8)  # one background pixel around
    crop[1:-1, 1:-1] = boxed.crop
    doubled = cv2.resize(crop, (2 * crop.shape[1], 2 * crop.shape[0]), interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(doubled, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    # In the doubled grid a pixel's left/top edge has an even index and its right/bottom edge an odd one;
    # ceil(i / 2) - 1 = (i + 1) // 2 - 1 maps both to the pixel corner of the crop (the 1 undoes the padding).
    # Integer corners, mapped for all contours at once (int32 throughout: mixing in int64 is 10x slower).
    offset = np.array([left, top], np.int32)
    corners = ((np.concatenate(contours).reshape(-1, 2) + 1) // 2 - 1 + offset).astype(np.float32)
    polygons = []
    for points in np.split(corners, np.cumsum([len(contour) for contour in contours[:-1]])):
        simplified = cv2.approxPolyDP(points, float(tolerance), closed=True).reshape(-1, 2)
        if len(simplified) < 3:
            continue
        # The shoelace area, exact: integer vertices, summed in float64 by OpenCV.
        area = cv2.contourArea(simplified)
        if area >= min_area:
            polygons.append((area, simplified.astype(np.float64)))
    polygons.sort(key=lambda item: -item[0])
    return [points for _, points in polygons]
