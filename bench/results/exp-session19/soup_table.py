"""Session 19 part 2: arm S (the soup of each judged child and its refit, `soup.jsonl`) beside arms C and F of the
same child (`refit.jsonl`), errors per instance box drawn / bank at the recipe's threshold. Usage:

    python bench/results/exp-session19/soup_table.py bench/results/exp-session19 > bench/results/exp-session19/soup-table.md
"""
import json
import sys
from pathlib import Path

MODES = ("interactive", "bank")
TARGETS = {"interactive": 0.15, "bank": 0.3}


def rows(path):
    return {(r["set"], r["seed"], r["k"]): r for r in map(json.loads, Path(path).read_text().splitlines())}


def main():
    here = Path(sys.argv[1])
    pairs, soups = rows(here / "refit.jsonl"), rows(here / "soup.jsonl")
    print("| set | seed | k | threshold | C box / bank | F box / bank | S box / bank | S sweep's best |")
    print("|---|---:|---:|---:|---|---|---|---|")
    groups = {}
    for key in sorted(soups, key=lambda k: (k[0] == "droplets", k[0], k[2], k[1])):
        pair, soup = pairs[key], soups[key]
        arms = {"C": pair["C"], "F": pair["F"], "S": soup["S"]}
        cells = " | ".join(f"{arms[a]['interactive']:.3f} / {arms[a]['bank']:.3f}" for a in "CFS")
        print(f"| {key[0]} | {key[1]} | {key[2]} | {soup['S']['threshold']} | {cells} | "
              f"{soup['oracle']['interactive']:.3f} / {soup['oracle']['bank']:.3f} |")
        groups.setdefault("droplets k = 5" if key[0] == "droplets" else "allowed", []).append(
            (arms, soup["oracle"]))
    print()
    print("| children | n | C box / bank (mean) | F | S | S sweep's best | at or under both targets, C / F / S |")
    print("|---|---:|---|---|---|---|---|")
    for group, members in groups.items():
        n = len(members)
        cell = {}
        for arm in "CFS":
            mean = {m: sum(a[arm][m] for a, _ in members) / n for m in MODES}
            cell[arm] = f"{mean['interactive']:.4f} / {mean['bank']:.4f} ({sum(mean.values()) / 2:.4f})"
        best = {m: sum(o[m] for _, o in members) / n for m in MODES}
        met = [sum(all(a[arm][m] <= TARGETS[m] for m in MODES) for a, _ in members) for arm in "CFS"]
        print(f"| {group} | {n} | {cell['C']} | {cell['F']} | {cell['S']} | {best['interactive']:.3f} / "
              f"{best['bank']:.3f} | {' / '.join(map(str, met))} |")


if __name__ == "__main__":
    main()
