"""Check the EfficientNet-Lite backbone against its ImageNet weights (model/lite_weights.py); no training.

1. Features: the Keras backbone (`build_efficientnet_lite`, weights mapped by name) against an independent
   rebuild in raw `tf.nn` ops straight from the PyTorch state dict (kernels used as stored, strides given by the
   widths of the stride-2 stages), on coco128 images at 224 and 512 px: max |difference| per tap.
2. Labels: the ImageNet classifier of the same file (built here only, never in the product) on coco128 object
   crops of classes whose ImageNet indices are known; top-1 and top-5 "in the class's index set" against chance.

    PYTHONPATH=. python scripts/check_lite_weights.py [--variant lite1] [--pth FILE] [--data ../shared/data/coco128-seg]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

STRIDE2_WIDTHS = {"lite0": {24, 40, 80, 192}, "lite1": {24, 40, 80, 192}, "lite2": {24, 48, 88, 208}}
"""Output widths of the stages that start with a stride-2 block (TF's `efficientnet_lite_builder.py`)."""
IMAGENET_INDICES = {
    "cat": range(281, 294), "dog": range(151, 269), "zebra": [340], "elephant": [101, 385, 386],
    "bear": range(294, 298), "pizza": [963], "banana": [954], "broccoli": [937], "orange": [950],
    "umbrella": [879], "teddy bear": [850], "airplane": [404, 895, 908], "bus": [654, 779, 874],
    "train": [466, 547, 565, 705, 820, 829], "tv": [664, 782, 851], "laptop": [620, 681],
    "clock": [409, 530, 892], "horse": [339, 603], "motorcycle": [665, 670], "toilet": [861],
    "bird": [*range(7, 25), *range(80, 101), *range(127, 147)], "sheep": [348, 349], "cow": [345, 346, 347],
    "bicycle": [444, 671, 870], "cell phone": [487], "keyboard": [508], "mouse": [673], "remote": [761],
    "vase": [883], "bench": [703], "traffic light": [920], "dining table": [532], "potted plant": [738],
    "cup": [504, 968], "wine glass": [572, 966], "bowl": [659, 809],
}
"""COCO class -> ImageNet-1k indices that name it (standard index order; only unambiguous classes)."""


def coco_crops(data: Path, size: int = 224, min_side: int = 32):
    """Instance crops of coco128-seg, resized to size x size: (uint8-valued float32 [N, size, size, 3], names)."""
    names = (data / "classes.txt").read_text().split("\n")
    crops, labels = [], []
    for label_file in sorted((data / "labels" / "train2017").glob("*.txt")):
        image_file = data / "images" / "train2017" / f"{label_file.stem}.jpg"
        if not image_file.exists():
            continue
        image = Image.open(image_file).convert("RGB")
        for line in label_file.read_text().splitlines():
            parts = line.split()
            if len(parts) < 7 or names[int(parts[0])] not in IMAGENET_INDICES:
                continue
            xy = np.array(parts[1:], float).reshape(-1, 2) * image.size
            (x0, y0), (x1, y1) = xy.min(0), xy.max(0)
            if min(x1 - x0, y1 - y0) < min_side:
                continue
            crop = image.crop((int(x0), int(y0), int(x1) + 1, int(y1) + 1)).resize((size, size), Image.BILINEAR)
            crops.append(np.asarray(crop, np.float32))
            labels.append(names[int(parts[0])])
    return np.stack(crops), labels


def raw_reference(state: dict, images: np.ndarray, stride2_widths: set[int]) -> list[np.ndarray]:
    """The backbone's taps computed with tf.nn ops from the PyTorch arrays: [C2, C3, C4, C5]."""
    import tensorflow as tf

    def conv(x, w, stride=1):
        return tf.nn.conv2d(x, np.transpose(w, (2, 3, 1, 0)), stride, "SAME")

    def depthwise(x, w, stride=1):
        return tf.nn.depthwise_conv2d(x, np.transpose(w, (2, 3, 0, 1)), [1, stride, stride, 1], "SAME")

    def bn(x, prefix):
        scale = state[prefix + "weight"] / np.sqrt(state[prefix + "running_var"] + 1e-3)
        return (x - state[prefix + "running_mean"]) * scale + state[prefix + "bias"]

    x = (tf.constant(images) - 127.0) / 128.0
    x = tf.nn.relu6(bn(conv(x, state["_conv_stem.weight"], 2), "_bn0."))
    taps, stride, b = [], 2, 0
    while f"_blocks.{b}._depthwise_conv.weight" in state:
        p = f"_blocks.{b}."
        inputs = x
        if p + "_expand_conv.weight" in state:
            x = tf.nn.relu6(bn(conv(x, state[p + "_expand_conv.weight"]), p + "_bn0."))
        c_in, c_out = inputs.shape[-1], state[p + "_project_conv.weight"].shape[0]
        s = 2 if c_out != c_in and c_out in stride2_widths else 1
        if s == 2 and stride >= 4:
            taps.append(x.numpy())
        stride *= s
        x = tf.nn.relu6(bn(depthwise(x, state[p + "_depthwise_conv.weight"], s), p + "_bn1."))
        x = bn(conv(x, state[p + "_project_conv.weight"]), p + "_bn2.")
        if s == 1 and c_in == c_out:
            x = x + inputs
        b += 1
    taps.append(tf.nn.relu6(bn(conv(x, state["_conv_head.weight"]), "_bn1.")).numpy())
    return taps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="lite1", choices=sorted(STRIDE2_WIDTHS))
    parser.add_argument("--pth", help="the .pth file (default: the pinned one, fetched into ~/.keras/models)")
    parser.add_argument("--data", default="../shared/data/coco128-seg")
    args = parser.parse_args()

    from model.layers.efficientnet_lite import build_efficientnet_lite
    from model.lite_weights import fetch_lite_weights, lite_classifier, map_lite_weights
    from model.preprocess import mold
    from model.torch_reading import read_torch_state_dict

    mean_pixel = (123.7, 116.8, 103.9)
    pth = Path(args.pth) if args.pth else fetch_lite_weights(args.variant)
    state = read_torch_state_dict(pth)
    backbone = build_efficientnet_lite(args.variant, mean_pixel=mean_pixel)
    report = map_lite_weights(backbone, state)
    result = {"pth": str(pth), "matched": report.matched, "ignored": len(report.ignored), "features": {}}

    crops, labels = coco_crops(Path(args.data))
    for size in (224, 512):
        images = np.stack([np.asarray(Image.fromarray(c.astype(np.uint8)).resize((size, size), Image.BILINEAR),
                                      np.float32) for c in crops[:8]])
        ours = backbone.predict(mold(images, mean_pixel), verbose=0)
        reference = raw_reference(state, images, STRIDE2_WIDTHS[args.variant])
        result["features"][size] = {
            f"C{i + 2} (stride {2 ** (i + 2)}, {a.shape[-1]} ch)": {
                "max_abs_diff": float(np.abs(a - r).max()), "max_abs_value": float(np.abs(r).max())}
            for i, (a, r) in enumerate(zip(ours, reference, strict=True))}

    kernel, bias = lite_classifier(state)
    features = np.concatenate([backbone.predict(mold(crops[i : i + 32], mean_pixel), verbose=0)[3].mean((1, 2))
                               for i in range(0, len(crops), 32)])
    top5 = np.argsort(features @ kernel + bias, axis=1)[:, ::-1][:, :5]
    per_class = {}
    for name in sorted(set(labels)):
        rows = [i for i, label in enumerate(labels) if label == name]
        wanted = set(IMAGENET_INDICES[name])
        per_class[name] = {"crops": len(rows), "top1": float(np.mean([top5[i, 0] in wanted for i in rows])),
                           "top5": float(np.mean([bool(wanted & set(top5[i])) for i in rows])),
                           "chance_top1": len(wanted) / 1000}
    hits1 = [top5[i, 0] in set(IMAGENET_INDICES[label]) for i, label in enumerate(labels)]
    hits5 = [bool(set(IMAGENET_INDICES[label]) & set(top5[i])) for i, label in enumerate(labels)]
    result["labels"] = {"crops": len(labels), "top1": float(np.mean(hits1)), "top5": float(np.mean(hits5)),
                        "per_class": per_class}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
