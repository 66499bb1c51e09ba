"""Dump, per trial, v7's whole answer at 0.3 as the service gives it, with what the verifier of prereg.md part 1
reads: each suggestion's box and score, and its frozen-feature cosine with the drawn box at the network's scale
(`cos512`) and at the probe's (`cos_probe`); the trial's ground-truth boxes, reference index and the other classes'
boxes, so the count can run again offline with other scores (verifier.py). The descriptors are
`model.verifier.box_descriptors` (the dumps of session 27 were written by this script's own copy of it, checked
equal to the last bit before it was folded). Usage (repo root):

    PYTHONPATH=. python bench/results/exp-session27/verifier_dump.py [--masks] SET OUT.jsonl [CHECKPOINT]

SET: synthfit | train | synthetic | split2 | split1 | droplets. CHECKPOINT: the session's dumps are v7's answers;
since v11 became the default (its card has the verifier) pass v7's: the same weights with v7's card
(`git show eff1dea:checkpoints/mobile-coco128.card.json`), e.g. `runs/s27/v7/mobile-coco128.weights.h5`.
"""

import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session15"))
from copies_dump import answerer_at_floor  # session 15's service-like answerer at the sweep's floor

from model.data.loading import load_dataset
from model.data.splits import paper_split
from model.evaluation.calibration import SWEEP
from model.evaluation.effort_runner import plan_trials, run_effort
from model.evaluation.feature_probe import MAX_IMAGE_SIDE, REFERENCE_SIDE, FeatureProbe
from model.verifier import box_descriptors, canvas_boxes

NETWORK_SIDE = 512
"""The long side the network sees a query at (`mobile` preset)."""
COCO = "../shared/data/coco128-seg"
SETS = {
    "synthfit": ("runs/s27/synth-fit/annotations.json", "coco", None, "all", 1),
    "train": (COCO, "yolo-seg", None, "train", 1),
    "synthetic": ("runs/synth-dev/annotations.json", "coco", None, "all", 1),
    "split2": (COCO, "yolo-seg", None, 2, 1),
    "split1": (COCO, "yolo-seg", None, 1, 2),
    "droplets": ("../shared/data/droplets/annotations.json", "coco", "../shared/data/droplets/images", "all", 1),
}


def classes_of(dataset, selection) -> tuple[str, ...]:
    if selection == "all":
        return tuple(dataset.categories)
    if selection == "train":
        held = set(paper_split(1).held_out_classes(dataset.categories))
        held |= set(paper_split(2).held_out_classes(dataset.categories))
        return tuple(c for c in dataset.categories if c not in held)
    return paper_split(selection).held_out_classes(dataset.categories)


def cosines(probe: FeatureProbe, pixels: np.ndarray, scale: float, drawn: np.ndarray, boxes: np.ndarray) -> list:
    height, width = pixels.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    features = probe.features(resized)
    reference = box_descriptors(features, canvas_boxes(drawn[None], scale))[0]
    return [round(float(v), 5) for v in box_descriptors(features, canvas_boxes(boxes, scale)) @ reference]


FILL_CLIP = (0.05, 1.0)


def mask_stats(pixels: np.ndarray, boxes: np.ndarray, masks) -> tuple[list, list]:
    """Part 3: each suggestion's mask fill (mask pixels / box area, clipped) and mean CIE Lab colour of the pixels
    inside its mask (its box's when the mask is empty)."""
    lab = cv2.cvtColor(pixels.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    fills, colours = [], []
    for box, mask in zip(np.asarray(boxes, np.float64).reshape(-1, 4), masks or [], strict=True):
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        area = max((x2 - x1) * (y2 - y1), 1)
        mask = np.asarray(mask, bool)
        count = int(mask.sum())
        fills.append(round(float(np.clip(count / area, *FILL_CLIP)), 5))
        inside = lab[mask] if count else lab[max(y1, 0):max(y2, y1 + 1), max(x1, 0):max(x2, x1 + 1)].reshape(-1, 3)
        colours.append([round(float(v), 3) for v in inside.mean(axis=0)] if len(inside) else [0.0, 0.0, 0.0])
    return fills, colours


def main(name: str, out: str, checkpoint: str = "checkpoints/mobile-coco128.weights.h5") -> None:
    path, data_format, images_dir, selection, seeds = SETS[name]
    dataset = load_dataset(path, data_format, images_dir=images_dir)
    trials = plan_trials(dataset, classes_of(dataset, selection), seeds)
    answerer = answerer_at_floor(checkpoint)
    probe = FeatureProbe()
    with open(out, "w") as sink:
        def on_trial(result, image, answer, gt_boxes, gt_masks):
            pixels = image.pixels
            height, width = pixels.shape[:2]
            drawn = np.asarray(gt_boxes[result.trial.reference_index], np.float64)
            dw, dh = max(drawn[2] - drawn[0], 1.0), max(drawn[3] - drawn[1], 1.0)
            network_scale = NETWORK_SIDE / max(height, width)
            probe_scale = min(REFERENCE_SIDE / min(dw, dh), MAX_IMAGE_SIDE / max(height, width))
            row = result.to_dict(SWEEP)
            ds = dataset.images[result.trial.image_index]
            others = [a for a in ds.instances if a.category_id != result.trial.category_id and not a.iscrowd]
            row["image_size"] = [int(width), int(height)]
            row["gt_boxes"] = np.round(np.asarray(gt_boxes, float), 2).tolist()
            row["other_boxes"] = np.round(np.asarray(ds.boxes(others), float).reshape(-1, 4), 2).tolist()
            row["boxes"] = np.round(answer.boxes.astype(float), 2).tolist()
            row["scores"] = [round(float(s), 5) for s in answer.scores]
            row["cos512"] = cosines(probe, pixels, network_scale, drawn, answer.boxes)
            row["cos_probe"] = cosines(probe, pixels, probe_scale, drawn, answer.boxes)
            if MASKS:
                row["fill"], row["lab"] = mask_stats(pixels, answer.boxes, answer.masks)
            sink.write(json.dumps(row) + "\n")
            sink.flush()

        run_effort(dataset, trials, answerer, thresholds=SWEEP, on_trial=on_trial)


MASKS = False
"""Part 3: `--masks` first on the command line also records each suggestion's mask fill and Lab colour."""

if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments and arguments[0] == "--masks":
        MASKS, arguments = True, arguments[1:]
    main(*arguments)
