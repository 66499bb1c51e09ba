"""Evaluate a checkpoint against the untrained model and a trivial baseline; write the numbers into its card.

    python scripts/evaluate_shipped_checkpoint.py --checkpoint runs/mobile-coco128/model.weights.h5 \
        --data ../shared/data/coco128-seg --format yolo-seg --split 1 --runs 3 --out runs/mobile-coco128/eval

For held-out classes and for train classes it runs the paper's one-shot protocol (model.evaluation.protocol) on:
the checkpoint, the same preset untrained (ImageNet backbone, random heads), and the colour-histogram baseline.
The card's `metrics` gets one entry per class set with the three reports' AP50 (boxes, masks), recall and
precision (mean and 95% interval over the runs), and a PNG with examples and precision/recall curves is written.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SUMMARY_KEYS = ("box_ap50", "mask_ap50", "recall", "precision")


def _rounded(value: float | None) -> float | None:
    """None stays None: a run where nothing was returned has no precision (e.g. a small --max-images)."""
    return None if value is None else round(value, 4)


def summary(report: dict) -> dict:
    """The card's figures of one report: mean and 95% interval per metric (None = not measurable), and its size."""
    return {k: {"mean": _rounded(report[k]["mean"]), "ci95": _rounded(report[k]["ci95"])} for k in SUMMARY_KEYS} | {
        "queries": report["num_queries"], "images": report["num_images"], "runs": report["runs"]}


def summary_line(figures: dict) -> str:
    """One printable line of a `summary()`: "box_ap50 0.0123 ± 0.0010, ..., precision n/a, 12 queries, ..."."""
    def metric(k: str) -> str:
        mean, ci95 = figures[k]["mean"], figures[k]["ci95"]
        return f"{k} n/a" if mean is None else f"{k} {mean:.4f} ± {ci95:.4f}"

    sizes = f"{figures['queries']} queries, {figures['images']} images, {figures['runs']} runs"
    return ", ".join([*(metric(k) for k in SUMMARY_KEYS), sizes])


def _earlier_report(path: Path, classes, runs: int) -> dict | None:
    """The report at `path` when it exists and covers the same classes; refused when its run count differs."""
    if not path.is_file():
        return None
    report = json.loads(path.read_text())
    if report["classes"] != list(classes):
        return None
    if report["runs"] != runs:
        raise SystemExit(f"{path} has {report['runs']} runs, not {runs}")
    return report


def main() -> int:
    import keras

    from model.builder import build_model
    from model.checkpoint import read_card, write_card
    from model.data.loading import load_dataset
    from model.data.splits import paper_split
    from model.evaluation.baseline import ColourHistogramBaseline
    from model.evaluation.figures import write_report_figures
    from model.evaluation.predictor_adapter import predictor_predict_fn
    from model.evaluation.protocol import evaluate
    from model.predictor import Predictor

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--format", default="yolo-seg")
    parser.add_argument("--split", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-images", type=int)
    parser.add_argument("--out", required=True)
    parser.add_argument("--reuse", type=Path, metavar="DIR",
                        help="take reports of the --reuse-candidates from an earlier --out DIR with the same data, "
                             "split and runs")
    parser.add_argument("--reuse-candidates", default="baseline",
                        help="comma-separated, of model,untrained,baseline (default: baseline, which does not depend "
                             "on the checkpoint; 'untrained' may be reused for a checkpoint of the same config)")
    parser.add_argument("--candidates", default="model,untrained,baseline",
                        help="evaluate only these (e.g. 'untrained,baseline' while the model still trains); the card "
                             "and figures are written when all three reports exist")
    args = parser.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dataset = load_dataset(args.data, args.format)
    split = paper_split(args.split)
    trained = Predictor.from_checkpoint(args.checkpoint)
    threshold = trained.config.detection_min_confidence
    keras.utils.set_random_seed(0)
    # The same network as the checkpoint (its card's config, e.g. its matching variant), ImageNet backbone, random heads.
    untrained = Predictor(build_model(trained.config.replace(backbone_weights="imagenet")), version="untrained")
    candidates = {
        "model": predictor_predict_fn(trained, score_threshold=threshold),
        "untrained": predictor_predict_fn(untrained, score_threshold=threshold),
        "baseline": ColourHistogramBaseline(),
    }
    metrics: dict = {
        "protocol": (
            f"paper one-shot protocol on {dataset.name or args.data} ({len(dataset)} images), {args.runs} runs, "
            f"references drawn per image and class (same image allowed), score threshold {threshold}; "
            f"'model' = this checkpoint, 'untrained' = preset {trained.card.preset} with ImageNet backbone and "
            "random heads, 'baseline' = reference-sized windows ranked by colour-histogram similarity"
        ),
    }
    # The paper lets the reference come from the query image itself; on coco128 many classes occur in one image
    # only, so that rule rewards finding the reference again. "other-images" is the cross-image figure.
    settings = {"paper-references": True, "other-image-references": False}
    # "train": the classes the checkpoint was trained on (its card), "validation": the split's other classes it never
    # saw either (e.g. classes kept out of training to choose the step), when there are any.
    held_out = split.select(dataset.categories, "held-out")
    trained_on = tuple(c for c in trained.card.training.get("train_classes") or () if c in dataset.categories)
    trained_on = trained_on or split.select(dataset.categories, "train")
    selections = {"held-out": held_out, "train": trained_on,
                  "validation": tuple(c for c in dataset.categories if c not in held_out and c not in trained_on)}
    reuse = set(args.reuse_candidates.split(","))
    wanted = set(args.candidates.split(","))
    complete = True  # every candidate has a report in every setting: only then are the card and figures written
    for selection, classes in selections.items():
        if not classes:
            continue
        for setting, same_image in settings.items():
            reports = {}
            for name, fn in candidates.items():
                file_name = f"{selection}-{setting}-{name}.json"
                earlier = (_earlier_report(args.reuse / file_name, classes, args.runs)
                           if args.reuse and name in reuse else None)
                if earlier is not None:
                    (out / file_name).write_text(json.dumps(earlier, indent=2))
                    reports[name] = earlier
                    continue
                if name not in wanted:
                    continue
                started = time.monotonic()
                report = evaluate(fn, dataset, classes, runs=args.runs, seed=0, max_images=args.max_images,
                                  allow_same_image_reference=same_image)
                report["seconds"] = round(time.monotonic() - started, 1)
                (out / file_name).write_text(json.dumps(report, indent=2))
                reports[name] = report
                print(selection, setting, name, summary_line(summary(report)), flush=True)
            metrics.setdefault(selection, {})[setting] = {name: summary(r) for name, r in reports.items()}
            if set(reports) != set(candidates):
                complete = False
                continue
            write_report_figures(
                reports["model"], dataset, out / f"{selection}-{setting}.png", label=trained.version,
                compare={"untrained": reports["untrained"], "baseline": reports["baseline"]},
            )
    if not complete:
        print("not every candidate was evaluated: the card is left unchanged", file=sys.stderr)
        return 0
    card = read_card(args.checkpoint)
    card.metrics = {**card.metrics, f"coco128_split{args.split}": metrics}
    write_card(args.checkpoint, card)
    print(json.dumps(metrics, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
