"""Session 22: the rows of `seeded_claims.jsonl` as tables (errors per instance at the recipe's threshold, box
drawn / bank, and the mean of both in brackets), arms side by side. Usage:

    python bench/results/exp-session22/table.py [ROWS] > bench/results/exp-session22/table.md
"""
import json
import sys
from pathlib import Path
from statistics import mean

ROWS = Path(__file__).parent / "seeded_claims.jsonl"
GROUPS = {"sessions": ("sessions",), "allowed": ("synthetic", "coco128"), "droplets": ("droplets",)}


def load(path: Path) -> dict:
    """`{(arm, set, seed, k): row}`; a later row of the same child and arm replaces an earlier one."""
    rows = {}
    for line in path.read_text().splitlines():
        row = json.loads(line)
        rows[(row["arm"], row["set"], row["seed"], row["k"])] = row
    return rows


def both(row: dict) -> float:
    return (row["at"]["interactive"] + row["at"]["bank"]) / 2


def main():
    rows = load(Path(sys.argv[1]) if len(sys.argv) > 1 else ROWS)
    arms = sorted({key[0] for key in rows}, key=lambda a: ("CL", "SC", "U", "SC+U", "V").index(a))
    children = sorted({key[1:] for key in rows})
    print("| set | seed | k | " + " | ".join(arms) + " |")
    print("|---|---:|---:|" + "---|" * len(arms))
    for child in children:
        cells = []
        for arm in arms:
            row = rows.get((arm, *child))
            cells.append("–" if row is None else
                         f"{row['at']['interactive']:.3f} / {row['at']['bank']:.3f} ({row['threshold']})")
        print(f"| {child[0]} | {child[1]} | {child[2]} | " + " | ".join(cells) + " |")
    print()
    print("| children | n | " + " | ".join(arms) + " |")
    print("|---|---:|" + "---|" * len(arms))
    for group, sets in GROUPS.items():
        members = [c for c in children if c[0] in sets]
        cells = []
        for arm in arms:
            got = [rows[(arm, *c)] for c in members if (arm, *c) in rows]
            if len(got) < len(members) or not got:
                cells.append(f"{len(got)} of {len(members)}")
                continue
            cells.append(f"{mean(r['at']['interactive'] for r in got):.4f} / {mean(r['at']['bank'] for r in got):.4f}"
                         f" ({mean(both(r) for r in got):.4f})")
        if members:
            print(f"| {group} | {len(members)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
