"""Session 21's tables (prereg.md) from the rows beside this file and session 20's. Errors per instance, box drawn /
bank, at each arm's threshold. Usage:

    PYTHONPATH=. python bench/results/exp-session21/claims_table.py > bench/results/exp-session21/claims-table.md
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session19"))
sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session17"))
from shift_children import at  # session 17's read-off of a judged sweep at a threshold
from soups_table import MODES, rows  # session 19's reader of a rows file, keyed (set, seed, k)

HERE = Path(__file__).parent
SESSION20 = HERE.parent / "exp-session20"
ALLOWED = ("synthetic", "coco128")
SESSIONS = "sessions"  # part 4's generated project: its rows carry their own calibration


def arm_rows(path: Path, arm: str) -> dict:
    """The rows of `path` for `arm` only, keyed (set, seed, k) (the last row of a key wins)."""
    return {(r["set"], r["seed"], r["k"]): r for r in map(json.loads, path.read_text().splitlines())
            if r.get("arm") == arm}


def ties(calibration: dict) -> list[float]:
    """The thresholds whose combined held-out mean effort is within the calibration's tie of the lowest. The card
    keeps the efforts rounded to 4 digits, which can add a tie the recipe's exact arithmetic did not have above its
    choice (the highest tie): those are left out."""
    mean, tie = calibration["mean_effort"], calibration["tie_effort"]
    return sorted(t for t, m in zip(calibration["thresholds"], mean, strict=True)
                  if m <= min(mean) + tie + 1e-9 and t <= calibration["threshold"])


def middle(calibration: dict) -> float:
    """Rule M: the median of the ties (even count: the higher of the two middle ones)."""
    tied = ties(calibration)
    return tied[len(tied) // 2]


def cell(figures: dict) -> str:
    return f"{figures['interactive']:.3f} / {figures['bank']:.3f}"


def mean_cell(members: list[dict]) -> str:
    means = {m: sum(f[m] for f in members) / len(members) for m in MODES}
    return f"{means['interactive']:.4f} / {means['bank']:.4f} ({sum(means.values()) / 2:.4f})"


def table(title: str, columns: list[str], keyed: dict[tuple, dict[str, dict]]) -> None:
    """`keyed`: (set, seed, k) -> {column: figures}. One row per child, then the means per group."""
    print(f"### {title}\n")
    print("| set | seed | k | " + " | ".join(columns) + " |")
    print("|---|---:|---:|" + "---|" * len(columns))
    groups: dict[str, list[dict]] = {}
    for key in sorted(keyed, key=lambda k: (k[0] == "droplets", k[0], k[2], k[1])):
        print(f"| {key[0]} | {key[1]} | {key[2]} | " + " | ".join(cell(keyed[key][c]) for c in columns) + " |")
        if key[0] == "droplets":
            groups.setdefault("droplets k = 5", []).append(keyed[key])
            continue
        if key[0] == SESSIONS:  # part 4 decided on seeds 0-5; part 5 adds 6-11 (report)
            groups.setdefault("sessions k = 5, seeds 0-5 (part 4)" if key[1] < 6 else
                              "sessions k = 5, seeds 6-11 (part 5)", []).append(keyed[key])
            groups.setdefault("sessions k = 5, all", []).append(keyed[key])
            continue
        groups.setdefault("allowed", []).append(keyed[key])
        groups.setdefault(f"  {key[0]}", []).append(keyed[key])
    print()
    print("| children | n | " + " | ".join(columns) + " |")
    print("|---|---:|" + "---|" * len(columns))
    for group, members in groups.items():
        print(f"| {group.strip()} | {len(members)} | " + " | ".join(mean_cell([m[c] for m in members])
                                                                   for c in columns) + " |")
    print()


def main():
    c_plain = rows(SESSION20 / "run0.jsonl")
    r2_plain = rows(SESSION20 / "runs2.jsonl")
    claims = HERE / "claims_children.jsonl"
    c_claims, r2_claims = arm_rows(claims, "C'"), arm_rows(claims, "R2")
    calibrations = HERE / "calibrations.jsonl"
    c_cal, r2_cal = arm_rows(calibrations, "C'"), arm_rows(calibrations, "R2")

    def with_threshold(row, threshold):
        return {**at(row["sweep"], threshold), "threshold": threshold}

    part1 = {key: {"C' (session 20)": c_plain[key]["C'"], "C' with claims": row["CL"],
                   "C' with claims, sweep's best": row["oracle"]} for key, row in c_claims.items()
             if key[0] in ALLOWED}
    table("Part 1: the one-run recipe's children with the label claims (decides)", list(
        next(iter(part1.values()))), part1)
    if r2_claims:
        part2 = {key: {"R2 (session 20)": r2_plain[key]["R2"], "R2 with claims": row["CL"],
                       "C' with claims": c_claims[key]["CL"]} for key, row in r2_claims.items()
                 if key in c_claims and key[0] in ALLOWED}
        table("Part 2: the soup against its own first run, both with claims (report)", list(
            next(iter(part2.values()))), part2)
    part3 = {}
    for key, cal in c_cal.items():
        judged = c_claims[key] if key[0] in ALLOWED else c_plain[key]
        assert abs(cal["threshold"] - judged["threshold"]) < 1e-9, (key, cal["threshold"], judged["threshold"])
        part3[key] = {"C' current": with_threshold(judged, cal["threshold"]),
                      "C' middle of the ties": with_threshold(judged, middle(cal["calibration"]))}
        if key in r2_cal or key in r2_claims:
            r2 = r2_claims[key] if key[0] in ALLOWED else r2_plain[key]
            r2_calibration = (r2_claims[key]["calibration"] if key[0] in ALLOWED else r2_cal[key]["calibration"])
            if key[0] not in ALLOWED:
                assert abs(r2_cal[key]["threshold"] - r2["threshold"]) < 1e-9, (key, "R2 not re-judged alike")
            part3[key] |= {"R2 current": with_threshold(r2, r2["threshold"]),
                           "R2 middle of the ties": with_threshold(r2, middle(r2_calibration))}
    for key, row in c_claims.items():
        if key[0] == SESSIONS and key in r2_claims:
            r2 = r2_claims[key]
            part3[key] = {"C' current": with_threshold(row, row["threshold"]),
                          "C' middle of the ties": with_threshold(row, middle(row["calibration"])),
                          "R2 current": with_threshold(r2, r2["threshold"]),
                          "R2 middle of the ties": with_threshold(r2, middle(r2["calibration"]))}
    if part3:
        columns = ["C' current", "C' middle of the ties"]
        if all("R2 current" in v for v in part3.values()):
            columns += ["R2 current", "R2 middle of the ties"]
        table("Parts 3 and 4: near ties to the middle, with claims (part 3 decides on the allowed C' children, part 4 "
              "on the sessions C' children once the set is usable)", columns, part3)
        print("Thresholds (current -> middle): " + "; ".join(
            f"{k[0]} s{k[1]} k{k[2]}: {v['C' + chr(39) + ' current']['threshold']} -> "
            f"{v['C' + chr(39) + ' middle of the ties']['threshold']}" for k, v in sorted(part3.items())))


if __name__ == "__main__":
    main()
