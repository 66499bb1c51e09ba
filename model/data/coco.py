"""Reader for COCO-format instance annotations (JSON with polygons and/or RLE masks).

Categories are ordered by their COCO id, so the 80 COCO classes get the paper's contiguous order (internal id =
position + 1 in matterport's 1-based convention; here `category_id` = position, 0-based).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from common.image_groups import group_from
from model.data.annotations import AnnotatedImage, Dataset, InstanceAnnotation

__all__ = ["read_coco"]


def read_coco(annotation_file: str | Path, images_dir: str | Path | None = None) -> Dataset:
    """Read a COCO instances JSON.

    Args:
        annotation_file: e.g. `annotations/instances_val2017.json`.
        images_dir: folder holding the `file_name`s. Default: the JSON's folder (or its `images/` sub-folder when
            the images lie there), or for the usual layout `<root>/annotations/instances_<split>.json` the folder
            `<root>/<split>` when it exists.

    Returns:
        A `Dataset`: boxes from the COCO `bbox` (xywh -> xyxy pixels), polygons kept as polygons, RLE (compressed or
        uncompressed) stored compressed; `iscrowd` kept; an image's `video_id` (or `video`) becomes its `group`.
    """
    from pycocotools import mask as mask_utils

    annotation_file = Path(annotation_file)
    try:
        data = json.loads(annotation_file.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read COCO JSON {annotation_file}: {error}") from error
    for key in ("images", "annotations", "categories"):
        if key not in data:
            raise ValueError(f"{annotation_file} has no {key!r} list; is it a COCO *instances* file?")

    first = data["images"][0].get("file_name") if data["images"] else None
    images_root = Path(images_dir) if images_dir is not None else _default_images_dir(annotation_file, first)
    coco_categories = sorted(data["categories"], key=lambda c: c["id"])
    names = tuple(c["name"] for c in coco_categories)
    position = {c["id"]: i for i, c in enumerate(coco_categories)}

    per_image: dict[int, list[InstanceAnnotation]] = {img["id"]: [] for img in data["images"]}
    sizes = {img["id"]: (int(img["height"]), int(img["width"])) for img in data["images"]}
    for ann in data["annotations"]:
        if ann["image_id"] not in sizes:
            raise ValueError(
                f"annotation {ann.get('id')} refers to image {ann['image_id']} absent from 'images'."
            )
        if ann["category_id"] not in position:
            raise ValueError(
                f"annotation {ann.get('id')} has category {ann['category_id']} absent from 'categories'."
            )
        height, width = sizes[ann["image_id"]]
        cid = position[ann["category_id"]]
        polygons, rle = _segmentation(ann.get("segmentation"), height, width, mask_utils)
        if "bbox" in ann and len(ann["bbox"]) == 4:
            x, y, w, h = (float(v) for v in ann["bbox"])
            box = np.array([x, y, x + w, y + h], dtype=np.float32)
        elif rle is not None:
            x, y, w, h = mask_utils.toBbox(rle).tolist()
            box = np.array([x, y, x + w, y + h], dtype=np.float32)
        else:
            stacked = np.concatenate(polygons)
            box = np.array([*stacked.min(axis=0), *stacked.max(axis=0)], dtype=np.float32)
        per_image[ann["image_id"]].append(
            InstanceAnnotation(
                category_id=cid,
                category=names[cid],
                box=box,
                polygons=polygons,
                rle=rle,
                iscrowd=bool(ann.get("iscrowd", 0)),
            )
        )

    images = tuple(
        AnnotatedImage(
            image_id=str(img["id"]),
            source=images_root / img["file_name"],
            height=int(img["height"]),
            width=int(img["width"]),
            instances=tuple(per_image[img["id"]]),
            group=group_from(img),
        )
        for img in data["images"]
    )
    return Dataset(categories=names, images=images, name=str(annotation_file))


def _default_images_dir(annotation_file: Path, first_file: str | None = None) -> Path:
    """`<root>/<split>` for `<root>/annotations/instances_<split>.json`; else the JSON's folder, or its `images/`
    sub-folder when that is where the first image (`first_file`) lies."""
    stem = annotation_file.stem
    if annotation_file.parent.name == "annotations" and "_" in stem:
        candidate = annotation_file.parent.parent / stem.split("_", 1)[1]
        if candidate.is_dir():
            return candidate
    beside, inside = annotation_file.parent, annotation_file.parent / "images"
    if first_file and not (beside / first_file).exists() and (inside / first_file).exists():
        return inside
    return beside


def _segmentation(
    segmentation, height: int, width: int, mask_utils
) -> tuple[tuple[np.ndarray, ...], dict | None]:
    """COCO `segmentation` -> (polygons as (P, 2) arrays, compressed RLE or None)."""
    if not segmentation:
        return (), None
    if isinstance(segmentation, list):
        polygons = tuple(np.asarray(p, dtype=np.float32).reshape(-1, 2) for p in segmentation if len(p) >= 6)
        return polygons, None
    if isinstance(segmentation, dict) and "counts" in segmentation:
        if isinstance(segmentation["counts"], list):
            rle = mask_utils.frPyObjects(segmentation, *segmentation["size"])
        else:
            counts = segmentation["counts"]
            rle = {
                "size": list(segmentation["size"]),
                "counts": counts.encode() if isinstance(counts, str) else counts,
            }
        if list(rle["size"]) != [height, width]:
            raise ValueError(f"RLE size {rle['size']} differs from the image size {[height, width]}.")
        return (), rle
    raise ValueError(f"unrecognised COCO segmentation {str(segmentation)[:80]}: expected polygons or RLE.")
