"""Drawing instances over an image (the `predict --overlay` PNG, contact sheets, and `effort --overlays`)."""

from __future__ import annotations

import cv2
import numpy as np

PALETTE = np.array(
    [[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
     [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212]],
    np.uint8,
)
MASK_ALPHA = 0.45
REFERENCE_COLOUR = (255, 255, 255)


def draw_instances(image: np.ndarray, instances, reference_boxes=()) -> np.ndarray:
    """Masks (translucent), boxes and scores of `instances` over a copy of `image`; references in white.

    Args:
        image: uint8 (H, W, 3) RGB. instances: objects with .box (x1, y1, x2, y2), .score, .mask (H, W) bool.
        reference_boxes: (x1, y1, x2, y2) boxes drawn dashed-white to show what was asked for.
    Returns:
        uint8 (H, W, 3) RGB.
    """
    canvas = image.astype(np.float32).copy()
    for i, inst in enumerate(instances):
        colour = PALETTE[i % len(PALETTE)].astype(np.float32)
        canvas[inst.mask] = (1 - MASK_ALPHA) * canvas[inst.mask] + MASK_ALPHA * colour
    out = canvas.clip(0, 255).astype(np.uint8)
    thickness = max(1, round(max(image.shape[:2]) / 400))
    for i, inst in enumerate(instances):
        colour = tuple(int(c) for c in PALETTE[i % len(PALETTE)])
        x1, y1, x2, y2 = (int(round(v)) for v in inst.box)
        cv2.rectangle(out, (x1, y1), (x2 - 1, y2 - 1), colour, thickness)
        cv2.putText(out, f"{inst.score:.2f}", (x1 + 2, max(y1 - 4, 10)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * thickness, colour, thickness, cv2.LINE_AA)
    for box in reference_boxes:
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(out, (x1, y1), (x2 - 1, y2 - 1), REFERENCE_COLOUR, thickness + 1)
    return out


EFFORT_COLOURS = {
    "reference": (30, 110, 255),
    "right": (40, 200, 60),
    "wrong": (235, 30, 30),
    "missed": (255, 215, 0),
}
"""RGB of what the simulated annotator does with each object (`draw_effort_trial`): the reference it drew (blue),
suggestions it accepts (green), deletes (red), and instances it has to draw itself (yellow)."""


def _outline(out: np.ndarray, mask: np.ndarray, colour, thickness: int) -> None:
    contours, _ = cv2.findContours(np.asarray(mask, np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, colour, thickness, cv2.LINE_AA)


def draw_effort_trial(image: np.ndarray, reference_box, objects) -> np.ndarray:
    """One effort trial over a copy of `image`: boxes and mask outlines coloured by `EFFORT_COLOURS`.

    Args:
        image: uint8 (H, W, 3) RGB.
        reference_box: (x1, y1, x2, y2) pixels, drawn thick in the reference colour.
        objects: `(kind, box (x1, y1, x2, y2), mask (H, W) bool or None)` triples; kind is a key of `EFFORT_COLOURS`.
            Wrong suggestions get thinner boxes than the others, so both show where one lies on a right one.
    Returns:
        uint8 (H, W, 3) RGB.
    """
    out = np.ascontiguousarray(image, dtype=np.uint8).copy()
    thickness = max(1, round(max(image.shape[:2]) / 400))
    for kind, box, mask in objects:
        colour = EFFORT_COLOURS[kind]
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        width = thickness if kind == "wrong" else thickness + 1
        cv2.rectangle(out, (x1, y1), (x2 - 1, y2 - 1), colour, width)
        if mask is not None:
            _outline(out, mask, colour, thickness)
    x1, y1, x2, y2 = (int(round(v)) for v in reference_box)
    cv2.rectangle(out, (x1, y1), (x2 - 1, y2 - 1), EFFORT_COLOURS["reference"], thickness + 2)
    return out
