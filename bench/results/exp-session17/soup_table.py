"""Session 17: the soup study's table (prereg.md): arm S (soups.jsonl) against arm C (session 16's children of the
same recipe with one run), and each soup against its two ingredients. Errors per instance at each child's own
calibrated threshold, box drawn / bank. Usage:

    python bench/results/exp-session17/soup_table.py SOUPS.jsonl [SOUPS.jsonl ...]
"""
import json
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).parent
ARM_C = {"allowed": HERE.parent / "exp-session16" / "frame3-allowed.jsonl",
         "droplets": HERE.parent / "exp-session16" / "recipe-droplets.jsonl"}


def errors(figures: dict) -> tuple[float, float]:
    return figures["interactive"]["errors_per_instance"], figures.get("bank", {}).get("errors_per_instance", 0.0)


def arm_c() -> dict:
    rows = {}
    for path in ARM_C.values():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            rows[(row["set"], row["seed"], row["k"])] = row.get("B", row)
    return rows


def main():
    soups = [json.loads(line) for path in sys.argv[1:] for line in Path(path).read_text().splitlines()]
    today = arm_c()
    print("| set | seed | k | C: one run (session 16) | S: soup of two half runs | ingredients (each calibrated) |")
    print("|---|---:|---:|---|---|---|")
    groups: dict[str, list] = {}
    for row in sorted(soups, key=lambda r: (r["set"], r["k"], r["seed"])):
        key = (row["set"], row["seed"], row["k"])
        c, s = errors(today[key]), errors(row["soup"])
        parts = [errors(i) for i in row["ingredients"]]
        print(f"| {row['set']} | {row['seed']} | {row['k']} | {c[0]:.3f} / {c[1]:.3f} | {s[0]:.3f} / {s[1]:.3f} | "
              + ", ".join(f"{a:.3f} / {b:.3f}" for a, b in parts) + " |")
        group = "allowed" if row["set"] != "droplets" else f"droplets k = {row['k']}"
        groups.setdefault(group, []).append((c, s, parts))
    print()
    print("| children | C box / bank | S box / bank | ingredients' mean box / bank | mean of both modes C / S |")
    print("|---|---|---|---|---|")
    for group, items in groups.items():
        c = [statistics.mean(x[0][m] for x in items) for m in (0, 1)]
        s = [statistics.mean(x[1][m] for x in items) for m in (0, 1)]
        i = [statistics.mean(statistics.mean(p[m] for p in x[2]) for x in items) for m in (0, 1)]
        print(f"| {group} ({len(items)}) | {c[0]:.4f} / {c[1]:.4f} | {s[0]:.4f} / {s[1]:.4f} | {i[0]:.4f} / "
              f"{i[1]:.4f} | {statistics.mean(c):.4f} / {statistics.mean(s):.4f} |")


if __name__ == "__main__":
    main()
