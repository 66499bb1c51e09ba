"""The evaluation figure: a few qualitative examples (reference crop, predictions over the query) and the
precision/recall curve of the one-reference figure. Matplotlib with the Agg backend (no display needed)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from model.data.annotations import Dataset, decode_rle_mask

__all__ = ["write_report_figures"]

MAX_DRAWN_PREDICTIONS = 10
PR_PLOT_MAX_ROWS = 2
MASK_ALPHA = 0.45
FIGURE_DPI = 110
_PANEL_INCHES = 3.2
_PREDICTION_COLOUR = np.array([1.0, 0.25, 0.1])


def write_report_figures(
    report: dict,
    dataset: Dataset,
    out_png: str | Path,
    *,
    label: str = "model",
    compare: Mapping[str, dict] | None = None,
) -> Path:
    """Draw `report["examples"]` and `report["pr_curve"]` into one PNG.

    Args:
        report: the dict returned by `evaluate` (on `dataset`).
        dataset: the dataset evaluated (its images are re-read for the examples).
        out_png: file to write (parent folders are created).
        label: legend name of this report's curve.
        compare: other reports (e.g. {"baseline": ..., "untrained": ...}) whose curves join the plot.

    Returns:
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    examples = report.get("examples", [])
    rows = max(1, len(examples))
    figure = plt.figure(figsize=(3 * _PANEL_INCHES, rows * _PANEL_INCHES))
    grid = figure.add_gridspec(rows, 3, width_ratios=[1, 1.6, 1.6])
    by_id = {image.image_id: image for image in dataset.images}
    for row, example in enumerate(examples):
        _draw_example(figure.add_subplot(grid[row, 0]), figure.add_subplot(grid[row, 1]), example, by_id)
    pr_rows = min(rows, PR_PLOT_MAX_ROWS)  # keep the plot about square however many examples there are
    _draw_pr(figure.add_subplot(grid[:pr_rows, 2]), {label: report, **dict(compare or {})})
    figure.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out_png, dpi=FIGURE_DPI)
    plt.close(figure)
    return out_png


def _draw_example(ref_axes, query_axes, example: dict, by_id: dict) -> None:
    from matplotlib.patches import Rectangle

    reference = by_id[example["reference_image_id"]].load_image()
    x1, y1, x2, y2 = (int(round(v)) for v in example["reference_box"])
    ref_axes.imshow(reference[max(y1, 0) : max(y2, y1 + 1), max(x1, 0) : max(x2, x1 + 1)])
    ref_axes.set_title(f"reference: {example['category']}", fontsize=9)
    ref_axes.axis("off")

    query = by_id[example["image_id"]].load_image().astype(np.float32) / 255.0
    predictions = example["predictions"][:MAX_DRAWN_PREDICTIONS]
    for prediction in predictions:
        rle = dict(prediction["mask"], counts=prediction["mask"]["counts"].encode("ascii"))
        mask = decode_rle_mask(rle)
        query[mask] = (1 - MASK_ALPHA) * query[mask] + MASK_ALPHA * _PREDICTION_COLOUR
    query_axes.imshow(query)
    for gx1, gy1, gx2, gy2 in example["gt_boxes"]:
        query_axes.add_patch(
            Rectangle(
                (gx1, gy1), gx2 - gx1, gy2 - gy1, fill=False, edgecolor="lime", linestyle="--", linewidth=1
            )
        )
    for prediction in predictions:
        px1, py1, px2, py2 = prediction["box"]
        query_axes.add_patch(
            Rectangle((px1, py1), px2 - px1, py2 - py1, fill=False, edgecolor="red", linewidth=1)
        )
        query_axes.text(
            px1, py1, f"{prediction['score']:.2f}", color="white", fontsize=6, backgroundcolor="red"
        )
    query_axes.set_title(
        f"query {example['image_id']}: {example['num_predictions']} found, {len(example['gt_boxes'])} true "
        "(green dashed)",
        fontsize=8,
    )
    query_axes.axis("off")


def _draw_pr(axes, reports: Mapping[str, dict]) -> None:
    for name, report in reports.items():
        curve = report.get("pr_curve", {})
        points = [
            (r, p)
            for r, p in zip(curve.get("recall", []), curve.get("precision", []), strict=True)
            if p is not None
        ]
        if not points:
            continue
        recall, precision = zip(*points, strict=True)
        box = report.get("box_ap50", {}).get("mean")
        legend = f"{name} (box AP50 {100 * box:.1f})" if box is not None else name
        axes.plot(recall, precision, marker="o", markersize=3, label=legend)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("recall: same-class instances found (IoU >= 0.5)")
    axes.set_ylabel("precision: returned instances that are right")
    axes.set_title("one reference box, score threshold swept", fontsize=9)
    axes.grid(alpha=0.3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=8, loc="upper right")
