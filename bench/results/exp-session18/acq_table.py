"""Session 18 part 1: arm A (`acq.jsonl`) against arm C (session 17's children of today's recipe, their arm R), per
child and in the mean, errors per instance box drawn / bank at each child's threshold. Usage:

    python bench/results/exp-session18/acq_table.py runs/s18-acq/acq.jsonl > bench/results/exp-session18/acq-table.md
"""
import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
SESSION17 = [HERE.parent / "exp-session17" / name for name in ("shift.jsonl", "shift4.jsonl")]


def rows(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def main():
    arm_a = {(r["set"], r["seed"], r["k"]): r for r in rows(sys.argv[1])}
    arm_c = {(r["set"], r["seed"], r["k"]): r for path in SESSION17 for r in rows(path)}
    print("| set | seed | k | C threshold | C box / bank | A threshold | A box / bank | A sweep's best | A gate / bank on |")
    print("|---|---:|---:|---:|---|---:|---|---|---|")
    groups = {}
    for key in sorted(arm_a, key=lambda k: (k[0], k[2], k[1])):
        a, c = arm_a[key], arm_c[key]
        print(f"| {key[0]} | {key[1]} | {key[2]} | {c['R']['threshold']} | {c['R']['interactive']:.3f} / "
              f"{c['R']['bank']:.3f} | {a['A']['threshold']} | {a['A']['interactive']:.3f} / {a['A']['bank']:.3f} | "
              f"{a['oracle']['interactive']:.3f} / {a['oracle']['bank']:.3f} | {a['gate']} / {a['bank_answers']} |")
        group = "droplets k = 5" if key[0] == "droplets" else "allowed"
        groups.setdefault(group, []).append((c["R"], a["A"]))
    print()
    print("| children | n | C box / bank | A box / bank | C mean of both | A mean of both |")
    print("|---|---:|---|---|---:|---:|")
    for group, pairs in groups.items():
        n = len(pairs)
        mean = {arm: {mode: sum(p[i][mode] for p in pairs) / n for mode in ("interactive", "bank")}
                for i, arm in enumerate("CA")}
        print(f"| {group} | {n} | {mean['C']['interactive']:.4f} / {mean['C']['bank']:.4f} | "
              f"{mean['A']['interactive']:.4f} / {mean['A']['bank']:.4f} | "
              f"{(mean['C']['interactive'] + mean['C']['bank']) / 2:.4f} | "
              f"{(mean['A']['interactive'] + mean['A']['bank']) / 2:.4f} |")


if __name__ == "__main__":
    main()
