"""Reader for Label Studio JSON exports (the "JSON" export: a list of tasks with their annotations).

Supported regions: `brushlabels` (Label Studio's own RLE, decoded with `label_studio_sdk`), `polygonlabels` and
`rectanglelabels` (percent coordinates, rotation honoured). Per task the first annotation marked `ground_truth`,
else the first one that was not cancelled, is used; cancelled (skipped) annotations are ignored. Percent
coordinates are converted here, at the boundary, and nowhere else in `model/`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import numpy as np

from common.image_groups import group_from
from model.data.annotations import AnnotatedImage, Dataset, InstanceAnnotation, box_from_mask
from model.images import image_size

__all__ = ["read_label_studio"]

PERCENT = 100.0
LS_BRUSH_CHANNELS = 4
"""Label Studio's brush RLE encodes an RGBA raster; the alpha channel (index 3) is the mask."""
_LABEL_KEYS = {
    "brushlabels": "brushlabels",
    "polygonlabels": "polygonlabels",
    "rectanglelabels": "rectanglelabels",
}
_UPLOAD_PREFIX_LENGTH = 9
"""Label Studio prefixes uploaded file names with 8 hex characters and a dash ("1a2b3c4d-photo.jpg")."""


def read_label_studio(
    export_file: str | Path,
    images_dir: str | Path | None = None,
    *,
    image_key: str | None = None,
    categories: tuple[str, ...] | None = None,
) -> Dataset:
    """Read a Label Studio JSON export.

    Args:
        export_file: the exported `.json` (a list of tasks).
        images_dir: where the task images are on this machine. `task.data[image_key]` is resolved as: an existing
            path; the `?d=` path of local-file storage (relative to `images_dir`); else `images_dir/<basename>`, also
            without Label Studio's 8-character upload prefix. Default: the export's folder.
        image_key: the key of the image in `task["data"]`; default: "image", or the only key when there is one.
        categories: label names in the order wanted for `category_id`; default: sorted names found.

    Returns:
        A `Dataset` (image ids are the task ids). Brush masks are stored as COCO RLE; polygons in pixels;
        rectangles as box-only instances (their mask is the filled box). A task's `data.video_id` (or `video`)
        becomes its image's `group`.
    """
    export_file = Path(export_file)
    try:
        tasks = json.loads(export_file.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read Label Studio export {export_file}: {error}") from error
    if isinstance(tasks, dict):
        tasks = [tasks]
    images_root = Path(images_dir) if images_dir is not None else export_file.parent

    parsed = []  # (task id, path, height, width, [(label, kind, payload)], group)
    for task in tasks:
        path = _resolve_image(_image_reference(task, image_key), images_root)
        results = _chosen_result(task)
        height, width = _size(results, path)
        regions = [region for result in results if (region := _region(result, height, width)) is not None]
        group = group_from(task.get("data"))
        parsed.append((str(task.get("id", len(parsed))), path, height, width, regions, group))

    names = categories or tuple(sorted({label for *_, regions, _ in parsed for label, _ in regions}))
    position = {name: i for i, name in enumerate(names)}
    images = []
    for task_id, path, height, width, regions, group in parsed:
        instances = []
        for label, fields in regions:
            if label not in position:
                raise ValueError(f"task {task_id}: label {label!r} is not in categories {list(names)}")
            instances.append(InstanceAnnotation(category_id=position[label], category=label, **fields))
        images.append(AnnotatedImage(task_id, path, height, width, tuple(instances), group))
    return Dataset(categories=tuple(names), images=tuple(images), name=str(export_file))


def _image_reference(task: dict, image_key: str | None) -> str:
    data = task.get("data", {})
    if image_key is None:
        image_key = "image" if "image" in data or len(data) != 1 else next(iter(data))
    if image_key not in data:
        raise ValueError(
            f"task {task.get('id')}: no {image_key!r} in data keys {list(data)}; pass image_key=..."
        )
    return str(data[image_key])


def _resolve_image(reference: str, images_root: Path) -> Path:
    parsed = urlparse(reference)
    candidates = [Path(unquote(reference))]
    if "d" in parse_qs(parsed.query):
        local = Path(parse_qs(parsed.query)["d"][0])
        candidates += [images_root / local, images_root / local.name]
    name = Path(unquote(parsed.path)).name
    candidates.append(images_root / name)
    if len(name) > _UPLOAD_PREFIX_LENGTH and name[_UPLOAD_PREFIX_LENGTH - 1] == "-":
        candidates.append(images_root / name[_UPLOAD_PREFIX_LENGTH:])
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ValueError(
        f"image {reference!r} not found (tried {[str(c) for c in candidates]}); "
        "pass images_dir= the folder holding the task images."
    )


def _chosen_result(task: dict) -> list[dict]:
    annotations = [a for a in task.get("annotations", []) if not a.get("was_cancelled", False)]
    if not annotations:
        return []
    chosen = next((a for a in annotations if a.get("ground_truth")), annotations[0])
    return list(chosen.get("result", []))


def _size(results: list[dict], path: Path) -> tuple[int, int]:
    for result in results:
        if "original_width" in result and "original_height" in result:
            return int(result["original_height"]), int(result["original_width"])
    return image_size(path)


def _region(result: dict, height: int, width: int) -> tuple[str, dict] | None:
    """One result -> (label, InstanceAnnotation fields) or None for results that are not regions we read."""
    kind = result.get("type", "").lower()
    value = result.get("value", {})
    if kind not in _LABEL_KEYS or not value.get(_LABEL_KEYS[kind]):
        return None
    label = value[_LABEL_KEYS[kind]][0]
    if (result.get("original_height"), result.get("original_width")) not in ((None, None), (height, width)):
        raise ValueError(
            f"region {result.get('id')} was drawn on a {result['original_width']}x{result['original_height']} "
            f"image but the task image is {width}x{height}; regions of one task must share one size."
        )
    scale = np.array([width, height], dtype=np.float32) / PERCENT
    if kind == "polygonlabels":
        polygon = np.asarray(value["points"], dtype=np.float32).reshape(-1, 2) * scale
        box = np.array([*polygon.min(axis=0), *polygon.max(axis=0)], dtype=np.float32)
        return label, {"box": box, "polygons": (polygon,)}
    if kind == "rectanglelabels":
        corners = _rectangle_corners(value, width, height)
        box = np.array([*corners.min(axis=0), *corners.max(axis=0)], dtype=np.float32)
        box = np.clip(box, 0, [width, height, width, height]).astype(np.float32)
        rotated = abs(float(value.get("rotation", 0.0))) > 0
        return label, {"box": box, "polygons": (corners,) if rotated else ()}
    mask = _decode_brush(value, height, width)
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return label, {"box": box_from_mask(mask), "rle": rle}


def _rectangle_corners(value: dict, width: int, height: int) -> np.ndarray:
    """`(4, 2)` pixel corners; Label Studio rotates clockwise (degrees) about the top-left corner (x, y)."""
    x, w = value["x"] * width / PERCENT, value["width"] * width / PERCENT
    y, h = value["y"] * height / PERCENT, value["height"] * height / PERCENT
    theta = math.radians(float(value.get("rotation", 0.0)))
    offsets = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    rotation = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    return (offsets @ rotation.T + [x, y]).astype(np.float32)


def _decode_brush(value: dict, height: int, width: int) -> np.ndarray:
    if value.get("format", "rle") != "rle" or "rle" not in value:
        raise ValueError(
            f"brush region with format {value.get('format')!r}: only Label Studio's 'rle' is supported."
        )
    from label_studio_sdk.converter.brush import decode_rle

    flat = decode_rle(value["rle"])
    expected = height * width * LS_BRUSH_CHANNELS
    if flat.size != expected:
        raise ValueError(
            f"brush RLE holds {flat.size} values, expected {expected} for {width}x{height} RGBA."
        )
    return flat.reshape(height, width, LS_BRUSH_CHANNELS)[:, :, LS_BRUSH_CHANNELS - 1] > 0
