"""Dump, per trial, v7's answer at 0.3 as the service gives it: the trial's counts at every sweep threshold and,
per suggestion, its score and box IoU with the drawn box. The copies rule (prereg.md) is then scored from the dump
alone (copies_rule.py). Usage (from the repo root):

    PYTHONPATH=. python bench/results/exp-session15/copies_dump.py SET OUT.jsonl [CHECKPOINT]

SET: synthetic | split2 | split1 | droplets.
"""

import json
import sys

import numpy as np

from common.settings import Settings
from model.answering import AnswerThresholds
from model.checkpoint import load_checkpoint
from model.data.loading import load_dataset
from model.data.splits import paper_split
from model.evaluation.calibration import SWEEP
from model.evaluation.effort_runner import plan_trials, run_effort
from model.evaluation.matching import box_iou
from model.evaluation.service_answerer import ServiceAnswerer
from model.predictor import Predictor

SETS = {
    "synthetic": ("runs/synth-dev/annotations.json", "coco", None, "all", 1),
    "split2": ("../shared/data/coco128-seg", "yolo-seg", None, 2, 1),
    "split1": ("../shared/data/coco128-seg", "yolo-seg", None, 1, 2),
    "droplets": ("../shared/data/droplets/annotations.json", "coco", "../shared/data/droplets/images", "all", 1),
}


def dumping_run(name: str, checkpoint: str):
    """`(dataset, trials, answerer)`: SET's trials and the checkpoint answering at the sweep's lowest threshold as the
    service does (bfloat16, folded BatchNorm, the environment's NMS, cap and decoding)."""
    path, data_format, images_dir, selection, seeds = SETS[name]
    dataset = load_dataset(path, data_format, images_dir=images_dir)
    classes = (tuple(dataset.categories) if selection == "all"
               else paper_split(selection).held_out_classes(dataset.categories))
    return dataset, plan_trials(dataset, classes, seeds), answerer_at_floor(checkpoint)


def answerer_at_floor(checkpoint: str) -> ServiceAnswerer:
    """The checkpoint answering at the sweep's lowest threshold as the service does (bfloat16, folded BatchNorm, the
    environment's NMS, cap and decoding)."""
    settings = Settings.from_env()
    model, card = load_checkpoint(checkpoint, precision="bfloat16")
    predictor = Predictor(model, version=card.version, card=card, fold_batch_norm=True)
    return ServiceAnswerer(predictor, AnswerThresholds(min(SWEEP), settings.nms_threshold, settings.max_instances),
                           decode_factor=settings.decode_factor)


def main(name: str, out: str, checkpoint: str = "checkpoints/mobile-coco128.weights.h5") -> None:
    dataset, trials, answerer = dumping_run(name, checkpoint)
    with open(out, "w") as sink:
        def on_trial(result, image, answer, gt_boxes, gt_masks):
            drawn = gt_boxes[result.trial.reference_index][None]
            to_drawn = box_iou(answer.boxes, drawn)[:, 0] if len(answer) else np.zeros(0)
            row = result.to_dict(SWEEP)
            row["scores"] = [round(float(s), 5) for s in answer.scores]
            row["iou_drawn"] = [round(float(v), 4) for v in to_drawn]
            row["references"] = result.counts[0].references
            sink.write(json.dumps(row) + "\n")
            sink.flush()

        run_effort(dataset, trials, answerer, thresholds=SWEEP, on_trial=on_trial)


if __name__ == "__main__":
    main(*sys.argv[1:])
