"""Label Studio regions -> pixel boxes: the interactive reference, and exemplars from annotations.

`params.context.result` holds every region of the same type, label and image as the one just drawn, and the
one just drawn is the LAST element (label-studio-protocol.md, §3). That last region is the reference. Earlier
regions of the same control and label drawn by hand (`origin` "manual" or absent) are extra references
(K-shot); every region in the context is already on the canvas, so suggestions overlapping any of them are
dropped.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from common.brush_rle import decode_brush_rle
from common.exceptions import BadRequestError
from common.masks import mask_bbox

__all__ = ["Reference", "region_to_box", "regions_to_boxes", "select_reference"]

Box = tuple[float, float, float, float]

_SUPPORTED_TYPES = ("rectanglelabels", "brushlabels", "polygonlabels")
_PREDICTED_ORIGINS = ("prediction", "prediction-changed")
"""Region origins that mean 'came from a model', not drawn as an example by the annotator."""


@dataclasses.dataclass(frozen=True)
class Reference:
    """The reference of one interactive request.

    Attributes:
        label: the label of the last region; every suggestion gets it.
        from_name: the control it was drawn with.
        boxes: K reference boxes, `x1, y1, x2, y2` pixels of the original image (last region first).
        existing: boxes of every region in the context (already on the canvas; not suggested again).
        original_size: `(H, W)` of the image as Label Studio measured it.
    """

    label: str
    from_name: str
    boxes: tuple[Box, ...]
    existing: tuple[Box, ...]
    original_size: tuple[int, int]


def _original_size(region: dict) -> tuple[int, int]:
    try:
        width, height = int(region["original_width"]), int(region["original_height"])
    except (KeyError, TypeError, ValueError, OverflowError):
        raise BadRequestError(
            f"Region {region.get('id')!r} has no original_width/original_height; Label Studio sends them with "
            "every image region, so the request was not made by Label Studio's image editor."
        ) from None
    if width <= 0 or height <= 0:
        raise BadRequestError(f"Region {region.get('id')!r} has a non-positive size {width}x{height}.")
    return height, width


def _region_type(region: dict) -> str | None:
    """The region's `type` when it is one this module reads, else None (also for non-string JSON values)."""
    kind = region.get("type")
    return kind if isinstance(kind, str) and kind in _BOX_OF else None


def _region_label(region: dict) -> str:
    kind = region.get("type")
    value = region.get("value")
    labels = value.get(kind) if isinstance(value, dict) and isinstance(kind, str) else None
    if not isinstance(labels, list) or not labels or not isinstance(labels[0], str):
        raise BadRequestError(f"Region {region.get('id')!r} of type {kind!r} carries no label in value.{kind}.")
    return labels[0]


def _rectangle_box(value: dict, height: int, width: int) -> Box:
    x, y = float(value["x"]) * width / 100, float(value["y"]) * height / 100
    w, h = float(value["width"]) * width / 100, float(value["height"]) * height / 100
    angle = math.radians(float(value.get("rotation") or 0.0))
    # Label Studio rotates a rectangle around its top-left corner; the reference is its axis-aligned hull.
    corners = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]
    xs = [x + cx * math.cos(angle) - cy * math.sin(angle) for cx, cy in corners]
    ys = [y + cx * math.sin(angle) + cy * math.cos(angle) for cx, cy in corners]
    return min(xs), min(ys), max(xs), max(ys)


def _polygon_box(value: dict, height: int, width: int) -> Box:
    points = np.asarray(value["points"], dtype=float).reshape(-1, 2)
    if len(points) < 3:
        raise ValueError("a polygon needs at least 3 points")
    xs, ys = points[:, 0] * width / 100, points[:, 1] * height / 100
    return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())


def _brush_box(value: dict, height: int, width: int) -> Box:
    if value.get("format", "rle") != "rle" or not isinstance(value.get("rle"), list):
        raise ValueError("only brush regions in RLE format are supported")
    flat = decode_brush_rle(value["rle"], expected_length=height * width * 4)  # refused before decoding
    box = mask_bbox(flat.reshape(height, width, 4)[:, :, 3] > 0)
    if box is None:
        raise ValueError("the brush mask is empty")
    return box


_BOX_OF = {"rectanglelabels": _rectangle_box, "polygonlabels": _polygon_box, "brushlabels": _brush_box}


def region_to_box(region: dict) -> Box:
    """The pixel box `x1, y1, x2, y2` of a rectangle, polygon or brush region, clipped to the image.

    Raises:
        BadRequestError: unsupported type, missing or malformed value, or a box of zero area.
    """
    kind = _region_type(region)
    if kind is None:
        raise BadRequestError(
            f"Region {region.get('id')!r} has type {kind!r}; the reference must be one of {_SUPPORTED_TYPES}. "
            "Draw the example with a smart rectangle (RectangleLabels smart=\"true\")."
        )
    height, width = _original_size(region)
    value = region.get("value")
    if not isinstance(value, dict):
        raise BadRequestError(f"Region {region.get('id')!r} ({kind}) has no value object (got "
                              f"{type(value).__name__}); Label Studio sends the region's geometry in it.")
    try:
        x1, y1, x2, y2 = _BOX_OF[kind](value, height, width)
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        raise BadRequestError(f"Region {region.get('id')!r} ({kind}) has a malformed value: {error}.") from None
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):  # before clipping, which would turn NaN into 0
        raise BadRequestError(f"Region {region.get('id')!r} ({kind}) has non-finite coordinates "
                              f"({x1}, {y1}, {x2}, {y2}).")
    x1, x2 = max(0.0, min(x1, width)), max(0.0, min(x2, width))
    y1, y2 = max(0.0, min(y1, height)), max(0.0, min(y2, height))
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)) or x2 - x1 < 1 or y2 - y1 < 1:
        raise BadRequestError(
            f"Region {region.get('id')!r} covers less than one pixel inside the {width}x{height} image "
            f"(box {x1:.1f},{y1:.1f},{x2:.1f},{y2:.1f}); draw a larger box."
        )
    return x1, y1, x2, y2


def select_reference(context: dict | None) -> Reference:
    """Pick the reference boxes of an interactive request from `params.context`.

    Raises:
        BadRequestError: no regions, or a last region that cannot serve as a reference.
    """
    regions = (context or {}).get("result") if isinstance(context, dict) else None
    if not isinstance(regions, list) or not regions or not all(isinstance(r, dict) for r in regions):
        raise BadRequestError(
            "params.context.result holds no regions: draw a smart region with Auto-Annotation switched on."
        )
    last = regions[-1]
    label, kind, from_name = _region_label(last), last.get("type"), last.get("from_name")
    size = _original_size(last)
    boxes = [region_to_box(last)]
    existing = list(boxes)
    for region in regions[:-1]:
        if _region_type(region) is None:
            continue
        box = region_to_box(region)
        existing.append(box)
        same_kind = region.get("type") == kind and region.get("from_name") == from_name
        if same_kind and _region_label(region) == label and region.get("origin") not in _PREDICTED_ORIGINS:
            boxes.append(box)
    return Reference(label=label, from_name=str(from_name), boxes=tuple(boxes), existing=tuple(existing),
                     original_size=size)


def regions_to_boxes(regions: list[dict]) -> dict[str, list[Box]]:
    """Pixel boxes per label of an annotation's regions (unsupported or malformed regions are skipped)."""
    per_label: dict[str, list[Box]] = {}
    for region in regions or []:
        if not isinstance(region, dict) or _region_type(region) is None:
            continue
        try:
            label, box = _region_label(region), region_to_box(region)
        except BadRequestError:
            continue
        per_label.setdefault(label, []).append(box)  # only once the box is good: no label without boxes
    return per_label
