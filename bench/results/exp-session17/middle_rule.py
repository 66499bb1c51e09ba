"""Session 17, part 3 (prereg.md): arm M, among the held-out sweep's near ties the middle threshold (the lower of the
two middle ones for an even count) instead of the highest, scored off shift_children.py's rows and the children's
cards. Usage:

    python bench/results/exp-session17/middle_rule.py CHILDREN_DIR [CHILDREN_DIR ...]

Prints each child's C / M thresholds and errors per instance (box drawn / bank), and the means per group.
"""
import json
import statistics
import sys
from pathlib import Path

from shift_children import at  # the judged sweep read at a threshold
from shift_table import pair  # box drawn / bank of a row's figures

from model.evaluation.calibration import _tied, choose_threshold


def middle_threshold(thresholds, efforts: dict, tie: float) -> float:
    """The median of the thresholds `choose_threshold` counts as near ties (its own `_tied`)."""
    mean = choose_threshold(thresholds, efforts, tie=tie).mean_effort
    tied = sorted(float(thresholds[i]) for i in _tied(mean, tie))
    return tied[(len(tied) - 1) // 2]


def main():
    groups: dict[str, list] = {}
    for directory in map(Path, sys.argv[1:]):
        for line in (directory / "shift.jsonl").read_text().splitlines():
            row = json.loads(line)
            card = json.loads((directory / f"{row['set']}-s{row['seed']}-k{row['k']}.card.json").read_text())
            calibration = card["metrics"]["calibration"]
            thresholds, efforts = calibration["thresholds"], card["metrics"]["holdout_sweeps"]["new"]
            tie = calibration["tie_effort"]
            today = choose_threshold(thresholds, efforts, tie=tie).threshold
            assert abs(today - row["C"]["threshold"]) < 1e-9, (row["set"], row["seed"], row["k"], today)
            middle = middle_threshold(thresholds, efforts, tie)
            c, m = pair(at(row["sweep"], today)), pair(at(row["sweep"], middle))
            print(f"{row['set']}:{row['seed']}:{row['k']} C {today:g} {c[0]:.3f} / {c[1]:.3f}  M {middle:g} "
                  f"{m[0]:.3f} / {m[1]:.3f}")
            group = "allowed" if row["set"] != "droplets" else f"droplets k = {row['k']}"
            groups.setdefault(group, []).append((c, m))
    for group, items in groups.items():
        c, m = ([statistics.mean(x[arm][i] for x in items) for i in (0, 1)] for arm in (0, 1))
        print(f"{group} ({len(items)}): C {c[0]:.4f} / {c[1]:.4f} mean {statistics.mean(c):.4f} | M {m[0]:.4f} / "
              f"{m[1]:.4f} mean {statistics.mean(m):.4f}")


if __name__ == "__main__":
    main()
