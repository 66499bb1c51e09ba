"""Dump, per trial, a checkpoint's whole answer at 0.3 as the service gives it, with the ground truth, so the
errors can be taken apart offline (error_kinds.py): each suggestion's regressed box, the tight box of its mask and
its score; the ground-truth boxes, the reference's index and the other classes' boxes. Usage (repo root):

    PYTHONPATH=. python bench/results/exp-session16/error_dump.py SET OUT.jsonl [CHECKPOINT]

SET: synthetic | split2 | split1 | droplets (session 15's copies_dump.SETS).
"""

import json
import sys
from pathlib import Path

import numpy as np

from model.evaluation.calibration import SWEEP
from model.evaluation.effort_runner import run_effort

sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session15"))
from copies_dump import dumping_run  # session 15's sets and service-like answerer


def mask_box(mask: np.ndarray) -> list[float]:
    """Tight xyxy box (pixel edges) of a bool `(H, W)` mask; [0, 0, 0, 0] when it is empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return [0.0, 0.0, 0.0, 0.0]
    return [float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)]


def main(name: str, out: str, checkpoint: str = "checkpoints/mobile-coco128.weights.h5") -> None:
    dataset, trials, answerer = dumping_run(name, checkpoint)
    with open(out, "w") as sink:
        def on_trial(result, image, answer, gt_boxes, gt_masks):
            row = result.to_dict(SWEEP)
            row["image_size"] = [int(image.pixels.shape[1]), int(image.pixels.shape[0])]
            row["reference_index"] = result.trial.reference_index
            row["gt_boxes"] = np.round(np.asarray(gt_boxes, float), 2).tolist()
            row["boxes"] = np.round(answer.boxes.astype(float), 2).tolist()
            row["mask_boxes"] = [mask_box(m) for m in answer.masks] if answer.masks is not None else None
            row["scores"] = [round(float(s), 5) for s in answer.scores]
            sink.write(json.dumps(row) + "\n")
            sink.flush()

        run_effort(dataset, trials, answerer, thresholds=SWEEP, on_trial=on_trial)


if __name__ == "__main__":
    main(*sys.argv[1:])
