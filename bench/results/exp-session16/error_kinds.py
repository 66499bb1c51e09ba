"""Take a dump of error_dump.py apart at some thresholds: recount every trial with the regressed boxes (must equal
the dump's own counts) and with the tight boxes of the masks, and sort the errors:

- a deletion is **near** when its best box IoU with an instance of the class is in [0.3, 0.5) (the object was
  found, its box is off), **group** when its box holds the centres of 2 or more instances, else **far**;
- a miss is **scored** when some suggestion below the threshold (down to 0.3) matches it at IoU >= 0.5, **small**
  when its longer side is under 24 px, **edge** when its box touches the image border (within 2 px).

Usage: PYTHONPATH=. python bench/results/exp-session16/error_kinds.py DUMP.jsonl [T,T,...]
"""

import json
import sys
from collections import Counter

import numpy as np

from model.evaluation.effort import Suggestions, count_trial
from model.evaluation.matching import box_iou

SMALL_PX = 24
EDGE_PX = 2


def recount(rows, threshold: float, use_mask_boxes: bool):
    total = Counter()
    for row in rows:
        boxes = np.asarray(row["mask_boxes"] if use_mask_boxes and row["mask_boxes"] is not None else row["boxes"], np.float32).reshape(-1, 4)
        scores = np.asarray(row["scores"], float)
        keep = scores >= threshold
        counts = count_trial("c", np.asarray(row["gt_boxes"], np.float32), row["reference_index"],
                             Suggestions(boxes[keep], scores[keep]))
        total.update(references=counts.references, deletions=counts.deletions, misses=counts.misses,
                     instances=counts.instances)
    return total


def kinds(rows, threshold: float):
    """Sort the regressed-box errors at `threshold` as the module docstring says."""
    out = Counter()
    for row in rows:
        gt = np.asarray(row["gt_boxes"], np.float32).reshape(-1, 4)
        boxes = np.asarray(row["boxes"], np.float32).reshape(-1, 4)
        scores = np.asarray(row["scores"], float)
        keep = scores >= threshold
        counts = count_trial("c", gt, row["reference_index"], Suggestions(boxes[keep], scores[keep]))
        kept_boxes = boxes[keep]
        iou = box_iou(kept_boxes, gt) if len(kept_boxes) else np.zeros((0, len(gt)))
        matched_gt = set()
        right = []
        # Re-derive which suggestions are right (greedy by score, IoU >= 0.5, reference excluded) for the sorting.
        order = np.argsort(-scores[keep], kind="stable")
        ref = row["reference_index"]
        dropped = None
        if len(kept_boxes):
            best = int(np.argmax(iou[:, ref]))
            if iou[best, ref] >= 0.5:
                dropped = best
        for p in order:
            if p == dropped:
                continue
            cands = [(iou[p, g], g) for g in range(len(gt)) if g != ref and g not in matched_gt and iou[p, g] >= 0.5]
            if cands:
                matched_gt.add(max(cands)[1])
                right.append(p)
        centres = np.stack([(gt[:, 0] + gt[:, 2]) / 2, (gt[:, 1] + gt[:, 3]) / 2], 1)
        for p in range(len(kept_boxes)):
            if p == dropped or p in right:
                continue
            b = kept_boxes[p]
            inside = ((centres[:, 0] >= b[0]) & (centres[:, 0] <= b[2]) & (centres[:, 1] >= b[1])
                      & (centres[:, 1] <= b[3])).sum()
            best = iou[p].max() if len(gt) else 0.0
            out["del_near" if 0.3 <= best < 0.5 else "del_group" if inside >= 2 else "del_far"] += 1
        all_iou = box_iou(boxes, gt) if len(boxes) else np.zeros((0, len(gt)))
        w, h = row["image_size"]
        for g in range(len(gt)):
            if g == ref or g in matched_gt:
                continue
            out["miss"] += 1
            if len(boxes) and (all_iou[:, g] >= 0.5).any():
                out["miss_scored"] += 1
            side = max(gt[g, 2] - gt[g, 0], gt[g, 3] - gt[g, 1])
            if side < SMALL_PX:
                out["miss_small"] += 1
            if gt[g, 0] <= EDGE_PX or gt[g, 1] <= EDGE_PX or gt[g, 2] >= w - EDGE_PX or gt[g, 3] >= h - EDGE_PX:
                out["miss_edge"] += 1
        out["deletions"] += counts.deletions
        out["misses"] += counts.misses
        out["instances"] += counts.instances
    return out


def main(path: str, thresholds: str = "0.7,0.8,0.85,0.9,0.95") -> None:
    with open(path) as lines:
        rows = [json.loads(line) for line in lines]
    for t in (float(x) for x in thresholds.split(",")):
        reg = recount(rows, t, False)
        msk = recount(rows, t, True)
        k = kinds(rows, t)
        n = reg["instances"]
        print(f"t={t:.2f} errors/inst regressed {(reg['deletions'] + reg['misses']) / n:.4f} "
              f"(del {reg['deletions']} miss {reg['misses']})  mask boxes {(msk['deletions'] + msk['misses']) / n:.4f} "
              f"(del {msk['deletions']} miss {msk['misses']})")
        print("        ", dict(sorted(k.items())))


if __name__ == "__main__":
    main(*sys.argv[1:])
