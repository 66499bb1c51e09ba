"""Instances (pixel boxes, scores, RLE masks) -> Label Studio result regions.

One instance becomes one region per output control of the label config: a `rectanglelabels` box, a
`brushlabels` mask (Label Studio's RLE, `common.brush_rle`: the SDK's `mask2rle` bytes), and one `polygonlabels`
region per connected part of the mask. Coordinates are percentages (0-100) of the image as Label Studio knows
it (`original_width` x `original_height`); if the worker decoded the image at another size (EXIF handled
differently), boxes and polygons are rescaled and masks resampled to Label Studio's size.

This module is pure (numpy, OpenCV, pycocotools): the worker uses it too when it posts predictions itself.
"""

from __future__ import annotations

import uuid

import numpy as np

from common.brush_rle import runs_to_brush_rle
from common.jobs import InstanceRecord, OutputControl
from common.mask_runs import resampled_runs
from common.masks import decode_mask_crop, encode_mask
from common.polygons import mask_to_polygons

__all__ = ["box_iou", "drop_overlapping", "instances_to_regions", "prediction_entry"]

DUPLICATE_IOU = 0.5
"""A suggestion overlapping a region already on the canvas by more than this IoU is that region again."""

_PERCENT_DIGITS = 4


def _region_id() -> str:
    return uuid.uuid4().hex[:10]


def box_iou(box: tuple[float, ...], others: np.ndarray) -> np.ndarray:
    """IoU of one `x1, y1, x2, y2` box with each row of an `(N, 4)` array of boxes."""
    others = np.asarray(others, dtype=np.float64).reshape(-1, 4)
    x1 = np.maximum(box[0], others[:, 0])
    y1 = np.maximum(box[1], others[:, 1])
    x2 = np.minimum(box[2], others[:, 2])
    y2 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def drop_overlapping(instances: list[InstanceRecord], existing: list[tuple[float, ...]],
                     threshold: float = DUPLICATE_IOU) -> list[InstanceRecord]:
    """Instances whose box overlaps no `existing` box by more than `threshold` IoU (same pixel frame)."""
    if not existing:
        return list(instances)
    return [item for item in instances if float(box_iou(item.box, np.asarray(existing)).max()) <= threshold]


REFERENCE_SCORE = 1.0
"""Score of the region returned for the annotator's own reference object."""


def keep_references(instances: list[InstanceRecord], references: list[tuple[float, ...]],
                    image_size: tuple[int, int], threshold: float = DUPLICATE_IOU) -> list[InstanceRecord]:
    """Records for the annotator's reference objects, so that they survive in Label Studio.

    Label Studio 1.23 deletes the hand-drawn smart regions once suggestions are accepted or rejected, so each
    reference comes back: its box is exactly the one drawn, its mask that of the best-overlapping instance found
    (IoU > `threshold`), or the filled box when the model found none.

    Args:
        instances: found instances; references: drawn boxes, both in the worker's pixel frame.
        image_size: `(H, W)` of that frame.
    """
    records = []
    for box in references:
        mask = None
        if instances:
            ious = np.array([float(box_iou(item.box, np.asarray([box]))[0]) for item in instances])
            if ious.max() > threshold:
                mask = instances[int(ious.argmax())].mask
        if mask is None or not decode_mask_crop(mask).any():
            filled = np.zeros(image_size, bool)
            x1, y1, x2, y2 = (int(round(v)) for v in box)
            filled[max(y1, 0) : max(y2, y1 + 1), max(x1, 0) : max(x2, x1 + 1)] = True
            mask = encode_mask(filled)
        records.append(InstanceRecord(box=tuple(float(v) for v in box), score=REFERENCE_SCORE, mask=mask))
    return records


def _base(control: OutputControl, height: int, width: int, score: float) -> dict:
    return {
        "id": _region_id(), "from_name": control.from_name, "to_name": control.to_name, "type": control.type,
        "original_width": width, "original_height": height, "image_rotation": 0, "score": round(score, 4),
        "readonly": False,
    }


def instances_to_regions(
    instances: list[InstanceRecord],
    outputs: tuple[OutputControl, ...],
    label: str,
    image_size: tuple[int, int],
    original_size: tuple[int, int] | None = None,
    polygon_tolerance: float = 1.5,
) -> list[dict]:
    """Label Studio regions for `instances`, one or more per output control.

    Args:
        instances: found instances, in pixels of the image the worker decoded.
        outputs: the controls to answer with (from the label config).
        label: the label every region gets.
        image_size: `(H, W)` of the worker's image (the frame of the boxes and masks).
        original_size: `(H, W)` Label Studio reports for the image; defaults to `image_size`.
        polygon_tolerance: polygon simplification tolerance in pixels of `image_size`.

    Returns:
        Regions in percent coordinates, grouped per instance (box, brush, polygons).
    """
    src_h, src_w = image_size
    height, width = original_size or image_size
    regions: list[dict] = []
    for instance in instances:
        x1, y1, x2, y2 = (float(v) for v in instance.box)
        mask = None
        for control in outputs:
            region = _base(control, height, width, instance.score)
            if control.type == "rectanglelabels":
                region["value"] = {
                    "x": round(100 * x1 / src_w, _PERCENT_DIGITS), "y": round(100 * y1 / src_h, _PERCENT_DIGITS),
                    "width": round(100 * (x2 - x1) / src_w, _PERCENT_DIGITS),
                    "height": round(100 * (y2 - y1) / src_h, _PERCENT_DIGITS),
                    "rotation": 0, "rectanglelabels": [label],
                }
                regions.append(region)
                continue
            if mask is None:
                mask = decode_mask_crop(instance.mask)  # the mask's content box: nothing image-sized is made
            if not mask.any():
                continue  # an empty brush or polygon is no suggestion; the rectangle (if asked for) still is
            if control.type == "brushlabels":
                # Resampled to Label Studio's size as runs: no full-size mask of a large photo is made.
                runs = resampled_runs(mask, height, width)
                region["value"] = {"format": "rle", "rle": runs_to_brush_rle(*runs, height * width),
                                   "brushlabels": [label]}
                regions.append(region)
            elif control.type == "polygonlabels":
                for points in mask_to_polygons(mask, polygon_tolerance):
                    part = dict(region, id=_region_id())
                    percent = np.round(points * [100.0 / src_w, 100.0 / src_h], _PERCENT_DIGITS)
                    part["value"] = {"points": percent.tolist(), "closed": True, "polygonlabels": [label]}
                    regions.append(part)
    return regions


def prediction_entry(regions: list[dict], scores: list[float], model_version: str) -> dict:
    """One Label Studio prediction: `{"result", "score", "model_version"}` (score = mean instance score)."""
    score = float(np.mean(scores)) if scores else 0.0
    return {"result": regions, "score": round(score, 4), "model_version": model_version}
