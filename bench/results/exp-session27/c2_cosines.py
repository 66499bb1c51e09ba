"""Prereg part 2: add to a dump of verifier_dump.py each suggestion's cosine with the drawn box on the backbone's
stride-4 map (MobileNetV2 `block_3_expand_relu`, C2) at the network's scale, as `cos_c2`. The answers are not asked
again: the dump's boxes are read, the images loaded in the dump's trial order. Usage (repo root):

    PYTHONPATH=. python bench/results/exp-session27/c2_cosines.py SET   # runs/s27/dump-SET.jsonl -> dump-SET-c2.jsonl
"""

import json
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from verifier_dump import NETWORK_SIDE, SETS, classes_of

from model.data.loading import load_dataset
from model.evaluation.effort_runner import plan_trials
from model.verifier import box_descriptors, canvas_boxes

C2_LAYER = "block_3_expand_relu"
C2_STRIDE = 4


def c2_network():
    import keras

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*input_shape.*", category=UserWarning)
        base = keras.applications.MobileNetV2(input_shape=(None, None, 3), alpha=0.5, include_top=False,
                                              weights="imagenet")
    return keras.Model(base.input, base.get_layer(C2_LAYER).output), keras.applications.mobilenet_v2.preprocess_input


def main(name: str) -> None:
    path, data_format, images_dir, selection, seeds = SETS[name]
    dataset = load_dataset(path, data_format, images_dir=images_dir)
    trials = plan_trials(dataset, classes_of(dataset, selection), seeds)
    rows = [json.loads(line) for line in Path(f"runs/s27/dump-{name}.jsonl").read_text().splitlines()]
    assert len(rows) == len(trials), (len(rows), len(trials))
    network, preprocess = c2_network()
    cached = (None, None, None)
    with open(f"runs/s27/dump-{name}-c2.jsonl", "w") as sink:
        for trial, row in zip(trials, rows, strict=True):
            assert trial.reference_index == row["reference_index"] and trial.category == row["category"]
            if cached[0] != trial.image_index:
                pixels = dataset.images[trial.image_index].load_image()
                height, width = pixels.shape[:2]
                scale = NETWORK_SIDE / max(height, width)
                size = (max(1, round(width * scale)), max(1, round(height * scale)))
                resized = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
                fine = np.array(network(preprocess(resized[None].astype(np.float32)), training=False)[0], np.float32)
                fine /= np.maximum(np.linalg.norm(fine, axis=-1, keepdims=True), 1e-6)
                cached = (trial.image_index, fine, scale)
            _, features, scale = cached
            drawn = np.asarray(row["gt_boxes"], np.float64)[row["reference_index"]][None]
            boxes = np.asarray(row["boxes"], np.float64).reshape(-1, 4)
            reference = box_descriptors(features, canvas_boxes(drawn, scale), stride=C2_STRIDE)[0]
            found = box_descriptors(features, canvas_boxes(boxes, scale), stride=C2_STRIDE)
            row["cos_c2"] = [round(float(v), 5) for v in found @ reference]
            sink.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
