"""Session 19: arm F (the refit child) against arm C (the judged child of the same fine-tune), per child and in the
mean, errors per instance box drawn / bank at the recipe's threshold, and each arm's sweep's best. Usage:

    python bench/results/exp-session19/refit_table.py runs/s19-refit/refit.jsonl > bench/results/exp-session19/refit-table.md
"""
import json
import sys
from pathlib import Path

TARGETS = {"interactive": 0.15, "bank": 0.3}
MODES = ("interactive", "bank")


def main():
    rows = [json.loads(line) for line in Path(sys.argv[1]).read_text().splitlines() if line.strip()]
    rows.sort(key=lambda r: (r["set"] == "droplets", r["set"], r["k"], r["seed"]))
    print("| set | seed | k | threshold | C box / bank | F box / bank | C sweep's best | F sweep's best | gate / bank on |")
    print("|---|---:|---:|---:|---|---|---|---|---|")
    groups = {}
    for r in rows:
        c, f = r["C"], r["F"]
        print(f"| {r['set']} | {r['seed']} | {r['k']} | {r['threshold']} | {c['interactive']:.3f} / {c['bank']:.3f} | "
              f"{f['interactive']:.3f} / {f['bank']:.3f} | {r['oracle']['C']['interactive']:.3f} / "
              f"{r['oracle']['C']['bank']:.3f} | {r['oracle']['F']['interactive']:.3f} / "
              f"{r['oracle']['F']['bank']:.3f} | {r['gate']} / {r['bank_answers']} |")
        group = f"droplets k = {r['k']}" if r["set"] == "droplets" else "allowed"
        groups.setdefault(group, []).append(r)
    print()
    print("| children | n | C box / bank (mean) | F box / bank (mean) | C best / F best | at or under both targets, C / F |")
    print("|---|---:|---|---|---|---|")
    for group, members in groups.items():
        n = len(members)
        mean = {arm: {mode: sum(r[arm][mode] for r in members) / n for mode in MODES} for arm in "CF"}
        best = {arm: {mode: sum(r["oracle"][arm][mode] for r in members) / n for mode in MODES} for arm in "CF"}
        met = {arm: sum(all(r[arm][m] <= TARGETS[m] for m in MODES) for r in members) for arm in "CF"}
        cell = {arm: f"{mean[arm]['interactive']:.4f} / {mean[arm]['bank']:.4f} "
                     f"({(mean[arm]['interactive'] + mean[arm]['bank']) / 2:.4f})" for arm in "CF"}
        print(f"| {group} | {n} | {cell['C']} | {cell['F']} | {best['C']['interactive']:.3f} / "
              f"{best['C']['bank']:.3f}, {best['F']['interactive']:.3f} / {best['F']['bank']:.3f} | "
              f"{met['C']} / {met['F']} |")


if __name__ == "__main__":
    main()
