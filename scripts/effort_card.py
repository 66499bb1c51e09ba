"""Put a checkpoint's effort table (issue 17) into its model card and print it as Markdown.

    python scripts/effort_card.py --checkpoint checkpoints/mobile-coco128.weights.h5 --spec SPEC.json

SPEC.json: `{"<set name>": {"title": "...", "rows": {"<row>": {"json": "<python -m model effort --json file>",
"threshold": 0.5 | "best", "label": "..."}}}}`. A row's figures are those of the named threshold in the effort JSON,
or of its lowest effort ("best": how the training-free baselines are shown). The row named "model" is the checkpoint
itself; `beats_baselines` says whether its effort is below both baselines' best.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

BASELINE_ROWS = ("template", "features")
FIGURES = ("effort", "floor", "errors_per_instance", "recall", "precision", "mean_mask_iou", "seconds_median")


def pick_row(report: dict, threshold) -> dict:
    """The figures of one threshold of an effort report ("best": the lowest effort)."""
    rows = report["rows"]
    if threshold == "best":
        return min(rows, key=lambda r: r["effort"])
    for row in rows:
        if row["threshold"] is not None and abs(row["threshold"] - float(threshold)) < 1e-9:
            return row
    raise ValueError(f"threshold {threshold} is not in {[r['threshold'] for r in rows]}")


def build_table(spec: dict) -> dict:
    table = {}
    for name, entry in spec.items():
        rows = {}
        for row_name, source in entry["rows"].items():
            report = json.loads(Path(source["json"]).read_text())
            row = pick_row(report, source.get("threshold", "best"))
            rows[row_name] = {"label": source.get("label", row_name), "threshold": row["threshold"],
                              **{k: row[k] for k in FIGURES}, "instances": row["instances"],
                              "trials": row["trials"], "source": source["json"]}
        best_baseline = min(rows[r]["effort"] for r in BASELINE_ROWS if r in rows)
        table[name] = {"title": entry.get("title", name), "rows": rows,
                       "beats_baselines": rows["model"]["effort"] < best_baseline}
    return table


def markdown(table: dict) -> str:
    def cell(value, fmt):
        return "n/a" if value is None else format(value, fmt)

    lines = []
    for entry in table.values():
        lines += [f"**{entry['title']}**", "",
                  "| what answers | threshold | effort | errors / instance | recall | precision | mask IoU | s / answer |",
                  "|---|---|---|---|---|---|---|---|"]
        for row in entry["rows"].values():
            lines.append(f"| {row['label']} | {cell(row['threshold'], '.2f')} | {row['effort']:.2f} | "
                         f"{row['errors_per_instance']:.2f} | {cell(row['recall'], '.0%')} | "
                         f"{cell(row['precision'], '.0%')} | {cell(row['mean_mask_iou'], '.2f')} | "
                         f"{cell(row['seconds_median'], '.2f')} |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--spec", required=True)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))  # run as a script from anywhere
    from model.checkpoint import read_card, write_card

    table = build_table(json.loads(Path(args.spec).read_text()))
    card = read_card(args.checkpoint)
    card.metrics["effort"] = table
    write_card(args.checkpoint, card)
    print(markdown(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
