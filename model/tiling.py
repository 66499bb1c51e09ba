"""Small references: look at the image in magnified tiles.

The network sees an image at `image_size` pixels on its long side. A reference box that is then only a dozen pixels
across (a droplet of 25 px in a 1024 px frame) is below what the smallest anchors and the 7x7 ROI features resolve.
`plan_tiles` then cuts the image into overlapping windows that the network sees magnified so that the reference is
about `TARGET_REFERENCE_PX` across; `find_tiled` answers each window with the same reference embedding and merges the
answers. Windows overlap by about two reference sizes, so every object like the reference lies whole in one window;
a detection cut by an inner window edge loses to the whole one found in a neighbour.

Boxes are `(x1, y1, x2, y2)` pixels of the original image throughout; masks `(H, W)` bool.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from model.size_prior import reference_size

__all__ = ["TilePlan", "plan_tiles", "tile_plan", "find_tiled", "SMALL_REFERENCE_PX", "TARGET_REFERENCE_PX", "MAX_ZOOM"]

SMALL_REFERENCE_PX = 20.0
"""A reference whose size (square root of its box area) is under this many pixels of the network's input is small."""
TARGET_REFERENCE_PX = 36.0
"""The size a small reference gets in the magnified windows."""
MAX_ZOOM = 4.0
"""At most this magnification over the whole-image view (the number of windows grows with its square)."""
EDGE_PENALTY = 0.9
"""Score factor of a detection touching an inner window edge: it is likely a cut-off part of an object."""
CONTAINMENT_SUPPRESSION = 0.6
"""A detection whose box lies at least this much inside a better one's (intersection over its own area) is dropped."""


@dataclass(frozen=True)
class TilePlan:
    """Windows `(x1, y1, x2, y2)` of the original image (x2, y2 exclusive) and the magnification over the
    whole-image view."""

    windows: tuple[tuple[int, int, int, int], ...]
    zoom: float


def plan_tiles(image_shape: tuple[int, int], reference_boxes, image_size: int, min_dim: int) -> TilePlan | None:
    """Windows to look at when the references are small at the whole-image scale; None when they are not.

    Args:
        image_shape: `(H, W)`; reference_boxes: `(K, 4)` xyxy pixels of that image.
        image_size, min_dim: the network's `image_size` and `image_min_dim` (`model.preprocess.resize_square` shows
            a window of `min_dim x image_size` pixels' aspect at full magnification).
    """
    height, width = image_shape
    boxes = np.asarray(reference_boxes, np.float64).reshape(-1, 4)
    sides = np.maximum(boxes[:, 2:] - boxes[:, :2], 1.0)
    reference = reference_size(boxes)
    whole_scale = image_size / max(height, width)
    if reference * whole_scale >= SMALL_REFERENCE_PX:
        return None
    scale = min(MAX_ZOOM * whole_scale, TARGET_REFERENCE_PX / reference)
    long_px, short_px = math.ceil(image_size / scale), math.ceil(min_dim / scale)
    tile_w, tile_h = (long_px, short_px) if width >= height else (short_px, long_px)
    overlap = math.ceil(2 * float(sides.max()))
    xs = _starts(width, tile_w, overlap)
    ys = _starts(height, tile_h, overlap)
    windows = tuple((x, y, min(x + tile_w, width), min(y + tile_h, height)) for y in ys for x in xs)
    return TilePlan(windows, scale / whole_scale)


def tile_plan(config, image_shape: tuple[int, int], reference_boxes) -> TilePlan | None:
    """`plan_tiles` for a network's `ModelConfig` when its `detection_small_tiles` is on; None otherwise."""
    if not config.detection_small_tiles:
        return None
    return plan_tiles(image_shape, reference_boxes, config.image_size, config.image_min_dim)


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    """Window starts covering `[0, length)` with windows of `tile` overlapping by at least `overlap`."""
    if length <= tile:
        return [0]
    stride = max(1, tile - min(overlap, tile // 2))
    count = math.ceil((length - tile) / stride) + 1
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def find_tiled(predictor, image: np.ndarray, reference, plan: TilePlan, *, score_threshold: float,
               nms_threshold: float, max_instances: int, reference_boxes=None) -> list:
    """Answer every window of `plan` with `reference` and merge.

    Args:
        predictor: a `model.predictor.Predictor`; image: `(H, W, 3)` uint8; reference: its `ReferenceEmbedding`.
        reference_boxes: `(K, 4)` xyxy pixels when the references were drawn in this image (the size prior).

    Returns:
        `Instance`s in `image`'s pixels, best first, at most `max_instances`.
    """
    from model.predictor import Instance

    height, width = image.shape[:2]
    found: list[tuple[float, np.ndarray, float, np.ndarray, tuple[int, int, int, int]]] = []
    for window in plan.windows:
        x1, y1, x2, y2 = window
        query = predictor.encode_image(np.ascontiguousarray(image[y1:y2, x1:x2]))
        for instance in predictor.find(query, reference, score_threshold=score_threshold,
                                       nms_threshold=nms_threshold, max_instances=max_instances,
                                       reference_boxes=reference_boxes):
            box = instance.box + np.array([x1, y1, x1, y1], np.float32)
            inner_edge = ((instance.box[0] <= 1 and x1 > 0) or (instance.box[1] <= 1 and y1 > 0)
                          or (instance.box[2] >= x2 - x1 - 1 and x2 < width)
                          or (instance.box[3] >= y2 - y1 - 1 and y2 < height))
            rank = instance.score * (EDGE_PENALTY if inner_edge else 1.0)
            found.append((rank, box, instance.score, instance.mask, window))
    found.sort(key=lambda item: -item[0])
    kept: list = []
    for rank, box, score, mask, window in found:
        if any(_suppresses(other[1], box, nms_threshold) for other in kept):
            continue
        kept.append((rank, box, score, mask, window))
        if len(kept) == max_instances:
            break
    instances = []
    for _, box, score, mask, (x1, y1, x2, y2) in kept:
        full = np.zeros((height, width), bool)
        full[y1:y2, x1:x2] = mask
        instances.append(Instance(box.astype(np.float32), float(score), full))
    return instances


def _suppresses(better: np.ndarray, box: np.ndarray, nms_threshold: float) -> bool:
    """Whether a kept box `better` suppresses `box`: IoU above the NMS threshold, or `box` mostly inside it."""
    ix = max(0.0, min(better[2], box[2]) - max(better[0], box[0]))
    iy = max(0.0, min(better[3], box[3]) - max(better[1], box[1]))
    inter = ix * iy
    area = max((box[2] - box[0]) * (box[3] - box[1]), 1e-6)
    area_better = max((better[2] - better[0]) * (better[3] - better[1]), 1e-6)
    iou = inter / (area + area_better - inter)
    return iou > nms_threshold or inter / area >= CONTAINMENT_SUPPRESSION
