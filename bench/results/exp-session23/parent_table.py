"""Session 23 part 2: the shipped parent's rows (`parent_rows.jsonl`) as a table: box-drawn errors per instance at
its threshold (0.85), alone and with its label's bank joining, recall and precision. Usage:

    python bench/results/exp-session23/parent_table.py > bench/results/exp-session23/parent_table.md
"""
import json
from pathlib import Path
from statistics import mean

ROWS = Path(__file__).parent / "parent_rows.jsonl"
GROUPS = {"sessions seeds 12-21 (decides)": ("sessions",), "allowed 8": ("synthetic", "coco128"),
          "droplets 12 (report)": ("droplets",)}


def main():
    rows = {}
    for line in ROWS.read_text().splitlines():
        row = json.loads(line)
        rows[(row["set"], row["seed"], row["k"], row["arm"])] = row
    print("| children | alone | joined |\n|---|---|---|")
    for name, sets in GROUPS.items():
        keys = sorted({key[:3] for key in rows if key[0] in sets and key[:3] + ("joined",) in rows})
        if keys:
            alone, joined = ([rows[key + (arm,)]["at"] for key in keys] for arm in ("alone", "joined"))
            print(f"| {name} ({len(keys)}) | **{mean(alone):.4f}** | **{mean(joined):.4f}** |")
    print("\n| set | seed | k | alone: errors (recall, precision) | joined |\n|---|---:|---:|---|---|")
    for key in sorted({key[:3] for key in rows}):
        cells = []
        for arm in ("alone", "joined"):
            row = rows.get(key + (arm,))
            cells.append("–" if row is None else f"{row['at']:.3f} ({row['recall']:.2f}, "
                         f"{'–' if row['precision'] is None else format(row['precision'], '.2f')})")
        print(f"| {key[0]} | {key[1]} | {key[2]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
