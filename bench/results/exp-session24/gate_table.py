"""Session 24 diagnosis: a child's drawn-box errors under reference gates scored offline from a gate-off dump
(child_errors.py --gate-off): the answer stands iff the drawn object's own suggestion (box IoU >= 0.5 with the drawn
box) scores at least the gate. Usage: python gate_table.py DUMP.nogate.jsonl [THRESHOLD]"""
import json
import sys

import numpy as np
from error_table import count, iou

GATES = ("off", 0.3, 0.45, 0.6, "threshold")


def own_score(row) -> float:
    boxes = np.asarray(row["boxes"]).reshape(-1, 4)
    if not len(boxes):
        return 0.0
    on = iou(boxes, np.asarray(row["gt"])[[row["reference_index"]]])[:, 0] >= 0.5
    return float(np.asarray(row["scores"])[on].max()) if on.any() else 0.0


def errors(rows, threshold, gate):
    n = e = withdrawn = 0
    for r in rows:
        i, d, ms = count(r, threshold)
        g = threshold if gate == "threshold" else gate
        n += i
        if g != "off" and own_score(r) < g:
            e += i  # withdrawn: every other instance is drawn by hand
            withdrawn += 1
        else:
            e += d["edge"] + d["inside"] + len(ms)
    return e / n, withdrawn


def main(path, threshold=None):
    with open(path) as lines:
        rows = [json.loads(line) for line in lines if '"interactive"' in line]
    t = float(threshold) if threshold else rows[0]["threshold"]
    cells = [f"{g}: {errors(rows, t, g)[0]:.3f} ({errors(rows, t, g)[1]} withdrawn)" for g in GATES]
    print(f"{path.split('/')[-1]} @ {t} | " + " | ".join(cells))


if __name__ == "__main__":
    main(*sys.argv[1:])
