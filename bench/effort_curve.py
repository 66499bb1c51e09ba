"""Learning curve in the annotator's effort (issue 18): k accepted images -> the fine-tuning recipe -> what is left
to do on images never accepted.

For each k (default 0, 1, 2, 5, 10): accept the ground truth of the first k images of a fixed shuffled order,
fine-tune the parent with the recipe's defaults (`model.training.finetune`, the worker's function: held-out slice
from k = 2, calibrated threshold), load the child as the worker loads it, and measure on the judged images (the same
for every k, never accepted) in both modes, as the worker answers:
- one reference drawn per (image, label) with >= 2 instances (`ServiceAnswerer`): effort and errors per instance;
- the bank alone, no box drawn, the k images' instances as exemplars (`BankAnswerer`): errors per instance.
k = 0 is the parent (one reference drawn; no bank).

    python -m bench.effort_curve --datasets coco128 --classes person,chair --out runs/effort_curve
    python -m bench.effort_curve --datasets synthetic --ks 0,1,2 --judged 10

Writes `<out>/effort_curve.json` and `effort_curve.md`, rewritten after each point.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.learning_curve import SHIPPED_CHECKPOINT, load
from stack.services import REPO_ROOT

__all__ = ["curve", "markdown"]

DEFAULT_KS = "0,1,2,5,10"
DEFAULT_JUDGED = 30
DEFAULT_OUT = REPO_ROOT / "runs" / "effort_curve"

log = logging.getLogger("effort_curve")


def _figures(summary) -> dict:
    keep = ("effort", "errors_per_instance", "recall", "precision", "instances", "references", "deletions",
            "misses", "trials")
    row = summary.to_dict()
    return {k: row[k] for k in keep} | {"deletions_by_kind": row["deletions_by_kind"]}


def measure(weights: Path, judged, bank_source) -> dict:
    """Both modes on `judged` with the checkpoint loaded and answering as the worker does (its threshold)."""
    from common.settings import Settings
    from model.evaluation.bank_answerer import BankAnswerer
    from model.evaluation.bank_effort import bank_from_dataset, plan_bank_trials, run_bank_effort
    from model.evaluation.effort_runner import plan_trials, run_effort
    from model.evaluation.service_answerer import ServiceAnswerer
    from worker.runtime import load_predictor

    settings = Settings.from_env().replace(checkpoint=str(weights), model_preset=None)
    predictor = load_predictor(settings)
    out = {"threshold": float(predictor.config.detection_min_confidence)}
    labels = [c for c in judged.categories if judged.images_with(judged.category_id(c))]
    trials = plan_trials(judged, labels, 1)
    run = run_effort(judged, trials, ServiceAnswerer.from_settings(predictor, settings))
    out["interactive"] = _figures(run.summary())
    if bank_source is not None:
        bank = bank_from_dataset(bank_source, [c for c in bank_source.categories if c in labels])
        if bank:
            run = run_bank_effort(judged, plan_bank_trials(judged, list(bank)),
                                  BankAnswerer.from_settings(predictor, bank, settings))
            out["bank"] = _figures(run.summary())
    return out


def curve(dataset, parent: Path, ks: list[int], judged_count: int, seed: int, workdir: Path, on_point) -> list[dict]:
    """One point per k (module docstring); `on_point(points)` after each."""
    from model.data.annotations import Dataset
    from model.training.finetune import FineTuneSettings, finetune

    order = np.random.default_rng(seed).permutation(len(dataset.images))
    shuffled = [dataset.images[i] for i in order]
    if len(shuffled) <= max(ks):
        raise SystemExit(f"{dataset.name} has {len(shuffled)} images; k up to {max(ks)} leaves none to judge")
    judged = Dataset(dataset.categories, tuple(shuffled[max(ks):][:judged_count]), dataset.name)
    points = []
    for k in ks:
        started = time.monotonic()
        accepted = Dataset(dataset.categories, tuple(shuffled[:k]), dataset.name) if k else None
        point: dict = {"k": k, "judged_images": len(judged.images)}
        weights = parent
        if k:
            result = finetune(parent, accepted, workdir / f"k{k}.weights.h5", f"effort-curve-k{k}",
                              FineTuneSettings(seed=seed))
            weights = result.weights_path
            point |= {"steps": result.steps, "finetune_seconds": round(result.seconds, 1),
                      "holdout_images": result.holdout_images, "holdout": result.metrics,
                      "gate": result.effort_gate()[0], "calibration": result.card.metrics["calibration"]}
        point |= measure(weights, judged, accepted)
        point["seconds"] = round(time.monotonic() - started, 1)
        log.info("%s k=%d: %s", dataset.name, k, json.dumps({m: point.get(m, {}).get("errors_per_instance")
                                                             for m in ("interactive", "bank")}))
        points.append(point)
        on_point(points)
    return points


def _cell(row: dict, key: str) -> str:
    """A figure of `row` for the table: effort and errors to 2 digits, ratios in percent, "–" when absent."""
    value = row.get(key)
    if value is None:
        return "–"
    return f"{value:.2f}" if key in ("effort", "errors_per_instance") else f"{100 * value:.0f}%"


def markdown(report: dict) -> str:
    lines = [f"# Learning curve in effort ({report['measured']}, parent `{report['checkpoint']}`)", ""]
    for name, points in report["datasets"].items():
        lines += [f"## {name}", "", "| k | threshold | one box drawn: effort | errors / instance | recall | precision "
                  "| bank: errors / instance | recall | precision | steps | fine-tune s | gate |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for p in points:
            i, b = p["interactive"], p.get("bank") or {}
            f = _cell
            lines.append(f"| {p['k']} | {p['threshold']:g} | {f(i, 'effort')} | {f(i, 'errors_per_instance')} | "
                         f"{f(i, 'recall')} | {f(i, 'precision')} | {f(b, 'errors_per_instance')} | {f(b, 'recall')} | "
                         f"{f(b, 'precision')} | {p.get('steps', '–')} | {p.get('finetune_seconds', '–')} | "
                         f"{'–' if 'gate' not in p else 'pass' if p['gate'] else 'refused'} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.effort_curve", description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="coco128,synthetic")
    parser.add_argument("--classes", default="person,chair", help="coco128 labels of the project")
    parser.add_argument("--checkpoint", type=Path, default=SHIPPED_CHECKPOINT)
    parser.add_argument("--ks", default=DEFAULT_KS)
    parser.add_argument("--judged", type=int, default=DEFAULT_JUDGED, help="judged images (never accepted)")
    parser.add_argument("--synthetic-images", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    ks = sorted({int(k) for k in args.ks.split(",")})
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"checkpoint": str(args.checkpoint), "ks": ks, "datasets": {}, "load_average": os.getloadavg(),
              "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}

    def write(name):
        def on_point(points):
            report["datasets"][name] = points
            (args.out / "effort_curve.json").write_text(json.dumps(report, indent=1))
            (args.out / "effort_curve.md").write_text(markdown(report))
        return on_point

    with tempfile.TemporaryDirectory(prefix="effort-curve-") as scratch:
        for name in args.datasets.split(","):
            dataset = load(name, args)
            curve(dataset, args.checkpoint, ks, args.judged, args.seed, Path(scratch), write(name))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
