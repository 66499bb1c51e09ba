"""The template-matching baseline of the effort measure: no training, no model.

The reference crop (grayscale) is matched over the image with OpenCV's normalised cross-correlation
(`TM_CCOEFF_NORMED`) at `SCALES` x the 4 right-angle rotations; every local peak of each correlation map scoring at
least the threshold proposes the box of the template it matched there (the reference's size times the scale, width
and height swapped at 90 and 270 degrees); greedy NMS at IoU `NMS_IOU` keeps the best of overlapping proposals.
It gives no masks. Droplets (near-identical circles) are its best case.
"""

from __future__ import annotations

import cv2
import numpy as np

from model.evaluation.effort import Suggestions
from model.evaluation.effort_runner import QueryImage
from model.evaluation.matching import nms

__all__ = ["DEFAULT_TEMPLATE_THRESHOLD", "TemplateBaseline"]

SCALES = tuple(float(s) for s in np.geomspace(0.8, 1.25, 5))
"""Template sizes relative to the reference: 0.80, 0.89, 1.0, 1.12, 1.25 (objects of one kind in one photo vary)."""
ROTATIONS = (0, 1, 2, 3)
"""Quarter turns of the template (objects lie in any direction)."""
NMS_IOU = 0.3
PEAK_WINDOW_FRACTION = 0.5
"""A peak is the maximum of its correlation map within a window this fraction of the template's size."""
MIN_TEMPLATE_SIDE = 3
"""Smaller templates correlate with noise: skipped."""
DEFAULT_TEMPLATE_THRESHOLD = 0.6


def local_peaks(response: np.ndarray, window: tuple[int, int], threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions where `response` is the maximum of its `window` neighbourhood and at least `threshold`.

    Args:
        response: `(h, w)` float32 map; window: `(height, width)` in map cells (at least 1).

    Returns:
        `(ys, xs)` int arrays of the peaks.
    """
    kernel = np.ones((max(1, window[0]), max(1, window[1])), np.uint8)
    dilated = cv2.dilate(response, kernel)
    return np.nonzero((response >= dilated) & (response >= threshold))


class TemplateBaseline:
    """`baseline(image, reference_box)` -> `Suggestions` (boxes, NCC scores, no masks), scores >= `threshold`."""

    def __init__(self, threshold: float = DEFAULT_TEMPLATE_THRESHOLD):
        self.threshold = float(threshold)

    version = "template-ncc"

    def __call__(self, image: QueryImage, reference_box: np.ndarray, label: str | None = None) -> Suggestions:
        gray = cv2.cvtColor(image.pixels, cv2.COLOR_RGB2GRAY).astype(np.float32)
        height, width = gray.shape
        x1, y1, x2, y2 = (int(round(v)) for v in np.asarray(reference_box, np.float32))
        x1, y1 = min(max(x1, 0), width - 1), min(max(y1, 0), height - 1)
        x2, y2 = min(max(x2, x1 + 1), width), min(max(y2, y1 + 1), height)
        crop = gray[y1:y2, x1:x2]
        boxes, scores = [], []
        for scale in SCALES:
            size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
            scaled = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
            for turns in ROTATIONS:
                template = np.ascontiguousarray(np.rot90(scaled, turns))
                th, tw = template.shape
                if min(th, tw) < MIN_TEMPLATE_SIDE or th > height or tw > width or np.ptp(template) == 0:
                    continue
                response = np.nan_to_num(cv2.matchTemplate(gray, template, cv2.TM_CCOEFF_NORMED),
                                         nan=0.0, posinf=0.0, neginf=0.0)
                window = (round(th * PEAK_WINDOW_FRACTION), round(tw * PEAK_WINDOW_FRACTION))
                ys, xs = local_peaks(response, window, self.threshold)
                boxes.append(np.stack([xs, ys, xs + tw, ys + th], axis=1).astype(np.float32))
                scores.append(response[ys, xs])
        if not boxes:
            return Suggestions.empty()
        boxes, scores = np.concatenate(boxes), np.concatenate(scores)
        keep = nms(boxes, scores, NMS_IOU)
        return Suggestions(boxes[keep], scores[keep].astype(np.float64))
