"""Session 19 parts 2-3: arm S (the soup of the judged child and its refit, `soup.jsonl`) and arm T (the soup of the
judged child and a second run on its own images, `two_runs.jsonl`; allowed sets cut) beside C and F (`refit.jsonl`)
of the same child, errors per instance box drawn / bank at the recipe's threshold; T's sweep's best. Usage:

    python bench/results/exp-session19/soups_table.py bench/results/exp-session19 > bench/results/exp-session19/soups-table.md
"""
import json
import sys
from pathlib import Path

MODES = ("interactive", "bank")


def rows(path):
    return {(r["set"], r["seed"], r["k"]): r for r in map(json.loads, Path(path).read_text().splitlines())}


def main():
    here = Path(sys.argv[1])
    pairs, soups, twos = rows(here / "refit.jsonl"), rows(here / "soup.jsonl"), rows(here / "two_runs.jsonl")
    print("| set | seed | k | threshold | C | F | S: C + F | T: C + C2 | T sweep's best |")
    print("|---|---:|---:|---:|---|---|---|---|---|")
    groups = {}
    for key in sorted(soups, key=lambda k: (k[0] != "droplets", k[0], k[2], k[1])):
        arms = {"C": pairs[key]["C"], "F": pairs[key]["F"], "S": soups[key]["S"]}
        if key in twos:
            arms["T"] = twos[key]["T"]
        cells = " | ".join(f"{arms[a]['interactive']:.3f} / {arms[a]['bank']:.3f}" if a in arms else "cut"
                           for a in "CFST")
        best = twos[key]["oracle"] if key in twos else None
        print(f"| {key[0]} | {key[1]} | {key[2]} | {arms['S']['threshold']} | {cells} | "
              + (f"{best['interactive']:.3f} / {best['bank']:.3f} |" if best else "cut |"))
        groups.setdefault("droplets k = 5" if key[0] == "droplets" else "allowed", []).append((arms, best))
    print()
    print("| children | n | C | F | S: C + F | T: C + C2 | T sweep's best |")
    print("|---|---:|---|---|---|---|---|")
    for group, members in groups.items():
        n = len(members)
        cell = {}
        for arm in "CFST":
            if any(arm not in a for a, _ in members):
                cell[arm] = "cut"
                continue
            mean = {m: sum(a[arm][m] for a, _ in members) / n for m in MODES}
            cell[arm] = f"{mean['interactive']:.4f} / {mean['bank']:.4f} ({sum(mean.values()) / 2:.4f})"
        best = ("cut" if any(b is None for _, b in members) else
                " / ".join(f"{sum(b[m] for _, b in members) / n:.3f}" for m in MODES))
        print(f"| {group} | {n} | {cell['C']} | {cell['F']} | {cell['S']} | {cell['T']} | {best} |")


if __name__ == "__main__":
    main()
