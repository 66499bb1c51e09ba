"""Learning curve of "learning from accepted labels": how much k accepted images improve one-shot suggestions.

Simulates an annotator: start from a checkpoint (by default the shipped `checkpoints/mobile-coco128.weights.h5`),
"accept" the ground truth of the first k images of a fixed shuffled order (k = 0, 1, 2, 5, 10), fine-tune with the
service's default budget (`model.training.finetune`, the same function the training job calls), and measure box
AP50, mask AP50 and one-reference recall on the images that are never accepted (the same evaluation images for
every k, so the points are comparable). k = 0 is the checkpoint itself.

    python -m bench.learning_curve                                  # coco128-seg (person, car, cup, chair) + synthetic
    python -m bench.learning_curve --datasets synthetic --ks 0,1,2 --max-steps 20 --eval-images 6 --runs 1
    python -m bench.learning_curve --checkpoint runs/mobile-coco128/model.weights.h5 --out runs/learning_curve

Writes `<out>/learning_curve.json`, `learning_curve.md` (a table per dataset) and `learning_curve.png`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.models import SHIPPED_CHECKPOINTS
from stack.services import REPO_ROOT

SHIPPED_CHECKPOINT = SHIPPED_CHECKPOINTS["mobile"]
COCO128_DIR = REPO_ROOT.parent / "shared" / "data" / "coco128-seg"
COCO128_CLASSES = ("person", "car", "cup", "chair")
"""Classes of coco128-seg with many instances (the issue's suggestion)."""
DEFAULT_KS = (0, 1, 2, 5, 10)
DEFAULT_OUT = REPO_ROOT / "runs" / "learning_curve"
SYNTHETIC_SIZE = 256
SYNTHETIC_CLASSES = ("disc", "ring")
SYNTHETIC_OBJECTS = (2, 6)
"""Objects per synthetic image (each of a random class, plus one distractor triangle)."""
METRICS = ("box_ap50", "mask_ap50", "recall")

log = logging.getLogger("learning_curve")


# --- datasets ----------------------------------------------------------------------------------------------------


def restrict(dataset, classes: tuple[str, ...]):
    """Only `classes` (re-indexed in that order), only the images holding at least one of them."""
    from model.data.annotations import AnnotatedImage, Dataset, InstanceAnnotation

    missing = [c for c in classes if c not in dataset.categories]
    if missing:
        raise SystemExit(f"classes {missing} are not in the dataset; it has {list(dataset.categories)}")
    position = {name: i for i, name in enumerate(classes)}
    images = []
    for image in dataset.images:
        kept = tuple(
            InstanceAnnotation(
                category_id=position[a.category],
                category=a.category,
                box=a.box,
                polygons=a.polygons,
                rle=a.rle,
                iscrowd=a.iscrowd,
            )
            for a in image.instances
            if a.category in position
        )
        if any(not a.iscrowd for a in kept):
            images.append(AnnotatedImage(image.image_id, image.source, image.height, image.width, kept, image.group))
    return Dataset(tuple(classes), tuple(images), dataset.name)


def synthetic_dataset(count: int, seed: int):
    """`count` images of discs and rings (the classes) and triangles (distractors) on textured backgrounds.

    Shapes the COCO-trained model has never been told about, so any gain comes from the accepted labels.
    """
    import cv2
    from pycocotools import mask as mask_utils

    from model.data.annotations import AnnotatedImage, Dataset, InstanceAnnotation, box_from_mask

    rng = np.random.default_rng(seed)
    images = []
    for index in range(count):
        size = SYNTHETIC_SIZE
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        base = 80 + 50 * np.sin(xx / rng.uniform(9, 20)) * np.cos(yy / rng.uniform(9, 20))
        pixels = np.clip(
            np.stack([base, base * 0.8 + 30, base * 0.6 + 50], -1) + rng.normal(0, 10, (size, size, 3)),
            0,
            255,
        ).astype(np.uint8)
        instances, occupied = [], np.zeros((size, size), bool)
        for _ in range(int(rng.integers(*SYNTHETIC_OBJECTS, endpoint=True)) + 1):
            radius = int(rng.integers(12, 28))
            for _attempt in range(20):
                cx, cy = (int(v) for v in rng.integers(radius + 2, size - radius - 2, 2))
                mask = np.zeros((size, size), np.uint8)
                cv2.circle(mask, (cx, cy), radius + 3, 1, -1)
                if not (occupied & mask.astype(bool)).any():
                    break
            else:
                continue
            occupied |= mask.astype(bool)
            kind = (
                int(rng.integers(0, 3)) if instances else int(rng.integers(0, 2))
            )  # the first is never a distractor
            mask = np.zeros((size, size), np.uint8)
            if kind == 0:  # disc: red, filled
                cv2.circle(pixels, (cx, cy), radius, (210, 50, 40), -1)
                cv2.circle(mask, (cx, cy), radius, 1, -1)
            elif kind == 1:  # ring: blue, hollow
                cv2.circle(pixels, (cx, cy), radius, (40, 70, 220), max(3, radius // 3))
                cv2.circle(mask, (cx, cy), radius + max(3, radius // 3) // 2, 1, -1)
            else:  # distractor triangle: green, not annotated
                points = np.array([[cx, cy - radius], [cx - radius, cy + radius], [cx + radius, cy + radius]])
                cv2.fillPoly(pixels, [points.astype(np.int32)], (60, 190, 60))
                continue
            rle = mask_utils.encode(np.asfortranarray(mask))
            instances.append(
                InstanceAnnotation(
                    category_id=kind,
                    category=SYNTHETIC_CLASSES[kind],
                    box=box_from_mask(mask.astype(bool)),
                    rle=rle,
                )
            )
        frozen = pixels.copy()
        images.append(AnnotatedImage(f"synthetic-{index}", lambda p=frozen: p, size, size, tuple(instances)))
    return Dataset(SYNTHETIC_CLASSES, tuple(images), f"synthetic-{count}")


def load(name: str, args: argparse.Namespace):
    from model.data.loading import load_dataset

    if name == "synthetic":
        return synthetic_dataset(args.synthetic_images, args.seed)
    if name == "coco128":
        if not COCO128_DIR.exists():
            raise SystemExit(
                f"{COCO128_DIR} is absent: coco128-seg lives in ../shared/data (or pass --datasets synthetic)"
            )
        return restrict(load_dataset(COCO128_DIR, "yolo-seg"), tuple(args.classes.split(",")))
    raise SystemExit(f"unknown dataset {name!r}: use coco128 or synthetic")


# --- the simulation -------------------------------------------------------------------------------------------


def evaluate_checkpoint(weights: Path, eval_set, runs: int, seed: int) -> dict:
    from model.evaluation.predictor_adapter import predictor_predict_fn
    from model.evaluation.protocol import evaluate
    from model.predictor import Predictor

    predictor = Predictor.from_checkpoint(weights)
    report = evaluate(
        predictor_predict_fn(predictor, score_threshold=predictor.config.detection_min_confidence),
        eval_set,
        runs=runs,
        seed=seed,
        progress=False,
    )
    return {key: report[key] for key in METRICS} | {
        "queries": report["num_queries"],
        "per_class": report["per_class"],
    }


def class_roles(checkpoint: Path, classes: tuple[str, ...]) -> dict[str, str]:
    """Per class: "held out" (never a training class of the checkpoint), "trained" (it was), or "new" (unknown).

    The shipped checkpoint was trained on coco128-seg itself: its training classes were seen on these very images,
    so their curve starts high and measures little; only held-out classes show what accepted labels teach.
    """
    from model.checkpoint import read_card

    training = read_card(checkpoint).training or {}
    held_out, trained = set(training.get("held_out_classes", ())), set(training.get("train_classes", ()))
    return {c: "held out" if c in held_out else "trained" if c in trained else "new" for c in classes}


def curve(
    dataset,
    parent: Path,
    args: argparse.Namespace,
    workdir: Path,
    on_point: Callable[[list[dict]], None] = lambda points: None,
) -> list[dict]:
    """One point per k: accept the first k images, fine-tune, evaluate on the never-accepted images.

    `on_point` gets the points so far after each one (the caller writes partial results: a long run that is
    stopped still leaves its finished points).
    """
    from model.data.annotations import Dataset
    from model.training.finetune import FineTuneSettings, finetune

    ks = sorted({int(k) for k in args.ks.split(",")})
    order = np.random.default_rng(args.seed).permutation(len(dataset.images))
    shuffled = [dataset.images[i] for i in order]
    if len(shuffled) <= max(ks):
        raise SystemExit(
            f"{dataset.name} has {len(shuffled)} images; k up to {max(ks)} leaves none to evaluate on"
        )
    evaluation = shuffled[max(ks) :]
    if args.eval_images:
        evaluation = evaluation[: args.eval_images]
    eval_set = Dataset(dataset.categories, tuple(evaluation), dataset.name)
    budget = FineTuneSettings(holdout_fraction=0.0, seed=args.seed)
    if args.max_steps:
        budget.max_steps = args.max_steps
    if args.time_budget:
        budget.time_budget_s = args.time_budget
    points = []
    for k in ks:
        started = time.monotonic()
        if k == 0:
            weights, steps = parent, 0
        else:
            accepted = Dataset(dataset.categories, tuple(shuffled[:k]), dataset.name)
            result = finetune(parent, accepted, workdir / f"k{k}.weights.h5", f"learning-curve-k{k}", budget)
            weights, steps = result.weights_path, result.steps
        trained_at = time.monotonic()
        metrics = evaluate_checkpoint(weights, eval_set, args.runs, args.seed)
        point = {
            "k": k,
            "steps": steps,
            "eval_images": len(evaluation),
            **metrics,
            "accepted_instances": sum(len(image.instances) for image in shuffled[:k]),
            "finetune_seconds": round(trained_at - started, 1),
            "eval_seconds": round(time.monotonic() - trained_at, 1),
            "seconds": round(time.monotonic() - started, 1),
        }
        log.info(
            "%s k=%d: box AP50 %.3f, recall %.3f (%d steps, fine-tune %.0f s, evaluation %.0f s)",
            dataset.name,
            k,
            metrics["box_ap50"]["mean"],
            metrics["recall"]["mean"],
            steps,
            point["finetune_seconds"],
            point["eval_seconds"],
        )
        points.append(point)
        on_point(points)
    return points


# --- reports ----------------------------------------------------------------------------------------------------


def table(name: str, points: list[dict], roles: dict[str, str] | None = None) -> str:
    """Markdown: one row per k (mean ± 95% interval over evaluation runs), then box AP50 per class.

    `roles` marks each class "held out" / "trained" for the starting checkpoint (see `class_roles`).
    """
    lines = [
        f"### {name}",
        "",
        "| accepted images k | box AP50 | mask AP50 | one-reference recall | steps | queries |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for p in points:
        cells = [f"{100 * p[m]['mean']:.1f} ± {100 * p[m]['ci95']:.1f}" for m in METRICS]
        lines.append(f"| {p['k']} | {' | '.join(cells)} | {p['steps']} | {p['queries']} |")
    classes = list(points[0].get("per_class", {})) if points else []
    if classes:
        roles = roles or {}
        heads = [f"{c} ({roles[c]})" if c in roles else c for c in classes]
        lines += [
            "",
            "Box AP50 per class:",
            "",
            f"| k | {' | '.join(heads)} |",
            "|---:|" + "---:|" * len(classes),
        ]
        for p in points:
            cells = [
                f"{100 * p['per_class'][c]['box_ap50']:.1f}" if c in p["per_class"] else "–" for c in classes
            ]
            lines.append(f"| {p['k']} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def write_reports(
    out: Path, args: argparse.Namespace, results: dict[str, list[dict]], roles: dict[str, dict[str, str]]
) -> str:
    """Write `learning_curve.json`, `.md` and `.png` under `out` (called after every point); returns the markdown."""
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    (out / "learning_curve.json").write_text(
        json.dumps({"settings": settings, "class_roles": roles, "results": results}, indent=1)
    )
    markdown = "".join(
        table(name, points, roles.get(name)) + "\n" for name, points in results.items() if points
    )
    (out / "learning_curve.md").write_text(f"Starting checkpoint: `{args.checkpoint.name}`\n\n{markdown}")
    if any(results.values()):
        plot({name: points for name, points in results.items() if points}, out / "learning_curve.png")
    return markdown


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, points in results.items():
        ks = [p["k"] for p in points]
        for axis, metric, title in (
            (axes[0], "box_ap50", "box AP50"),
            (axes[1], "recall", "one-reference recall"),
        ):
            means = np.array([p[metric]["mean"] for p in points]) * 100
            errors = np.array([p[metric]["ci95"] for p in points]) * 100
            axis.errorbar(ks, means, yerr=errors, marker="o", capsize=3, label=name)
            axis.set_title(title)
            axis.set_xlabel("accepted images k")
            axis.set_ylabel("%")
            axis.set_xticks(ks)
            axis.grid(alpha=0.3)
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.learning_curve", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--checkpoint", type=Path, default=SHIPPED_CHECKPOINT, help="the starting checkpoint")
    parser.add_argument("--datasets", default="coco128,synthetic", help="comma-separated: coco128, synthetic")
    parser.add_argument("--classes", default=",".join(COCO128_CLASSES), help="coco128 classes to use")
    parser.add_argument("--ks", default=",".join(map(str, DEFAULT_KS)), help="accepted image counts")
    parser.add_argument("--synthetic-images", type=int, default=40)
    parser.add_argument(
        "--eval-images", type=int, default=0, help="cap on evaluation images (0: all remaining)"
    )
    parser.add_argument("--runs", type=int, default=2, help="evaluation repetitions (fresh references each)")
    parser.add_argument(
        "--max-steps", type=int, default=0, help="override the default step budget (quick runs)"
    )
    parser.add_argument(
        "--time-budget", type=float, default=0, help="override the default time budget, seconds"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not args.checkpoint.exists():
        raise SystemExit(
            f"{args.checkpoint} does not exist: pass --checkpoint (any of our *.weights.h5 with its card)"
        )

    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[dict]] = {}
    roles: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="learning-curve-") as scratch:
        for name in (n.strip() for n in args.datasets.split(",")):
            dataset = load(name, args)
            roles[name] = class_roles(args.checkpoint, tuple(dataset.categories))
            log.info("%s: %d images with %s", dataset.name, len(dataset.images), roles[name])

            def partial(points: list[dict], name: str = name) -> None:
                results[name] = points
                write_reports(args.out, args, results, roles)

            results[name] = curve(dataset, args.checkpoint, args, Path(scratch), partial)
    markdown = write_reports(args.out, args, results, roles)
    print(markdown)
    print(f"wrote {args.out}/learning_curve.json, .md and .png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
