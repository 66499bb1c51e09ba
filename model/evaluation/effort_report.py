"""What `python -m model effort` prints and writes: the figure table, the JSON report, one overlay per trial."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from model.evaluation.effort import SuggestionKind, Suggestions
from model.evaluation.effort_runner import EffortRun, QueryImage, TrialResult

__all__ = ["OverlayWriter", "format_table", "progress_line", "report_dict"]

_ROWS = (
    ("effort", "effort", "{:.3f}"),
    ("floor", "floor", "{:.3f}"),
    ("errors per instance", "errors_per_instance", "{:.3f}"),
    ("recall", "recall", "{:.1%}"),
    ("precision", "precision", "{:.1%}"),
    ("mean mask IoU (right)", "mean_mask_iou", "{:.3f}"),
    ("seconds per answer, median", "seconds_median", "{:.3f}"),
    ("seconds per answer, mean", "seconds_mean", "{:.3f}"),
    ("instances", "instances", "{}"),
    ("references", "references", "{}"),
    ("suggestions", "suggestions", "{}"),
    ("right", "right", "{}"),
    ("deletions", "deletions", "{}"),
    ("misses", "misses", "{}"),
)
_NOT_REPORTED = "n/a"


def _threshold_label(threshold: float | None) -> str:
    return "as answered" if threshold is None else f"threshold {threshold:g}"


def format_table(run: EffortRun, title: str) -> str:
    """One line per figure, one column per threshold (n/a: not reported, e.g. mask IoU without masks)."""
    summaries = [run.summary(i) for i in range(len(run.thresholds))]
    header = ["figure"] + [_threshold_label(t) for t in run.thresholds]
    lines = [[name] + [_cell(getattr(s, attribute), fmt) for s in summaries] for name, attribute, fmt in _ROWS]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    text = [title] + ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                      for row in [header, *lines]]
    by_kind = "; ".join(
        f"{_threshold_label(t)}: " + ", ".join(f"{k} {v}" for k, v in s.deletions_by_kind.items())
        for t, s in zip(run.thresholds, summaries, strict=True)
    )
    return "\n".join([*text, f"deletions by kind ({by_kind})"])


def _cell(value, fmt: str) -> str:
    return _NOT_REPORTED if value is None else fmt.format(value)


def report_dict(run: EffortRun, about: dict) -> dict:
    """The JSON report: `about` (command, data, answerer, settings), one row per threshold, every trial."""
    rows = [{"threshold": t, **run.summary(i).to_dict()} for i, t in enumerate(run.thresholds)]
    return {**about, "rows": rows, "trials": [r.to_dict(run.thresholds) for r in run.results]}


def progress_line(result: TrialResult, done: int, total: int) -> str:
    """A short line per trial for the log: which trial, what the annotator does at the first threshold."""
    trial, counts = result.trial, result.counts[0]
    return (f"[{done}/{total}] image {trial.image_id} {trial.category!r} seed {trial.seed}: {counts.instances} "
            f"instances, {counts.suggestions} suggestions, right {counts.right}, deletions {counts.deletions}, "
            f"misses {counts.misses} ({result.seconds:.2f} s)")


class OverlayWriter:
    """An `on_trial` callback writing `DIR/<image>_<class>_seed<k>.png` (`model.overlay.draw_effort_trial`) at the
    run's first threshold: reference blue, right green, wrong red, missed yellow."""

    def __init__(self, directory: str | Path, threshold: float | None):
        self.directory = Path(directory)
        self.threshold = threshold
        self.directory.mkdir(parents=True, exist_ok=True)

    def __call__(self, result: TrialResult, image: QueryImage, answer: Suggestions, gt_boxes: np.ndarray,
                 gt_masks: Sequence) -> None:
        from PIL import Image

        from model.overlay import draw_effort_trial

        shown = answer.at_least(self.threshold)
        counts = result.counts[0]
        objects = []
        for p, kind in enumerate(counts.kinds):
            name = kind.value if kind in (SuggestionKind.REFERENCE, SuggestionKind.RIGHT) else "wrong"
            objects.append((name, shown.boxes[p], None if shown.masks is None else shown.masks[p]))
        objects += [("missed", gt_boxes[i], gt_masks[i]) for i in counts.missed]
        trial = result.trial
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{trial.image_id}_{trial.category}_seed{trial.seed}")
        canvas = draw_effort_trial(image.pixels, gt_boxes[trial.reference_index], objects)
        Image.fromarray(canvas).save(self.directory / f"{stem}.png")

