"""Session 22 report (prereg.md, after part 2): the box-drawn mode of arms CL and U read at a threshold of its own,
chosen from the same combined held-out judgement the recipe calibrated on (its `interactive` efforts alone, the
same tie width, the middle of the ties) instead of the mean of both modes. Offline, from the rows of
`seeded_claims.jsonl` (the judged sweeps); the bank mode would be the same in both arms at a threshold of its own,
so it is left out. Report only: it decides nothing. Usage:

    PYTHONPATH=. python bench/results/exp-session22/per_mode.py ROWS.jsonl [ROWS.jsonl ...]
"""
import sys
from collections import defaultdict
from pathlib import Path
from statistics import mean

from model.evaluation.calibration import choose_threshold

sys.path.insert(0, str(Path(__file__).parent))
from table import load


def own_threshold(row: dict) -> float:
    """The drawn mode's own threshold; the shared one when the held-out slice had no box-drawn trial."""
    calibration = row["calibration"]
    if "interactive" not in calibration["efforts"]:
        return row["threshold"]
    return choose_threshold(calibration["thresholds"], {"interactive": calibration["efforts"]["interactive"]},
                            tie=calibration["tie_effort"], tie_break="middle").threshold


def at(sweep: dict, threshold: float) -> float:
    return sweep["interactive"][[round(t, 4) for t in sweep["thresholds"]].index(round(threshold, 4))]


def main():
    rows = {}
    for path in sys.argv[1:]:
        rows |= load(Path(path))
    table = defaultdict(dict)
    for (arm, name, seed, k), row in sorted(rows.items()):
        if arm not in ("CL", "U") or not row["calibration"]:
            continue
        threshold = own_threshold(row)
        table[(name, seed, k)][arm] = (row["at"]["interactive"], at(row["sweep"], threshold), threshold)
    print("| set | seed | k | CL: shared threshold / own (threshold) | U: shared / own (threshold) |")
    print("|---|---:|---:|---|---|")
    groups = defaultdict(lambda: defaultdict(list))
    for (name, seed, k), arms in sorted(table.items()):
        if len(arms) < 2:
            continue
        cells = [f"{s:.3f} / {o:.3f} ({t})" for s, o, t in (arms["CL"], arms["U"])]
        print(f"| {name} | {seed} | {k} | " + " | ".join(cells) + " |")
        group = "allowed" if name in ("synthetic", "coco128") else name
        for arm in ("CL", "U"):
            groups[group][arm].append(arms[arm][:2])
    print()
    print("| children | n | CL: shared / own | U: shared / own |")
    print("|---|---:|---|---|")
    for group, arms in groups.items():
        cells = [f"{mean(v[0] for v in arms[a]):.4f} / {mean(v[1] for v in arms[a]):.4f}" for a in ("CL", "U")]
        print(f"| {group} | {len(arms['CL'])} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
