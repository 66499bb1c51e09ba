"""Session 24 diagnosis: take a child's dump (child_errors.py) apart at its own threshold. Per mode: instances,
deletions (on the frame's edge / elsewhere), misses (found between 0.3 and the threshold / not found at 0.3), and
the misses by size at 512 px. Matching as the measure does (box IoU >= 0.5, by descending score, the reference's
own suggestion dropped). Usage: python error_table.py DUMP.jsonl [THRESHOLD]"""
import json
import sys

import numpy as np

MATCH = 0.5
EDGE_PX = 2.0


def iou(a, b):
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    return inter / (_area(a)[:, None] + _area(b)[None] - inter)


def _area(boxes):
    return np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)


def count(row, threshold):
    boxes, scores, gt = np.asarray(row["boxes"]).reshape(-1, 4), np.asarray(row["scores"]), np.asarray(row["gt"])
    keep = np.ones(len(boxes), bool)
    ref = row["reference_index"] if row["mode"] == "interactive" else None
    m = iou(boxes, gt)
    if ref is not None and len(boxes):
        best = int(np.argmax(m[:, ref]))
        if m[best, ref] >= MATCH:
            keep[best] = False
    taken = np.zeros(len(gt), bool)
    if ref is not None:
        taken[ref] = True
    w, h = row["size"]
    dels = {"edge": 0, "inside": 0}
    order = [p for p in np.argsort(-scores) if keep[p] and scores[p] >= threshold]
    for p in order:
        free = np.where(taken, -1, m[p])
        if len(gt) and free.max() >= MATCH:
            taken[int(np.argmax(free))] = True
        else:
            b = boxes[p]
            edge = b[0] <= EDGE_PX or b[1] <= EDGE_PX or b[2] >= w - EDGE_PX or b[3] >= h - EDGE_PX
            dels["edge" if edge else "inside"] += 1
    low = scores >= 0.3
    misses = []
    for g in np.flatnonzero(~taken):
        found_low = bool(len(boxes) and (m[low & keep, g] >= MATCH).any()) if (low & keep).any() else False
        size = float(np.sqrt(np.prod(gt[g, 2:] - gt[g, :2]))) * 512 / max(w, h)
        misses.append((found_low, size))
    instances = len(gt) - (1 if ref is not None else 0)
    return instances, dels, misses


def main(path, threshold=None):
    with open(path) as lines:
        rows = [json.loads(line) for line in lines]
    for mode in ("interactive", "bank"):
        sel = [r for r in rows if r["mode"] == mode]
        if not sel:
            continue
        t = float(threshold) if threshold else sel[0]["threshold"]
        n = de = di = ml = mn = 0
        sizes = []
        for r in sel:
            i, d, ms = count(r, t)
            n += i
            de += d["edge"]
            di += d["inside"]
            ml += sum(f for f, _ in ms)
            mn += sum(not f for f, _ in ms)
            sizes += [s for _, s in ms]
        small = sum(s < 20 for s in sizes)
        print(f"{path.split('/')[-1]} {mode} @ {t}: instances {n}, errors/inst {(de + di + ml + mn) / n:.3f}; "
              f"deletions edge {de} inside {di}; misses found-below {ml} not-found {mn} (under 20 px: {small})")


if __name__ == "__main__":
    main(*sys.argv[1:])
