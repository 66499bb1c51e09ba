"""AP50 with pycocotools `COCOeval`, averaged over the active classes only (model-spec §5.3), and run intervals.

COCO ids used here: image id = position in the evaluated image list + 1, category id = `category_id` + 1 (the
dataset's contiguous order; COCOeval does not care about the original COCO ids).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import numpy as np

from model.data.annotations import AnnotatedImage

__all__ = ["CI95_Z", "ap50_per_class", "build_ground_truth", "encode_mask", "interval"]

CI95_Z = 1.96
"""The paper's ± is 1.96 * std(run means) / sqrt(runs) (std with ddof=0, numpy's default)."""

_IOU_50 = 0  # index of IoU 0.50 in COCOeval's iouThrs
_AREA_ALL = 0  # index of the "all" area range
_MAX_DETS_100 = 2  # index of maxDets=100


def encode_mask(mask: np.ndarray) -> dict:
    """`(H, W)` bool -> compressed COCO RLE with `counts` as str (JSON-safe)."""
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def build_ground_truth(
    images: Sequence[AnnotatedImage], category_ids: Sequence[int], categories: Sequence[str]
):
    """A pycocotools `COCO` holding the instances of `category_ids` in `images` (crowd regions kept as crowd).

    Args:
        images: the evaluated images, in the order that gives their COCO ids (index + 1).
        category_ids: dataset category ids to include; categories: the dataset's names (for the COCO header).
    """
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO

    wanted = set(category_ids)
    annotations = []
    for image_index, image in enumerate(images):
        for instance in image.instances:
            if instance.category_id not in wanted:
                continue
            rle = instance.coco_rle(image.height, image.width)
            x1, y1, x2, y2 = (float(v) for v in instance.box)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_index + 1,
                    "category_id": instance.category_id + 1,
                    "segmentation": rle,
                    "area": float(mask_utils.area(rle)),
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "iscrowd": int(instance.iscrowd),
                }
            )
    gt = COCO()
    gt.dataset = {
        "images": [{"id": i + 1, "height": im.height, "width": im.width} for i, im in enumerate(images)],
        "annotations": annotations,
        "categories": [{"id": cid + 1, "name": categories[cid]} for cid in sorted(wanted)],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
    return gt


def ap50_per_class(gt, results: list[dict], iou_type: str, category_ids: Sequence[int]) -> dict[int, float]:
    """AP50 of each category that has ground truth in `gt`.

    Args:
        gt: from `build_ground_truth`.
        results: COCO results (`image_id`, `category_id` (COCO, i.e. dataset id + 1), `score`, and `bbox` xywh for
            "bbox" or `segmentation` RLE for "segm").
        iou_type: "bbox" or "segm".
        category_ids: dataset category ids to evaluate (the active classes actually queried).

    Returns:
        `{dataset category id: AP50 in [0, 1]}`; categories without ground truth are left out (their precision is
        -1 in COCOeval and they do not enter the mean, as in the paper's `customCOCOeval`).
    """
    from pycocotools.cocoeval import COCOeval

    coco_ids = [cid + 1 for cid in category_ids]
    with_gt = [cid for cid in category_ids if gt.getAnnIds(catIds=[cid + 1], iscrowd=False)]
    if not results:
        return dict.fromkeys(with_gt, 0.0)
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(results)
        evaluator = COCOeval(gt, dt, iouType=iou_type)
        evaluator.params.imgIds = sorted(gt.getImgIds())
        evaluator.params.catIds = coco_ids
        evaluator.evaluate()
        evaluator.accumulate()
    precision = evaluator.eval["precision"][
        _IOU_50, :, :, _AREA_ALL, _MAX_DETS_100
    ]  # (recall points, classes)
    per_class = {}
    for column, cid in enumerate(category_ids):
        values = precision[:, column]
        if np.all(values == -1):
            continue
        per_class[cid] = float(np.mean(np.where(values == -1, 0.0, values)))
    return per_class


def interval(values: Sequence[float]) -> dict:
    """`{"mean", "ci95", "per_run"}` with ci95 = 1.96 * std / sqrt(N) (0 for one run)."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return {"mean": None, "ci95": None, "per_run": []}
    return {
        "mean": float(array.mean()),
        "ci95": float(CI95_Z * array.std() / np.sqrt(array.size)),
        "per_run": [float(v) for v in array],
    }
