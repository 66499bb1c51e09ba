"""Turn one-shot episodes into network inputs: padded query, references, RPN targets, normalised boxes, mini-masks.

An example is a dict of NumPy arrays; `collate` stacks examples into a batch with the keys that
`SiameseMaskRCNN.compute_losses` reads.
"""

from __future__ import annotations

import cv2
import numpy as np

from model.box_ops import normalize_boxes
from model.config import ModelConfig
from model.images import to_rgb
from model.preprocess import mold, reference_inputs, resize_square
from model.targets import rpn_targets


def mini_masks(masks: np.ndarray, boxes_xyxy: np.ndarray, size: int) -> np.ndarray:
    """Each full-image mask cropped to its box and resized to `size x size`.

    Args:
        masks: (N, H, W) bool; boxes_xyxy: (N, 4) float pixels.
    Returns:
        (N, size, size) float32 in {0, 1}.
    """
    out = np.zeros((len(masks), size, size), np.float32)
    h, w = masks.shape[1:] if len(masks) else (0, 0)
    for i, (mask, box) in enumerate(zip(masks, boxes_xyxy, strict=True)):
        x1, y1 = int(np.floor(box[0])), int(np.floor(box[1]))
        x2, y2 = max(int(np.ceil(box[2])), x1 + 1), max(int(np.ceil(box[3])), y1 + 1)
        crop = mask[max(y1, 0) : min(y2, h), max(x1, 0) : min(x2, w)].astype(np.float32)
        if crop.size == 0:
            continue
        out[i] = cv2.resize(crop, (size, size), interpolation=cv2.INTER_LINEAR) >= 0.5
    return out


def episode_to_example(episode, config: ModelConfig, anchors: np.ndarray, rng: np.random.Generator) -> dict:
    """One training example from an `Episode` (model/data/episodes.py).

    Args:
        episode: query_image (H, W, 3) uint8, gt_boxes (N, 4) xyxy pixels, gt_masks (N, H, W) bool,
            reference_image, reference_box (4,) xyxy pixels.
        anchors: [A, 4] normalised anchors of the config.
    Returns:
        dict with "image" (S, S, 3), "reference" (1, R, R, 3), "rpn_match" (A,), "rpn_deltas" (A, 4),
        "gt_boxes" (G, 4) normalised yxyx (zero-padded to config.max_gt_instances), "gt_masks" (G, m, m).
    """
    image = to_rgb(episode.query_image)
    square, info = resize_square(image, config.image_size, config.image_min_dim, antialias=config.resize_antialias)
    boxes = np.asarray(episode.gt_boxes, np.float32).reshape(-1, 4)
    masks = np.asarray(episode.gt_masks, bool)
    if len(boxes) > config.max_gt_instances:
        keep = np.sort(rng.choice(len(boxes), config.max_gt_instances, replace=False))
        boxes, masks = boxes[keep], masks[keep]
    gt_norm, sizeable = _to_network_boxes(boxes, info, config.image_size)
    boxes, masks = boxes[sizeable], masks[sizeable]
    # The paper's RPN is matched with the reference: it proposes the targets. A reference-agnostic one
    # (conditioning "roi") proposes every object of the active classes.
    rpn_boxes = gt_norm
    if config.conditioning == "roi" and getattr(episode, "object_boxes", None) is not None:
        rpn_boxes = _to_network_boxes(np.asarray(episode.object_boxes, np.float32).reshape(-1, 4), info,
                                      config.image_size)[0]
    match, deltas = rpn_targets(
        anchors, rpn_boxes, num_anchors=config.rpn_train_anchors, bbox_std=config.rpn_bbox_std, rng=rng
    )
    g = config.max_gt_instances
    gt_boxes = np.zeros((g, 4), np.float32)
    gt_boxes[: len(gt_norm)] = gt_norm
    gt_masks = np.zeros((g, config.mini_mask_size, config.mini_mask_size), np.float32)
    gt_masks[: len(gt_norm)] = mini_masks(masks, boxes, config.mini_mask_size)
    reference = reference_inputs(to_rgb(episode.reference_image), episode.reference_box, config)
    return {
        "image": mold(square, config.mean_pixel),
        "reference": reference,
        "rpn_match": match,
        "rpn_deltas": deltas,
        "gt_boxes": gt_boxes,
        "gt_masks": gt_masks,
    }


def _to_network_boxes(boxes: np.ndarray, info, image_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4) xyxy pixels of the original image -> ((n, 4) normalised yxyx of the padded input, (N,) bool kept).

    Boxes of a pixel or less once resized are dropped (they would give infinite deltas)."""
    top, left = info.window[0], info.window[1]
    padded_px = np.stack(
        [boxes[:, 1] * info.scale + top, boxes[:, 0] * info.scale + left,
         boxes[:, 3] * info.scale + top, boxes[:, 2] * info.scale + left],
        axis=1,
    ) if len(boxes) else np.zeros((0, 4), np.float32)
    # Normalised boxes span (px - [0, 0, 1, 1]) / (size - 1): a box must be more than one pixel high and wide, or its
    # normalised height or width is 0 and its deltas infinite.
    sizeable = ((padded_px[:, 2] - padded_px[:, 0]) > 1) & ((padded_px[:, 3] - padded_px[:, 1]) > 1)
    return normalize_boxes(padded_px, image_size)[sizeable], sizeable


def collate(examples: list[dict]) -> dict:
    """Stack examples into a batch (same keys, a leading batch axis)."""
    return {key: np.stack([e[key] for e in examples]) for key in examples[0]}
