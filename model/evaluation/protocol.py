"""The paper's one-shot evaluation protocol (model-spec §5.3) over any `PredictFn`.

For each image and each active category present in it, draw K references of that category (another image, or
possibly the same one), call `predict`, label the detections with the category, and score them with COCOeval:
AP50 for boxes and masks averaged over the active classes. Repeat for N runs with fresh references; report the
mean and the 95% interval `1.96 * std / sqrt(N)`. Alongside, the annotator's figure for each query: recall (the
fraction of same-class instances found at IoU >= 0.5) and precision (the fraction of returned instances that are
right), averaged over queries.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection

import numpy as np

from model.data.annotations import Dataset
from model.data.episodes import EpisodeSampler
from model.evaluation.coco_metrics import ap50_per_class, build_ground_truth, encode_mask, interval
from model.evaluation.matching import QueryOutcome, match_query, precision_recall_at
from model.evaluation.predictions import PredictFn, as_predictions

__all__ = ["DEFAULT_RUNS", "evaluate"]

DEFAULT_RUNS = 5
"""The paper evaluates each model 5 times with fresh references."""
PR_CURVE_POINTS = 21
"""Score thresholds (quantiles of all returned scores) at which the precision/recall curve is sampled."""
EXAMPLE_MAX_PREDICTIONS = 10
"""Predictions (with mask RLEs) stored per qualitative example; keeps the JSON report small."""
_IMAGE_CACHE_SIZE = 32


def evaluate(
    predict_fn: PredictFn,
    dataset: Dataset,
    classes: Collection[str] | None = None,
    runs: int = DEFAULT_RUNS,
    seed: int = 0,
    *,
    shots: int = 1,
    allow_same_image_reference: bool = True,
    max_images: int | None = None,
    max_examples: int = 4,
    progress: bool = True,
) -> dict:
    """Run the one-shot protocol and return a JSON-safe report.

    Args:
        predict_fn: `predict(query (H, W, 3) uint8, reference image(s), reference_boxes (K, 4) xyxy pixels)` ->
            iterable of `(box (4,) xyxy pixels, score, mask (H, W) bool)`; see `model.evaluation.predictions`.
        dataset: the test images (e.g. COCO val2017, or coco128-seg).
        classes: active category names (e.g. a split's held-out classes); None = all categories.
        runs: repetitions with fresh random references (the paper: 5).
        seed: run r uses the generator seeded with `(seed, r)`: same seed, same references.
        shots: K references per query; K > 1 passes a list of K images with one box each.
        allow_same_image_reference: the reference may come from the query image itself (the paper: yes).
        max_images: evaluate only the first N images (quick checks); None = all.
        max_examples: queries of run 0 kept (with mask RLEs) for `write_report_figures`.
        progress: show a tqdm bar.

    Returns:
        `{"box_ap50", "mask_ap50", "recall", "precision"}` each `{"mean", "ci95", "per_run"}` (fractions in [0, 1],
        multiply by 100 for the paper's numbers), `"per_class"` (mean AP50 per class over runs), `"pr_curve"`,
        `"examples"`, and the protocol settings (`"classes"`, `"runs"`, `"shots"`, `"seed"`, `"num_images"`,
        `"num_queries"`, `"skipped_classes"`).
    """
    if runs < 1 or shots < 1:
        raise ValueError(f"runs and shots must be >= 1, got runs={runs}, shots={shots}")
    names = tuple(dataset.categories if classes is None else classes)
    # Queries are the first `max_images` images; references are drawn from the whole dataset.
    images = dataset.images[:max_images] if max_images is not None else dataset.images
    sampler = EpisodeSampler(dataset, names, allow_same_image_reference=allow_same_image_reference)
    queries = [(i, cid) for i in range(len(images)) for cid in sampler.eligible_categories(i)]
    queried = sorted({cid for _, cid in queries})
    active = sorted(dataset.category_id(n) for n in names)
    skipped = [
        dataset.categories[c]
        for c in active
        if c not in queried and any(i < len(images) for i in dataset.images_with(c))
    ]
    gt = build_ground_truth(images, queried, dataset.categories)
    load = _ImageCache(dataset)

    box_runs, mask_runs, recall_runs, precision_runs = [], [], [], []
    per_class: dict[int, list[tuple[float, float]]] = {cid: [] for cid in queried}
    outcomes_all: list[QueryOutcome] = []
    examples: list[dict] = []
    bar = _progress(runs * len(queries), progress)
    for run in range(runs):
        rng = np.random.default_rng([seed, run])
        box_results, mask_results, outcomes = [], [], []
        for image_index, cid in queries:
            query = images[image_index]
            query_image = load(image_index)
            draws = [sampler.draw_reference(cid, image_index, rng) for _ in range(shots)]
            ref_images = [load(d.image_index) for d in draws]
            ref_boxes = np.stack(
                [dataset.images[d.image_index].instances[d.instance_index].box for d in draws]
            )
            reference_arg = ref_images[0] if shots == 1 else ref_images
            predictions = as_predictions(
                predict_fn(query_image, reference_arg, ref_boxes), query.height, query.width
            )
            targets = query.boxes(query.instances_of(cid))
            outcome = match_query(
                np.array([p.box for p in predictions]).reshape(-1, 4), [p.score for p in predictions], targets
            )
            outcomes.append(outcome)
            for p in predictions:
                x1, y1, x2, y2 = (float(v) for v in p.box)
                common = {"image_id": image_index + 1, "category_id": cid + 1, "score": p.score}
                box_results.append({**common, "bbox": [x1, y1, x2 - x1, y2 - y1]})
                mask_results.append({**common, "segmentation": encode_mask(p.mask)})
            if run == 0 and len(examples) < max_examples:
                examples.append(
                    _example(query, dataset, cid, draws[0], ref_boxes[0], predictions, mask_results)
                )
            bar.update(1)
        box_ap = ap50_per_class(gt, box_results, "bbox", queried)
        mask_ap = ap50_per_class(gt, mask_results, "segm", queried)
        for cid in box_ap:
            per_class[cid].append((box_ap[cid], mask_ap[cid]))
        box_runs.append(_mean(box_ap.values()))
        mask_runs.append(_mean(mask_ap.values()))
        recall, precision = precision_recall_at(outcomes, -np.inf)
        recall_runs.append(recall)
        if precision is not None:
            precision_runs.append(precision)
        outcomes_all.extend(outcomes)
    bar.close()

    return {
        "dataset": dataset.name,
        "classes": list(names),
        "num_images": len(images),
        "num_queries": len(queries),
        "runs": runs,
        "shots": shots,
        "seed": seed,
        "allow_same_image_reference": allow_same_image_reference,
        "box_ap50": interval(box_runs),
        "mask_ap50": interval(mask_runs),
        "recall": interval(recall_runs),
        "precision": interval(precision_runs),
        "per_class": {
            dataset.categories[cid]: {
                "box_ap50": float(np.mean([b for b, _ in values])),
                "mask_ap50": float(np.mean([m for _, m in values])),
            }
            for cid, values in per_class.items()
            if values
        },
        "skipped_classes": skipped,
        "pr_curve": _pr_curve(outcomes_all),
        "examples": examples,
    }


def _mean(values) -> float:
    values = list(values)
    return float(np.mean(values)) if values else 0.0


def _pr_curve(outcomes: list[QueryOutcome]) -> dict:
    """Mean recall and precision over all queries of all runs at score thresholds spanning the returned scores."""
    scores = np.concatenate([o.scores for o in outcomes]) if outcomes else np.zeros(0)
    if scores.size == 0:
        return {"score_thresholds": [], "recall": [], "precision": []}
    thresholds = np.unique(np.quantile(scores, np.linspace(0.0, 1.0, PR_CURVE_POINTS)))
    points = [precision_recall_at(outcomes, t) for t in thresholds]
    return {
        "score_thresholds": [float(t) for t in thresholds],
        "recall": [r for r, _ in points],
        "precision": [p for _, p in points],
    }


def _example(query, dataset, cid, draw, ref_box, predictions, mask_results) -> dict:
    """A JSON-safe record of one query for the qualitative figure (masks as the RLEs already encoded)."""
    own_masks = mask_results[len(mask_results) - len(predictions) :]
    return {
        "image_id": query.image_id,
        "category": dataset.categories[cid],
        "reference_image_id": dataset.images[draw.image_index].image_id,
        "reference_box": [float(v) for v in ref_box],
        "gt_boxes": query.boxes(query.instances_of(cid)).tolist(),
        "num_predictions": len(predictions),
        "predictions": [
            {"box": [float(v) for v in p.box], "score": p.score, "mask": m["segmentation"]}
            for p, m in zip(predictions[:EXAMPLE_MAX_PREDICTIONS], own_masks, strict=False)
        ],
    }


class _ImageCache:
    """Decoded images by dataset index, least recently used dropped (queries reuse references often)."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.cache: OrderedDict[int, np.ndarray] = OrderedDict()

    def __call__(self, index: int) -> np.ndarray:
        if index in self.cache:
            self.cache.move_to_end(index)
            return self.cache[index]
        image = self.dataset.images[index].load_image()
        self.cache[index] = image
        if len(self.cache) > _IMAGE_CACHE_SIZE:
            self.cache.popitem(last=False)
        return image


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc="evaluate", unit="query", disable=not enabled)
