"""Label Studio regions (percent coordinates) to and from pixel boxes, for building references and checking
what Label Studio stored."""

from __future__ import annotations

import uuid

import numpy as np

from .label_config import BRUSH_NAME, IMAGE_NAME, POLYGON_NAME, RECTANGLE_NAME, REGION_TYPES

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels


def rectangle(box: Box, label: str, width: int, height: int, origin: str = "manual") -> dict:
    """A `rectanglelabels` region as the frontend sends it for a hand-drawn smart rectangle."""
    x1, y1, x2, y2 = box
    return {
        "id": uuid.uuid4().hex[:10],
        "from_name": RECTANGLE_NAME,
        "to_name": IMAGE_NAME,
        "type": REGION_TYPES[RECTANGLE_NAME],
        "original_width": width,
        "original_height": height,
        "image_rotation": 0,
        "origin": origin,
        "value": {
            "x": 100.0 * x1 / width,
            "y": 100.0 * y1 / height,
            "width": 100.0 * (x2 - x1) / width,
            "height": 100.0 * (y2 - y1) / height,
            "rotation": 0,
            REGION_TYPES[RECTANGLE_NAME]: [label],
        },
    }


def labels_of(region: dict) -> list[str]:
    return list(region["value"].get(region["type"], []))


def box_of(region: dict) -> Box:
    """The pixel box of a rectangle, polygon or (RLE) brush region."""
    width, height = region["original_width"], region["original_height"]
    value = region["value"]
    if region["type"] == REGION_TYPES[RECTANGLE_NAME]:
        x, y = value["x"] * width / 100, value["y"] * height / 100
        return (x, y, x + value["width"] * width / 100, y + value["height"] * height / 100)
    if region["type"] == REGION_TYPES[POLYGON_NAME]:
        xs = [p[0] * width / 100 for p in value["points"]]
        ys = [p[1] * height / 100 for p in value["points"]]
        return (min(xs), min(ys), max(xs), max(ys))
    if region["type"] == REGION_TYPES[BRUSH_NAME]:
        mask = brush_mask(region)
        rows, cols = np.nonzero(mask)
        if rows.size == 0:
            return (0.0, 0.0, 0.0, 0.0)
        return (float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1))
    raise ValueError(f"no box for region type {region['type']!r}")


def brush_mask(region: dict) -> np.ndarray:
    """Decode a brush region's RLE into an (H, W) bool mask of the original image size."""
    from label_studio_sdk.converter.brush import decode_rle

    width, height = region["original_width"], region["original_height"]
    rgba = np.asarray(decode_rle(region["value"]["rle"]), dtype=np.uint8)
    if rgba.size != width * height * 4:
        raise ValueError(f"brush RLE decodes to {rgba.size} values, expected {width}x{height}x4")
    return rgba.reshape(height, width, 4)[:, :, 3] > 0


def mask_rle(mask: np.ndarray) -> list[int]:
    from label_studio_sdk.converter.brush import mask2rle

    return mask2rle(mask.astype(np.uint8) * 255)


def by_type(regions: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for region in regions:
        out.setdefault(region["type"], []).append(region)
    return out
