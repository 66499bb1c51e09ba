"""Session 18 part 2: L (200 steps) against C (the same run at step 150), per child and in the mean, errors per
instance box drawn / bank at each arm's threshold, and each judged sweep's best. Usage:

    python bench/results/exp-session18/steps_table.py runs/s18-steps/steps.jsonl > bench/results/exp-session18/steps-table.md
"""
import json
import sys
from pathlib import Path

MODES = ("interactive", "bank")


def main():
    rows = [json.loads(line) for line in Path(sys.argv[1]).read_text().splitlines() if line.strip()]
    print("| set | seed | k | C threshold | C box / bank | L threshold | L box / bank | C best | L best |")
    print("|---|---:|---:|---:|---|---:|---|---|---|")
    groups = {}
    for r in sorted(rows, key=lambda r: (r["set"], r["k"], r["seed"])):
        c, long = r["C"], r["L"]
        print(f"| {r['set']} | {r['seed']} | {r['k']} | {c['threshold']} | {_pair(c['at'])} | {long['threshold']} | "
              f"{_pair(long['at'])} | {_pair(c['oracle'])} | {_pair(long['oracle'])} |")
        group = "droplets k = 5" if r["set"] == "droplets" else "allowed"
        groups.setdefault(group, []).append(r)
    print()
    print("| children | n | C box / bank | L box / bank | C mean of both | L mean of both | C best | L best |")
    print("|---|---:|---|---|---:|---:|---|---|")
    for group, members in groups.items():
        mean = {arm: {m: sum(r[arm]["at"][m] for r in members) / len(members) for m in MODES} for arm in "CL"}
        best = {arm: {m: sum(r[arm]["oracle"][m] for r in members) / len(members) for m in MODES} for arm in "CL"}
        print(f"| {group} | {len(members)} | {_pair(mean['C'], 4)} | {_pair(mean['L'], 4)} | "
              f"{sum(mean['C'].values()) / 2:.4f} | {sum(mean['L'].values()) / 2:.4f} | {_pair(best['C'])} | "
              f"{_pair(best['L'])} |")


def _pair(figures: dict, digits: int = 3) -> str:
    return " / ".join(f"{figures[m]:.{digits}f}" for m in MODES)


if __name__ == "__main__":
    main()
