"""Tiny synthetic scenes for the effort tests: copies of one patch pasted on a textured background."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

SCENE_SIZE = (192, 256)
"""(H, W) of a scene."""
PATCH_SIZE = (24, 40)
"""(h, w) of the pasted patch: not square, so a quarter turn changes its box."""
UPRIGHT = ((20, 16), (24, 120), (120, 40), (110, 180))
"""(y, x) top-left corners of the upright copies."""
TURNED = (40, 200)
"""(y, x) of the copy turned by 90 degrees (its box is w x h)."""


def make_patch() -> np.ndarray:
    """`PATCH_SIZE` uint8 RGB: coloured bands and a dark corner, distinct from the background and asymmetric."""
    h, w = PATCH_SIZE
    patch = np.zeros((h, w, 3), np.uint8)
    patch[:, : w // 3] = (220, 40, 40)
    patch[:, w // 3 : 2 * w // 3] = (250, 230, 60)
    patch[:, 2 * w // 3 :] = (40, 60, 210)
    patch[: h // 3, : w // 4] = (10, 10, 10)
    return patch


def make_scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A scene and the `(5, 4)` xyxy boxes of its copies (4 upright, then the turned one)."""
    rng = np.random.default_rng(seed)
    height, width = SCENE_SIZE
    yy, xx = np.mgrid[0:height, 0:width]
    base = 110 + 30 * np.sin(xx / 17.0) * np.cos(yy / 23.0)
    image = np.clip(base[..., None] + rng.normal(0, 6, (height, width, 3)), 0, 255).astype(np.uint8)
    patch = make_patch()
    h, w = PATCH_SIZE
    boxes = []
    for y, x in UPRIGHT:
        image[y : y + h, x : x + w] = patch
        boxes.append([x, y, x + w, y + h])
    turned = np.rot90(patch)
    y, x = TURNED
    image[y : y + w, x : x + h] = turned
    boxes.append([x, y, x + h, y + w])
    return image, np.asarray(boxes, np.float32)


def write_coco_set(root: Path, images: int = 2) -> Path:
    """`images` scenes as PNGs in `root/images/` and `root/annotations.json` (one category, "tag"; rectangles as
    polygons). Returns the JSON's path."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    entries, annotations = [], []
    for index in range(images):
        image, boxes = make_scene(seed=index)
        name = f"scene{index}.png"
        Image.fromarray(image).save(root / "images" / name)
        entries.append({"id": index + 1, "file_name": name, "height": image.shape[0], "width": image.shape[1]})
        for x1, y1, x2, y2 in boxes.tolist():
            annotations.append({
                "id": len(annotations) + 1, "image_id": index + 1, "category_id": 1, "iscrowd": 0,
                "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1),
                "segmentation": [[x1, y1, x2, y1, x2, y2, x1, y2]],
            })
    path = root / "annotations.json"
    path.write_text(json.dumps({"images": entries, "annotations": annotations,
                                "categories": [{"id": 1, "name": "tag"}]}))
    return path
