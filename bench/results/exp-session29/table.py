"""Session 29's tables (prereg.md): part 1 (VPN against session 28's VP, box drawn), part 2 (the gates) and part 3
(k = 2 children with and without the claims). Usage:

    PYTHONPATH=. python bench/results/exp-session29/table.py
"""
import json
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "exp-session28"))
from table import group_of, mean, todays  # session 28: group names, each child's figures  # noqa: E402
from table import rows as session28_rows  # session 28: an arm's rows, one per child  # noqa: E402

from model.evaluation.calibration import SWEEP  # noqa: E402


def rows(name: str) -> list[dict]:
    path = HERE / name
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def grouped(arm: str, deciding: str) -> dict[str, list]:
    """An arm's rows per group, and the deciding ones (not droplets, the arm's own k) under `deciding` too."""
    groups = defaultdict(list)
    arm_rows = [row for row in rows("rows.jsonl") if row["arm"] == arm]
    decided_k = min((row["k"] for row in arm_rows), default=None)
    for row in arm_rows:
        groups[group_of(row)].append(row)
        if row["k"] == decided_k and row["set"] != "droplets":
            groups[deciding].append(row)
    return groups


def arm_table(groups: dict[str, list], columns: dict[str, str]) -> str:
    """One row per group: its size and, per column `{title: row key}`, the mean of that key (a sum for "gate")."""
    lines = ["| group | n | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    for name in sorted(groups):
        got = groups[name]
        cells = [str(sum(r[key] for r in got)) if key == "gate" else f"{mean(r[key] for r in got):.4f}"
                 for key in columns.values()]
        lines.append(f"| {name} | {len(got)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def part1() -> str:
    return arm_table(grouped("VPN", "deciding 48"), {"VP: box": "vp", "VPN: box": "box"})


def at(sweep: list | None, thresholds: list, value: float) -> float | None:
    """A sweep's effort at `value` (the nearest threshold)."""
    if sweep is None:
        return None
    return sweep[min(range(len(thresholds)), key=lambda i: abs(thresholds[i] - value))]


def held_out(version: dict, thresholds: list, network: float, scoring: str, claims: str) -> float:
    """A version's held-out effort as a gate reads it: the mean over the modes judged of the drawn mode (through the
    verifier at 0.6 when `scoring` is "verifier", else at `network`) and the bank mode at `network`."""
    drawn = at(version[scoring][claims], thresholds, VERIFIER_THRESHOLD if scoring == "verifier" else network)
    bank = at(version["bank"], thresholds, network)
    values = [v for v in (drawn, bank) if v is not None]
    return sum(values) / len(values)


VERIFIER_THRESHOLD = 0.6
"""The default's (and so every kept child's) `detection_verifier_threshold`: GV reads the drawn mode there."""
GATES = {"G0 (network, claims on)": ("network", "on"), "G13 (network, claims off)": ("network", "off"),
         "GV (verifier, claims off)": ("verifier", "off")}


def part2() -> str:
    vpn = {(r["set"], r["seed"], r["k"]): r for r in rows("rows.jsonl") if r["arm"] == "VPN"}
    vp, pc0 = ({(r["set"], r["seed"], r["k"]): r for r in session28_rows(arm)} for arm in ("VP", "PC0"))
    base = todays()
    groups = defaultdict(list)
    for row in rows("gate.jsonl"):
        key = (row["set"], row["seed"], row["k"])
        child_box = (vpn.get(key) or vp[key])["box"]  # droplets: one label, VPN = VP
        child = (child_box + base[key][2]) / 2  # its bank figure as session 26 left it (session 28's tables)
        # droplets (report): PC0 was not measured there, so the parent's served figure is unknown (nan)
        parent_box = pc0[key]["off"] if key in pc0 else float("nan")
        parent = (parent_box + row["parent_bank"]["errors_per_instance"]) / 2
        got = {"child": child, "parent": parent, "oracle": min(child, parent)}
        # a slice with no drawn trial names no sweep: the calibration sweep (0.85 is in it)
        thresholds = row["slice"]["child"]["thresholds"] or row["slice"]["parent"]["thresholds"] or list(SWEEP)
        for name, (scoring, claims) in GATES.items():
            mine = held_out(row["slice"]["child"], thresholds, row["child_threshold"], scoring, claims)
            theirs = held_out(row["slice"]["parent"], thresholds, row["parent_threshold"], scoring, claims)
            got[name] = child if mine <= theirs else parent
            got[name + " allows"] = mine <= theirs
        group = group_of(row)
        groups[group].append(got)
        if row["k"] == 5 and row["set"] != "droplets":
            groups["deciding 48"].append(got)
    names = ["child", "parent", *GATES, "oracle"]
    lines = ["| group | n | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for name in sorted(groups):
        got = groups[name]
        cells = []
        for column in names:
            cell = f"{mean(g[column] for g in got):.4f}"
            if column in GATES:
                cell += f" ({sum(g[column + ' allows'] for g in got)} allowed)"
            cells.append(cell)
        lines.append(f"| {name} | {len(got)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def part3() -> str:
    """Part 3: fresh k = 2 children of v13, box drawn, claims off (as trained) and on (K2C)."""
    return arm_table(grouped("K2", "deciding 24"), {"claims off (as trained)": "off", "K2C: claims on": "on",
                                                    "gate allows": "gate"})


if __name__ == "__main__":
    print(part1())
    print()
    print("Part 2 (served errors per instance, mean of the two modes):")
    print()
    print(part2())
    print()
    print("Part 3 (fresh k = 2 children, box drawn):")
    print()
    print(part3())
