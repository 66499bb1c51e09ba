"""What building one interactive answer costs outside the model: N found masks -> what Label Studio receives.

Stages, each timed on its own (median of the recorded calls, seconds):
- `coco_rle`: the worker's transport encoding of the N masks (`worker.jobs.instance_records`);
- `box`, `brush`, `polygon`: `common.regions.instances_to_regions` with one output control of that type
  (each decodes the COCO RLE masks itself, as a one-control label config would);
- `answer`: `instances_to_regions` with all three controls at once (what the backend does for a config with a
  rectangle, a brush and a polygon control: every mask is decoded once);
- `json`: the answer encoded as the backend's Flask app encodes it for Label Studio (`backend.json_provider`);
- `total` = `coco_rle` + `answer` + `json`.

Masks are of two kinds, in random boxes a sixth to a half of the image side:
- `ellipse`: the ellipse inscribed in the box (a clean, realistic object);
- `blotchy`: a `BLOTCH_GRID` x `BLOTCH_GRID` map of uniform random probabilities resized into the box and cut
  at 0.5, as the mask head of an untrained (random) model pastes them: many parts and holes, the worst case.

The full run (`python -m bench`, "How cost grows") times the same per-pixel work for ONE clean instance at growing
image sizes with `one_instance_cost`.

    python -m bench.answer_building                      # 30 instances, 512x384 and 1024x768, both kinds
    python -m bench.answer_building --sides 512 --repeats 3 --json out.json --markdown out.md

No TensorFlow, no model, no Redis: about ten seconds.
"""

from __future__ import annotations

import argparse
import sys
from types import SimpleNamespace

import cv2
import numpy as np

from bench.publish import add_output_arguments, publish
from bench.scenes import ASPECT
from bench.timing import Stats, measure

__all__ = ["answer_stages", "make_masks", "one_instance_cost", "render_markdown", "run"]

ANSWER_INSTANCES = 30
"""Instances per answer (the service's default `max_instances`)."""
IMAGE_SIDES = (512, 1024)
"""Image long sides measured by default; images are 4:3 landscape."""
MASK_KINDS = ("ellipse", "blotchy")
BLOTCH_GRID = 28
"""Side of the mask head's output (matterport's MASK_SHAPE), the resolution of a blotchy mask."""
BOX_SIDE_RANGE = (1 / 6, 1 / 2)
"""Box sides as fractions of the image side."""
MASK_THRESHOLD = 0.5
STAGES = ("coco_rle", "box", "brush", "polygon", "answer", "json", "total")


def make_masks(shape: tuple[int, int], count: int, kind: str, seed: int = 0) -> np.ndarray:
    """`count` masks of one kind in random boxes of an image of `shape`.

    Args:
        shape: `(H, W)` of the image.
        count: number of masks.
        kind: `"ellipse"` or `"blotchy"` (see the module docstring).
        seed: the random boxes and blotches depend only on it.

    Returns:
        `(count, H, W)` bool.

    Raises:
        ValueError: an unknown kind.
    """
    if kind not in MASK_KINDS:
        raise ValueError(f"mask kind must be one of {MASK_KINDS}, got {kind!r}")
    height, width = shape
    rng = np.random.default_rng(seed)
    masks = np.zeros((count, height, width), np.uint8)
    for index in range(count):
        box_w = max(2, int(width * rng.uniform(*BOX_SIDE_RANGE)))
        box_h = max(2, int(height * rng.uniform(*BOX_SIDE_RANGE)))
        x1, y1 = int(rng.integers(0, width - box_w + 1)), int(rng.integers(0, height - box_h + 1))
        if kind == "ellipse":
            centre = (x1 + box_w // 2, y1 + box_h // 2)
            cv2.ellipse(masks[index], centre, (box_w // 2, box_h // 2), 0, 0, 360, 1, thickness=-1)
        else:
            grid = rng.uniform(size=(BLOTCH_GRID, BLOTCH_GRID)).astype(np.float32)
            resized = cv2.resize(grid, (box_w, box_h), interpolation=cv2.INTER_LINEAR)
            masks[index, y1 : y1 + box_h, x1 : x1 + box_w] = resized >= MASK_THRESHOLD
    return masks.astype(bool)


def answer_stages(masks: np.ndarray, repeats: int, warmup: int = 1) -> dict[str, Stats]:
    """Time every stage of building the answer for `masks` (`(N, H, W)` bool), in seconds."""
    from flask import Flask

    from backend.json_provider import OrjsonProvider
    from bench.service import output_controls
    from common.jobs import InstanceRecord
    from common.masks import mask_bbox
    from common.regions import instances_to_regions
    from worker.jobs import instance_records

    size = (int(masks.shape[1]), int(masks.shape[2]))
    # What the predictor hands the worker: each mask with its box (each mask lies inside its box's paste window).
    instances = [
        SimpleNamespace(box=np.asarray(mask_bbox(mask) or (0.0, 0.0, 1.0, 1.0)), score=0.9, mask=mask)
        for mask in masks
    ]

    def records() -> list[InstanceRecord]:
        return instance_records(instances)  # as the worker encodes them

    encoded = records()
    controls = output_controls()
    stages = {"coco_rle": measure(lambda _: records(), warmup=warmup, repeats=repeats)}
    for control in controls:
        name = control.type.removesuffix("labels").replace("rectangle", "box")
        stages[name] = measure(
            lambda _, c=control: instances_to_regions(encoded, (c,), "Object", size),
            warmup=warmup,
            repeats=repeats,
        )
    stages["answer"] = measure(
        lambda _: instances_to_regions(encoded, controls, "Object", size), warmup=warmup, repeats=repeats
    )
    regions = instances_to_regions(encoded, controls, "Object", size)
    encoder = OrjsonProvider(Flask("bench"))
    stages["json"] = measure(
        lambda _: encoder.dumps({"results": [{"result": regions}]}), warmup=warmup, repeats=repeats
    )
    stages["total"] = Stats.of([stages["coco_rle"].median + stages["answer"].median + stages["json"].median])
    return stages


def run(
    sides: tuple[int, ...] = IMAGE_SIDES,
    kinds: tuple[str, ...] = MASK_KINDS,
    count: int = ANSWER_INSTANCES,
    repeats: int = 5,
    seed: int = 0,
) -> dict:
    """Stage statistics for every image side and mask kind: `{"<W>x<H>": {kind: {stage: Stats dict}}}`."""
    results: dict = {"instances": count, "repeats": repeats, "sizes": {}}
    for side in sides:
        shape = (int(round(side * ASPECT)), side)
        per_kind = {}
        for kind in kinds:
            masks = make_masks(shape, count, kind, seed)
            per_kind[kind] = {name: stats.to_dict(6) for name, stats in answer_stages(masks, repeats).items()}
        results["sizes"][f"{shape[1]}x{shape[0]}"] = per_kind
    return results


def one_instance_cost(long_side: int, repeats: int) -> dict:
    """Seconds to build the answer for ONE clean instance (an ellipse over a tenth of a `long_side` x 3/4 image): its
    COCO RLE and each region type alone. The full run's per-instance table (`bench.scaling`); no model."""
    from bench.service import output_controls
    from common.jobs import InstanceRecord
    from common.masks import encode_mask
    from common.regions import instances_to_regions

    width, height = long_side, int(round(long_side * ASPECT))
    mask = np.zeros((height, width), np.uint8)
    cv2.ellipse(mask, (width // 3, height // 2), (width // 8, height // 5), 0, 0, 360, 1, thickness=-1)
    mask = mask.astype(bool)
    record = InstanceRecord(box=(0.0, 0.0, float(width), float(height)), score=1.0, mask=encode_mask(mask))
    result = {"image_shape": [height, width], "rle": measure(lambda _: encode_mask(mask), warmup=1,
                                                              repeats=repeats).to_dict(5)}
    for control in output_controls():
        result[control.type] = measure(lambda _, c=control: instances_to_regions(
            [record], (c,), "Object", (height, width)), warmup=1, repeats=repeats).to_dict(5)
    return result


def render_markdown(results: dict) -> str:
    """A table of medians in milliseconds: one row per image size and mask kind, one column per stage."""
    lines = [
        f"{results['instances']} instances, median of {results['repeats']} calls, ms",
        "",
        "| image | masks | " + " | ".join(STAGES) + " |",
        "|---|---|" + "---|" * len(STAGES),
    ]
    for size, per_kind in results["sizes"].items():
        for kind, stages in per_kind.items():
            cells = [f"{stages[name]['median'] * 1e3:.1f}" for name in STAGES]
            lines.append(f"| {size} | {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.answer_building", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--sides", type=int, nargs="+", default=list(IMAGE_SIDES), help="image long sides (px)"
    )
    parser.add_argument("--kinds", nargs="+", default=list(MASK_KINDS), choices=MASK_KINDS)
    parser.add_argument("--instances", type=int, default=ANSWER_INSTANCES)
    parser.add_argument("--repeats", type=int, default=5, help="recorded calls per stage (after one warm-up)")
    args = add_output_arguments(parser).parse_args(argv)
    results = run(tuple(args.sides), tuple(args.kinds), args.instances, args.repeats)
    publish(results, render_markdown(results), args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
