"""Drawing instances over an image (the `predict --overlay` PNG and contact sheets)."""

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
