"""Session 25 parts 1 and 4 (prereg.md): the frame arms against CL, read off the rows. An arm's row replaces the
child's CL row where the child was re-judged (labels say "left out"); other children keep their CL rows. Errors per
instance at the recipe's threshold, box drawn / bank, and the mean of both. Usage:

    python bench/results/exp-session25/frame_table.py
"""
import json
from pathlib import Path

HERE = Path(__file__).parent
ROWS = [HERE.parent / "exp-session24" / "rows.jsonl", HERE / "rows.jsonl"]
FIRST_FRESH_SEED = {"sessions": 40, "sessions-packed": 40, "coco128": 2, "synthetic": 2, "droplets": 6}
ALLOWED = ("sessions", "sessions-packed", "coco128", "synthetic")


def rows_by_arm():
    arms: dict = {}
    for path in ROWS:
        for line in path.read_text().splitlines():
            row = json.loads(line)
            arms.setdefault(row["arm"], {}).setdefault((row["set"], row["seed"]), row)
    return arms


def mean(values):
    return sum(values) / len(values) if values else float("nan")


def summary(arms, arm, keys):
    box, bank, changed = [], [], []
    for key in keys:
        row = arms.get(arm, {}).get(key) or arms["CL"][key]
        changed += [key] if key in arms.get(arm, {}) else []
        box.append(row["at"]["interactive"])
        bank.append(row["at"]["bank"])
    return {"n": len(keys), "changed": len(changed), "box": round(mean(box), 4), "bank": round(mean(bank), 4),
            "mean": round(mean([(a + b) / 2 for a, b in zip(box, bank, strict=True)]), 4)}


def main():
    arms = rows_by_arm()
    cl = arms["CL"]
    fresh = {k for k in cl if k[1] >= FIRST_FRESH_SEED[k[0]]}
    groups = {
        "kept allowed 20 (part 1 decides FT)": sorted(k for k in cl if k[0] in ALLOWED and k not in fresh),
        "fresh allowed 20 (part 4 decides FM)": sorted(k for k in cl if k[0] in ALLOWED and k in fresh),
        "droplets 0-5 (report)": sorted(k for k in cl if k[0] == "droplets" and k not in fresh),
        "droplets 6-11 (report)": sorted(k for k in cl if k[0] == "droplets" and k in fresh),
    }
    lines = ["| children | CL | FT (a tie follows the labels) | FM (FT, cut read off the mask) |", "|---|---|---|---|"]
    for name, keys in groups.items():
        cells = []
        for arm in ("CL", "FT", "FM"):
            s = summary(arms, arm, keys)
            note = "" if arm == "CL" else f", {s['changed']} re-judged"
            cells.append(f"{s['box']:.3f} / {s['bank']:.3f} (**{s['mean']:.4f}**{note})" if keys else "")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Per child re-judged (box drawn / bank at the child's threshold):", ""]
    for arm in ("FT", "FM"):
        for key, row in sorted(arms.get(arm, {}).items()):
            base = cl[key]
            lines.append(f"- {arm} {key[0]} {key[1]}: CL {base['at']['interactive']:.4f} / {base['at']['bank']:.4f} "
                         f"at {base['threshold']:g} -> {row['at']['interactive']:.4f} / {row['at']['bank']:.4f} at "
                         f"{row['threshold']:g}")
    text = "\n".join(lines) + "\n"
    (HERE / "frame_table.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
