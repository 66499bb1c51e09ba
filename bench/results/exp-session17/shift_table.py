"""Session 17, part 2: the table of shift_children.py's rows (prereg.md): errors per instance, box drawn / bank, at
the recipe's threshold (C), at the threshold chosen with the shifted copies (R) and at each judged sweep's best
(oracle, which no rule can know). Usage:

    python bench/results/exp-session17/shift_table.py SHIFT.jsonl [SHIFT.jsonl ...]
"""
import json
import statistics
import sys
from pathlib import Path

MODES = ("interactive", "bank")


def pair(figures: dict) -> tuple[float, float]:
    return tuple(float(figures.get(mode, 0.0)) for mode in MODES)


def main():
    rows = [json.loads(line) for path in sys.argv[1:] for line in Path(path).read_text().splitlines()]
    print("| set | seed | k | C threshold | C box / bank | R threshold | R box / bank | oracle box / bank |")
    print("|---|---:|---:|---:|---|---:|---|---|")
    groups: dict[str, list] = {}
    for row in sorted(rows, key=lambda r: (r["set"], r["k"], r["seed"])):
        c, r, o = pair(row["C"]), pair(row["R"]), pair(row["oracle"])
        print(f"| {row['set']} | {row['seed']} | {row['k']} | {row['C']['threshold']:g} | {c[0]:.3f} / {c[1]:.3f} | "
              f"{row['R']['threshold']:g} | {r[0]:.3f} / {r[1]:.3f} | {o[0]:.3f} / {o[1]:.3f} |")
        group = "allowed" if row["set"] != "droplets" else f"droplets k = {row['k']}"
        groups.setdefault(group, []).append((c, r, o))
    print()
    print("| children | C box / bank | R box / bank | oracle box / bank | mean of both modes C / R |")
    print("|---|---|---|---|---|")
    for group, items in groups.items():
        c, r, o = ([statistics.mean(x[arm][m] for x in items) for m in (0, 1)] for arm in range(3))
        print(f"| {group} ({len(items)}) | {c[0]:.4f} / {c[1]:.4f} | {r[0]:.4f} / {r[1]:.4f} | {o[0]:.4f} / "
              f"{o[1]:.4f} | {statistics.mean(c):.4f} / {statistics.mean(r):.4f} |")


if __name__ == "__main__":
    main()
