"""Session 20: arm R2 (the recipe judging a soup of two full runs, `runs2.jsonl`) beside session 19's arms of the
same child: C (the recipe's judged child, `refit.jsonl`) and T (the soup of C and a second run on C's images, with
C's threshold, `two_runs.jsonl`), and part 2's C' (R2's run 0 alone, calibrated by the recipe, `run0.jsonl`; paired
with R2: the same training draw); errors per instance box drawn / bank at each arm's threshold, and each sweep's
best. Then the diagnostic's ingredients (`ingredients.jsonl`). Usage:

    python bench/results/exp-session20/runs_table.py bench/results/exp-session19 bench/results/exp-session20 \
        > bench/results/exp-session20/runs-table.md
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session19"))
from soups_table import MODES, rows  # session 19's rows by (set, seed, k)

PAIRED = "C'"  # part 2's arm
TARGETS = {"interactive": 0.15, "bank": 0.3}  # issue 18, k = 5


def pair(figures):
    return f"{figures['interactive']:.3f} / {figures['bank']:.3f}"


def mean(members, arm):
    """`box / bank (their mean)` over `members`, each a dict of arms; "not all run" when one lacks `arm`."""
    if any(arm not in a for a in members):
        return "not all run"
    figures = {m: sum(a[arm][m] for a in members) / len(members) for m in MODES}
    return f"{figures['interactive']:.4f} / {figures['bank']:.4f} ({sum(figures.values()) / 2:.4f})"


def main():
    before, here = Path(sys.argv[1]), Path(sys.argv[2])
    judged, twos, soups = rows(before / "refit.jsonl"), rows(before / "two_runs.jsonl"), rows(here / "runs2.jsonl")
    alone = rows(here / "run0.jsonl") if (here / "run0.jsonl").exists() else {}
    print("| set | seed | k | C (s19) | T: C + C2 at C's threshold (s19) | C': R2's run 0 alone (threshold) | "
          "R2 (threshold) | C' sweep's best | R2 sweep's best |")
    print("|---|---:|---:|---|---|---|---|---|---|")
    groups = {}
    for key in sorted(soups, key=lambda k: (k[0] != "droplets", k[0], k[2], k[1])):
        r2 = soups[key]
        arms = {"R2": r2["R2"], "R2 best": r2["oracle"]}
        if key in judged:
            arms["C"], arms["C best"] = judged[key]["C"], judged[key]["oracle"]["C"]
        if key in twos:
            arms["T"], arms["T best"] = twos[key]["T"], twos[key]["oracle"]
        if key in alone:
            arms["C'"], arms["C' best"] = alone[key]["C'"], alone[key]["oracle"]
        cell = {a: pair(arms[a]) if a in arms else "not run" for a in ("C", "T", "C'", "C' best")}
        if key in alone:
            cell["C'"] += f" ({alone[key]['threshold']})"
        print(f"| {key[0]} | {key[1]} | {key[2]} | {cell['C']} | {cell['T']} | {cell[PAIRED]} | "
              f"{pair(arms['R2'])} ({r2['threshold']}) | {cell[PAIRED + ' best']} | "
              f"{pair(arms['R2 best'])} |")
        group = "allowed" if key[0] != "droplets" else f"droplets k = {key[2]}"
        groups.setdefault(group, []).append(arms)
    print()
    print("| children | n | C (s19) | T (s19) | C' | R2 | R2 meets both k = 5 targets | C best | T best | C' best | "
          "R2 best |")
    print("|---|---:|---|---|---|---|---:|---|---|---|---|")
    for group, members in groups.items():
        n = len(members)

        meets = sum(all(a["R2"][m] <= TARGETS[m] for m in MODES) for a in members)
        cells = [mean(members, arm) for arm in ("C", "T", "C'", "R2")]
        cells.append(f"{meets} of {n}" if group == "droplets k = 5" else "-")
        cells += [mean(members, arm) for arm in ("C best", "T best", "C' best", "R2 best")]
        print(f"| {group} | {n} | " + " | ".join(cells) + " |")
    path = here / "ingredients.jsonl"
    if path.exists():
        print()
        print("Diagnostic: each run of an R2 child alone, with the soup's threshold and decisions (box drawn / bank).")
        print()
        print("| set | seed | k | run 0 | run 1 | their soup (R2) | C (s19, same seed as run 0) |")
        print("|---|---:|---:|---|---|---|---|")
        runs = {}
        for r in map(json.loads, path.read_text().splitlines()):
            runs.setdefault((r["set"], r["seed"], r["k"]), {})[r["run"]] = r["at"]
        for key, alone in runs.items():
            print(f"| {key[0]} | {key[1]} | {key[2]} | {pair(alone[0])} | {pair(alone[1])} | {pair(soups[key]['R2'])} "
                  f"| {pair(judged[key]['C'])} |")


if __name__ == "__main__":
    main()
