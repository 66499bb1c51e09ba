"""Learning curve in the annotator's effort (issue 18): k accepted images -> the fine-tuning recipe -> what is left
to do on images never accepted.

For each k (default 0, 1, 2, 5, 10): accept the ground truth of the first k images of a fixed shuffled order,
fine-tune the parent with the recipe's defaults (`model.training.finetune`, the worker's function: held-out slice
from k = 2, calibrated threshold), load the child as the worker loads it, and measure on the judged images (the same
for every k, never accepted) in both modes, as the worker answers:
- one reference drawn per (image, label) with >= 2 instances (`ServiceAnswerer`): effort and errors per instance;
- the bank alone, no box drawn, the k images' instances as exemplars (`BankAnswerer`): errors per instance.
k = 0 is the parent (one reference drawn; no bank). The figures are the child's; when the gate refuses it, the worker
keeps the parent active, and the point also holds what the annotator is then served (`served`: the parent, with the
k images' bank), which the plot draws.

Sets: `coco128` (the `--classes`, default person and chair: held out of the shipped checkpoint's training) and
`synthetic` split one shuffled order (accepted images first, judged ones after the largest k); `droplets`
(`../shared/data/droplets`, evaluation only) splits by clip, as its frames of one clip are near-copies: accepted
frames only from clips 1-4, judged frames only from clips 5-8 (`clip_split`). `sessions` (`bench.sessions_set`,
generated, allowed for choosing) is a project of two procedural kinds shot in 8 acquisition sessions; it splits the
same way by session: accepted from sessions 1-4, judged from sessions 5-8. `sessions-packed` is the same project with
half the objects touching another (session 24); `sessions-cut` the same with objects the frame cuts left unlabelled,
as counting jobs do (session 26).

    python -m bench.effort_curve --datasets droplets,coco128,synthetic --out runs/effort_curve
    python -m bench.effort_curve --datasets coco128 --classes person,chair --out runs/effort_curve
    python -m bench.effort_curve --datasets synthetic --ks 0,1,2 --judged 10
    python -m bench.effort_curve --datasets sessions --ks 0,5

Writes `<out>/effort_curve.json`, `effort_curve.md` and `effort_curve.png` (errors per instance against k, when
matplotlib is installed), rewritten after each point. A set whose files are absent is skipped with the reason.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.learning_curve import SHIPPED_CHECKPOINT, load
from bench.sessions_set import CUT_NAME, PACKED_NAME
from stack.services import REPO_ROOT

__all__ = ["SetAbsent", "Split", "curve", "clip_split", "load_split", "markdown", "plot", "shuffled_split"]

DEFAULT_KS = "0,1,2,5,10"
DEFAULT_JUDGED = 30
DEFAULT_OUT = REPO_ROOT / "runs" / "effort_curve"
DROPLETS_DIR = REPO_ROOT.parent / "shared" / "data" / "droplets"
DROPLETS_ACCEPTED_CLIPS = (1, 2, 3, 4)
"""Clips whose frames may be accepted (the issue: accept clips 1-4, judge clips 5-8)."""
DROPLETS_JUDGED_CLIPS = (5, 6, 7, 8)

log = logging.getLogger("effort_curve")


class SetAbsent(Exception):
    """A set's files are not on this machine (the message says where they should be); the curve skips it."""


def _figures(summary) -> dict:
    keep = ("effort", "errors_per_instance", "recall", "precision", "instances", "references", "deletions",
            "misses", "trials")
    row = summary.to_dict()
    return {k: row[k] for k in keep} | {"deletions_by_kind": row["deletions_by_kind"]}


def _errors_per_threshold(run, positions: int) -> list:
    """Errors per instance at positions 1.. of a run counted at (own threshold, *sweep), rounded as the figures."""
    values = [run.summary(i).errors_per_instance for i in range(1, positions)]
    return [None if v is None else round(v, 4) for v in values]


def measure(weights: Path, judged, bank_source, modes: tuple[str, ...] = ("interactive", "bank")) -> dict:
    """Both modes on `judged` with the checkpoint loaded and answering as the worker does (its threshold, or
    SCORE_THRESHOLD when the environment sets one).

    Each mode answers once at the lowest of the calibration sweep and its own threshold, and is counted at its
    threshold (the figures) and at every threshold of the sweep (`sweep`: errors per instance per threshold), so
    that another rule for choosing a version's threshold can be judged on the same answers. `modes` picks which of
    the two are answered (a study of drawn boxes alone skips the bank's answers; the accepted images still serve the
    drawn boxes' claims)."""
    from common.settings import Settings
    from model.evaluation.bank_answerer import BankAnswerer
    from model.evaluation.bank_effort import bank_from_dataset, plan_bank_trials, run_bank_effort
    from model.evaluation.calibration import SWEEP
    from model.evaluation.effort_runner import plan_trials, run_effort
    from model.evaluation.service_answerer import ServiceAnswerer
    from worker.runtime import load_predictor

    settings = Settings.from_env().replace(checkpoint=str(weights), model_preset=None)
    predictor = load_predictor(settings)
    config = predictor.config
    threshold = float(config.drawn_box_threshold if settings.score_threshold is None else settings.score_threshold)
    bank_threshold = float(config.detection_min_confidence if settings.score_threshold is None
                           else settings.score_threshold)
    counted = (threshold, *SWEEP)
    out: dict = {"threshold": threshold, "sweep": {"thresholds": list(SWEEP)}}
    if bank_threshold != threshold:  # a verifier re-scores drawn boxes' answers; the bank keeps the network's scores
        out["bank_threshold"] = bank_threshold
    labels = [c for c in judged.categories if judged.images_with(judged.category_id(c))]
    trials = plan_trials(judged, labels, 1)
    claims = None  # the accepted images' exemplars serve the drawn boxes' answers when the model uses them
    if bank_source is not None and predictor.config.uses_project_exemplars:
        claims = bank_from_dataset(bank_source, [c for c in bank_source.categories if c in labels])
    if "interactive" in modes:
        run = run_effort(judged, trials, ServiceAnswerer.from_settings(predictor, settings, min(counted),
                                                                       claims=claims), thresholds=counted)
        out["interactive"] = _figures(run.summary(0))
        out["sweep"]["interactive"] = _errors_per_threshold(run, len(counted))
    if bank_source is not None and "bank" in modes:
        bank = bank_from_dataset(bank_source, [c for c in bank_source.categories if c in labels])
        if bank:
            bank_counted = (bank_threshold, *SWEEP)
            run = run_bank_effort(judged, plan_bank_trials(judged, list(bank)),
                                  BankAnswerer.from_settings(predictor, bank, settings, min(bank_counted)),
                                  thresholds=bank_counted)
            out["bank"] = _figures(run.summary(0))
            out["sweep"]["bank"] = _errors_per_threshold(run, len(bank_counted))
    return out


@dataclass(frozen=True)
class Split:
    """Which images a curve may accept and which it judges.

    Attributes:
        candidates: the images that may be accepted, in acceptance order (k accepted = the first k).
        judged: the images measured at every k; none of them is ever among `candidates`.
    """

    candidates: tuple
    judged: object

    def accepted(self, k: int):
        """The first k candidates as a `Dataset` (None for k = 0)."""
        from model.data.annotations import Dataset

        if k > len(self.candidates):
            raise SystemExit(f"{self.judged.name}: k = {k} but only {len(self.candidates)} images may be accepted")
        return Dataset(self.judged.categories, self.candidates[:k], self.judged.name) if k else None


def shuffled_split(dataset, max_k: int, judged_count: int, seed: int) -> Split:
    """One fixed shuffled order: the first `max_k` images may be accepted, the next `judged_count` are judged."""
    from model.data.annotations import Dataset

    order = np.random.default_rng(seed).permutation(len(dataset.images))
    shuffled = [dataset.images[i] for i in order]
    if len(shuffled) <= max_k:
        raise SystemExit(f"{dataset.name} has {len(shuffled)} images; k up to {max_k} leaves none to judge")
    judged = Dataset(dataset.categories, tuple(shuffled[max_k:][:judged_count]), dataset.name)
    return Split(tuple(shuffled[:max_k]), judged)


def clip_split(dataset, clip_of: dict[str, int], judged_count: int, seed: int,
                   accepted_clips=DROPLETS_ACCEPTED_CLIPS, judged_clips=DROPLETS_JUDGED_CLIPS) -> Split:
    """Split by clip: candidates are frames of `accepted_clips` only, judged ones frames of `judged_clips` only.

    Frames of one clip are near-copies, so a frame-level split would measure memory. Both sides are shuffled once
    (`seed`); the judged frames are the first `judged_count` of theirs, the same for every k.

    Args:
        dataset: the droplets `Dataset`.
        clip_of: image id -> clip (the COCO image's `video` field); every image must have one.
        judged_count: judged frames (at most the judged clips' frames).
        seed: the shuffle's seed.
    """
    from model.data.annotations import Dataset

    if set(accepted_clips) & set(judged_clips):
        raise ValueError(f"clips {sorted(set(accepted_clips) & set(judged_clips))} are both accepted and judged")
    missing = [image.image_id for image in dataset.images if image.image_id not in clip_of]
    if missing:
        raise ValueError(f"images {missing[:5]} carry no clip (`video` field)")
    rng = np.random.default_rng(seed)

    def shuffled(clips):
        images = [image for image in dataset.images if clip_of[image.image_id] in clips]
        return tuple(images[i] for i in rng.permutation(len(images)))

    candidates, judged = shuffled(accepted_clips), shuffled(judged_clips)
    return Split(candidates, Dataset(dataset.categories, judged[:judged_count], dataset.name))


def load_droplets(directory: Path = DROPLETS_DIR):
    """The droplets set (COCO, `images/` beside it) and each image's clip; `SetAbsent` when it is not there."""
    from model.data.annotations import Dataset
    from model.data.loading import load_dataset

    annotations = directory / "annotations.json"
    if not annotations.exists():
        raise SetAbsent(f"{annotations} is absent: droplets lives in ../shared/data (--droplets-dir DIR points "
                        "elsewhere)")
    dataset = load_dataset(annotations, "coco", images_dir=directory / "images")
    clip_of = {image.image_id: int(image.group) for image in dataset.images if image.group is not None}  # `video`
    return Dataset(dataset.categories, dataset.images, "droplets"), clip_of


def load_split(name: str, args: argparse.Namespace, max_k: int) -> Split:
    """The named set's `Split`: droplets by clip and sessions by session, coco128 and synthetic by one shuffled order."""
    if name == "droplets":
        dataset, clip_of = load_droplets(args.droplets_dir)
        return clip_split(dataset, clip_of, args.judged, args.seed)
    if name in ("sessions", PACKED_NAME, CUT_NAME):  # drawn once (seed 0); the curve's seed shuffles which frames
        from bench.sessions_set import sessions_dataset

        dataset = sessions_dataset(packed=name == PACKED_NAME, cut=name == CUT_NAME)
        return clip_split(dataset, {image.image_id: int(image.group) for image in dataset.images}, args.judged,
                          args.seed)
    return shuffled_split(load(name, args), max_k, args.judged, args.seed)


def curve(split: Split, parent: Path, ks: list[int], seed: int, workdir: Path, on_point,
          recipe: dict | None = None) -> list[dict]:
    """One point per k (module docstring); `on_point(points)` after each.

    `recipe`: `FineTuneSettings` fields to change from the recipe's defaults (e.g. `{"time_budget_s": 600}`, to ask
    whether the Train button's budget is what limits learning); None = the defaults the worker uses.
    """
    from model.training.finetune import FineTuneSettings, finetune

    judged = split.judged
    points = []
    for k in ks:
        started = time.monotonic()
        accepted = split.accepted(k)
        point: dict = {"k": k, "judged_images": len(judged.images)}
        weights = parent
        if k:
            result = finetune(parent, accepted, workdir / f"k{k}.weights.h5", f"effort-curve-k{k}",
                              FineTuneSettings(seed=seed, **(recipe or {})))
            weights = result.weights_path
            point |= {"steps": result.steps, "finetune_seconds": round(result.seconds, 1),
                      "holdout_images": result.holdout_images, "holdout": result.metrics,
                      "holdout_split": result.card.training.get("holdout_split"),
                      "gate": result.effort_gate()[0], "calibration": result.card.metrics["calibration"]}
        point |= measure(weights, judged, accepted)
        if k and not point["gate"]:
            # The worker keeps the parent active: the annotator is served by it (with the k images' bank).
            point["served"] = {"version": "parent"} | measure(parent, judged, accepted)
        point["seconds"] = round(time.monotonic() - started, 1)
        point["load_average"] = os.getloadavg()
        log.info("%s k=%d: %s", judged.name, k, json.dumps({m: point.get(m, {}).get("errors_per_instance")
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


def _held_out(point: dict) -> str:
    """Held-out images, how many of the groups of near-copies they make up, and whether they share one with
    training (reports written before `holdout_groups` existed show the images and the groups only)."""
    split = point.get("holdout_split")
    if not split:
        return "–"
    images = f"{split['holdout_images']} image{'s' if split['holdout_images'] != 1 else ''}"
    groups = f"{split['groups']} group{'s' if split['groups'] != 1 else ''}"
    if not split["disjoint"]:
        return f"{images}, not disjoint ({groups})"
    if "holdout_groups" not in split:
        return f"{images}; {groups}"
    return f"{images} = {split['holdout_groups']} of {split['groups']} groups"


def _gate(point: dict) -> str:
    """The gate's decision; when it refuses, what the parent then serves (errors per instance, box / bank)."""
    if "gate" not in point:
        return "–"
    if point["gate"]:
        return "pass"
    served = point.get("served")
    if served is None:  # a report written before the served figures were measured
        return "refused"
    return (f"refused: the parent serves {_cell(served['interactive'], 'errors_per_instance')} / "
            f"{_cell(served.get('bank') or {}, 'errors_per_instance')}")


def markdown(report: dict) -> str:
    """The report as Markdown: a table per set, one row per k; skipped sets with their reason."""
    parent = f"`{report['checkpoint']}`" + (f" ({report['parent_version']})" if report.get("parent_version") else "")
    lines = [f"# Learning curve in effort ({report['measured']}, parent {parent})", ""]
    if report.get("recipe_overrides"):
        lines += [f"Recipe changed from the Train button's defaults: `{json.dumps(report['recipe_overrides'])}`", ""]
    for name, reason in report.get("skipped", {}).items():
        lines += [f"## {name}", "", f"Skipped: {reason}", ""]
    for name, points in report["datasets"].items():
        lines += [f"## {name}", "", "| k | threshold | one box drawn: effort | errors / instance | recall | precision "
                  "| bank: errors / instance | recall | precision | steps | fine-tune s | held out (groups) | gate |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
        for p in points:
            i, b = p["interactive"], p.get("bank") or {}
            f = _cell
            lines.append(f"| {p['k']} | {p['threshold']:g} | {f(i, 'effort')} | {f(i, 'errors_per_instance')} | "
                         f"{f(i, 'recall')} | {f(i, 'precision')} | {f(b, 'errors_per_instance')} | {f(b, 'recall')} | "
                         f"{f(b, 'precision')} | {p.get('steps', '–')} | {p.get('finetune_seconds', '–')} | "
                         f"{_held_out(p)} | {_gate(p)} |")
        lines.append("")
    return "\n".join(lines)


def plot(report: dict, path: Path) -> bool:
    """Errors per instance as served (the child, or the parent when the gate refused the child) against k, a line
    per (set, mode), into `path` (PNG); False when matplotlib is absent."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed: no plot")
        return False
    figure, axes = plt.subplots(figsize=(8.5, 4.2))
    for index, (name, points) in enumerate(report["datasets"].items()):
        colour = f"C{index}"
        for mode, style, label in (("interactive", "-o", "one box drawn"), ("bank", "--s", "bank, no box drawn")):
            xy = [(p["k"], p.get("served", p)[mode]["errors_per_instance"]) for p in points
                  if mode in p.get("served", p)]
            if xy:
                axes.plot(*zip(*xy, strict=True), style, color=colour, label=f"{name}: {label}")
    for target, style, label in ((0.15, ":", "target at k = 5, box drawn"), (0.3, "-.", "target at k = 5, bank")):
        axes.axhline(target, color="grey", linewidth=0.9, linestyle=style, label=label)
    ks = sorted({p["k"] for points in report["datasets"].values() for p in points})
    axes.set_xticks(ks)
    axes.set_xlabel("accepted images k")
    axes.set_ylabel("errors per instance (lower is better)")
    axes.set_ylim(bottom=0)
    parent = report.get("parent_version") or Path(report["checkpoint"]).name
    axes.set_title(f"Learning curve in effort: the recipe from parent {parent}", fontsize=9)
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def _version(checkpoint: Path) -> str | None:
    """The checkpoint's version from its card, None when unreadable."""
    from model.checkpoint import CheckpointError, read_card

    try:
        return read_card(checkpoint).version
    except CheckpointError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.effort_curve", description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="coco128,synthetic",
                        help=f"droplets, coco128, synthetic, sessions, {PACKED_NAME}, {CUT_NAME}")
    parser.add_argument("--classes", default="person,chair", help="coco128 labels of the project")
    parser.add_argument("--checkpoint", type=Path, default=SHIPPED_CHECKPOINT)
    parser.add_argument("--ks", default=DEFAULT_KS)
    parser.add_argument("--judged", type=int, default=DEFAULT_JUDGED, help="judged images (never accepted)")
    parser.add_argument("--synthetic-images", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--droplets-dir", type=Path, default=DROPLETS_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--time-budget-s", type=float, help="the recipe's training budget (default: the Train "
                        "button's); with --max-steps, to ask whether the budget limits learning")
    parser.add_argument("--max-steps", type=int, help="the recipe's step cap (default: the Train button's)")
    parser.add_argument("--layers", choices=("heads", "all"), help="the recipe's trained layers (default: heads)")
    parser.add_argument("--parent-share", type=float, help="the recipe's parent_share (default: the Train "
                        "button's)")
    parser.add_argument("--average-tail", type=float, help="the recipe's average_tail (default: the Train "
                        "button's)")
    parser.add_argument("--runs", type=int, help="the recipe's runs (default: the Train button's)")
    parser.add_argument("--replot", type=Path, metavar="JSON", help="only redraw <out>/effort_curve.png from a report")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.replot:
        args.out.mkdir(parents=True, exist_ok=True)
        return 0 if plot(json.loads(args.replot.read_text()), args.out / "effort_curve.png") else 1
    ks = sorted({int(k) for k in args.ks.split(",")})
    args.out.mkdir(parents=True, exist_ok=True)
    recipe = {key: value for key, value in (("time_budget_s", args.time_budget_s), ("max_steps", args.max_steps),
                                            ("layers", args.layers), ("parent_share", args.parent_share),
                                            ("average_tail", args.average_tail), ("runs", args.runs))
              if value is not None}
    report = {"checkpoint": str(args.checkpoint), "parent_version": _version(args.checkpoint), "ks": ks,
              "recipe_overrides": recipe, "datasets": {}, "skipped": {},
              "load_average": os.getloadavg(), "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}

    def save(with_plot: bool) -> None:
        (args.out / "effort_curve.json").write_text(json.dumps(report, indent=1))
        (args.out / "effort_curve.md").write_text(markdown(report))
        if with_plot:
            plot(report, args.out / "effort_curve.png")

    def write(name):
        def on_point(points):
            report["datasets"][name] = points
            save(with_plot=True)
        return on_point

    with tempfile.TemporaryDirectory(prefix="effort-curve-") as scratch:
        for name in args.datasets.split(","):
            try:
                split = load_split(name, args, max(ks))
            except SetAbsent as absent:
                log.warning("skipping %s: %s", name, absent)
                report["skipped"][name] = str(absent)
                continue
            log.info("%s: %d images may be accepted, %d judged", name, len(split.candidates), len(split.judged.images))
            curve(split, args.checkpoint, ks, args.seed, Path(scratch), write(name), recipe)
    save(with_plot=False)  # also when every set was skipped; the plot is current after the last point
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
