"""Session 30's tables (prereg.md): part 1, the gate per mode (PM) against the gate as it is (G13), and part 2,
children of one image leaving drawn boxes to their parent (P1) against today (P0), as served; part 3, the child's
cut on its parent's verifier (CV), box drawn.

    PYTHONPATH=. python bench/results/exp-session30/gate_table.py
"""
import importlib.util
import json
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).parent


def _session29():
    """Session 29's table module (loaded under its own name: it imports session 28's `table`)."""
    spec = importlib.util.spec_from_file_location("session29_table", HERE.parent / "exp-session29" / "table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


S29 = _session29()
VERIFIER_THRESHOLD = S29.VERIFIER_THRESHOLD
COLUMNS = ("child", "parent", "G13", "PM", "PM-V", "oracle")
MODES = ("box", "bank")


def rows() -> list[dict]:
    """This session's rows (`rows.jsonl` here: the PM, P1 and part 3's k = 5 PM children)."""
    path = HERE / "rows.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def judged(row: dict, version: str) -> dict[str, float]:
    """`{"box", "bank"}`: a fresh row's errors per instance of `version` ("child" or "parent") on the judged images."""
    return {"box": row[version]["interactive"]["errors_per_instance"],
            "bank": row[version]["bank"]["errors_per_instance"]}


def served(choice: dict[str, str], child: dict[str, float], parent: dict[str, float]) -> float:
    """Errors per instance as served, mean of the two modes, each from the version `choice` names for it."""
    return sum((child if choice[mode] == "child" else parent)[mode] for mode in MODES) / len(MODES)


def per_mode(child: dict[str, float | None], parent: dict[str, float | None]) -> dict[str, str]:
    """PM: each mode to the child iff its held-out effort there is not higher than the parent's (or nothing was
    judged in that mode)."""
    return {mode: "child" if child[mode] is None or parent[mode] is None or child[mode] <= parent[mode] else "parent"
            for mode in MODES}


def whole(child: dict[str, float | None], parent: dict[str, float | None]) -> dict[str, str]:
    """G13: both modes to the child iff the mean of its judged modes is not higher than the parent's."""
    def mean_of(figures):
        values = [v for v in figures.values() if v is not None]
        return sum(values) / len(values) if values else None

    mine, theirs = mean_of(child), mean_of(parent)
    winner = "child" if mine is None or theirs is None or mine <= theirs else "parent"
    return dict.fromkeys(MODES, winner)


def stored_k5() -> list[dict]:
    """The 48 deciding k = 5 children of session 29 part 2 (and its droplets, reported), with each mode's held-out
    effort (G13's inputs) and judged errors per instance for child and parent."""
    vpn = {(r["set"], r["seed"], r["k"]): r for r in S29.rows("rows.jsonl") if r["arm"] == "VPN"}
    vp, pc0 = ({(r["set"], r["seed"], r["k"]): r for r in S29.session28_rows(arm)} for arm in ("VP", "PC0"))
    base = S29.todays()
    out = []
    for row in S29.rows("gate.jsonl"):
        key = (row["set"], row["seed"], row["k"])
        thresholds = row["slice"]["child"]["thresholds"] or row["slice"]["parent"]["thresholds"] or list(S29.SWEEP)
        slices = {}
        for name, version, network in (("child", row["slice"]["child"], row["child_threshold"]),
                                       ("parent", row["slice"]["parent"], row["parent_threshold"])):
            slices[name] = {"box": S29.at(version["network"]["off"], thresholds, network),
                            "bank": S29.at(version["bank"], thresholds, network)}
            slices[name + "-V"] = {"box": S29.at(version["verifier"]["off"], thresholds, VERIFIER_THRESHOLD),
                                   "bank": slices[name]["bank"]}
        parent_box = pc0[key]["off"] if key in pc0 else float("nan")
        out.append({"set": row["set"], "seed": row["seed"], "k": row["k"], "slices": slices,
                    "child": {"box": (vpn.get(key) or vp[key])["box"], "bank": base[key][2]},
                    "parent": {"box": parent_box, "bank": row["parent_bank"]["errors_per_instance"]}})
    return out


def fresh() -> list[dict]:
    """Part 1's fresh children (`per_mode.py`, k = 2), in the same shape."""
    out = []
    for row in rows():
        if row["arm"] != "PM" or row["k"] != 2:  # part 3's k = 5 children are PM rows too (per_mode.py)
            continue
        slices = {}
        for name, key in (("child", "new"), ("parent", "parent")):
            modes = ((row["holdout"] or {}).get(key) or {}).get("modes") or {}
            slices[name] = {"box": (modes.get("interactive") or {}).get("effort"),
                            "bank": (modes.get("bank") or {}).get("effort")}
        out.append({"set": row["set"], "seed": row["seed"], "k": row["k"], "slices": slices,
                    "child": judged(row, "child"), "parent": judged(row, "parent")})
    return out


def figures(child: dict) -> dict:
    """One child's served figures per column, and which modes PM gives the child."""
    s, c, p = child["slices"], child["child"], child["parent"]
    pm = per_mode(s["child"], s["parent"])
    got = {"child": served(dict.fromkeys(MODES, "child"), c, p), "parent": served(dict.fromkeys(MODES, "parent"), c, p),
           "G13": served(whole(s["child"], s["parent"]), c, p), "PM": served(pm, c, p),
           "oracle": sum(min(c[m], p[m]) for m in MODES) / len(MODES), "pm_modes": pm}
    if "child-V" in s:
        got["PM-V"] = served(per_mode(s["child-V"], s["parent-V"]), c, p)
    return got


GROUPS = {"sessions": "sessions", "sessions-packed": "sessions-packed", "coco128": "coco128 + synthetic",
          "synthetic": "coco128 + synthetic", "sessions-cut": "sessions-cut", "droplets": "droplets (report)"}


def part1() -> str:
    groups = defaultdict(list)
    for child in stored_k5() + fresh():
        got = figures(child)
        groups[GROUPS[child["set"]]].append(got)
        groups[f"{GROUPS[child['set']]} k={child['k']}"].append(got)
        if child["set"] != "droplets":
            groups["deciding"].append(got)
            groups[f"deciding k={child['k']}"].append(got)
    lines = ["| group | n | " + " | ".join(COLUMNS) + " | PM: child draws / child's bank |",
             "|---|---|" + "---|" * (len(COLUMNS) + 1)]
    for name in sorted(groups):
        got = groups[name]
        cells = []
        for column in COLUMNS:
            values = [g[column] for g in got if column in g]
            cells.append(f"{sum(values) / len(values):.4f}" if values else "")
        draws = sum(g["pm_modes"]["box"] == "child" for g in got)
        banks = sum(g["pm_modes"]["bank"] == "child" for g in got)
        lines.append(f"| {name} | {len(got)} | " + " | ".join(cells) + f" | {draws} / {banks} |")
    return "\n".join(lines)


def part2() -> str:
    """Part 2: children of one accepted image; P0 (the child serves both modes) against P1 (the parent keeps drawn
    boxes where, on the accepted image, its drawn effort as served is not higher than the child's) and P1-N (the
    same comparison on network scores, a report)."""
    groups = defaultdict(list)
    for row in rows():
        if row["arm"] != "P1":
            continue
        child, parent = judged(row, "child"), judged(row, "parent")
        got = {"P0": served(dict.fromkeys(MODES, "child"), child, parent),
               "parent": served(dict.fromkeys(MODES, "parent"), child, parent),
               "oracle": (min(child["box"], parent["box"]) + child["bank"]) / 2}
        for arm, how in (("P1", "served"), ("P1-N", "network")):
            own = row["own"][how]
            keeps = (own["parent"]["effort"] is not None and own["child"]["effort"] is not None
                     and own["parent"]["effort"] <= own["child"]["effort"])
            got[arm] = served({"box": "parent" if keeps else "child", "bank": "child"}, child, parent)
            got[arm + " keeps"] = keeps
        groups[GROUPS[row["set"]]].append(got)
        groups["deciding"].append(got)
    columns = ("P0", "parent", "P1", "P1-N", "oracle")
    lines = ["| group | n | " + " | ".join(columns) + " | parent draws (P1 / P1-N) |",
             "|---|---|" + "---|" * (len(columns) + 1)]
    for name in sorted(groups):
        got = groups[name]
        cells = [f"{sum(g[c] for g in got) / len(got):.4f}" for c in columns]
        lines.append(f"| {name} | {len(got)} | " + " | ".join(cells)
                     + f" | {sum(g['P1 keeps'] for g in got)} / {sum(g['P1-N keeps'] for g in got)} |")
    return "\n".join(lines)


DEFAULT_CUT = 0.6
"""The parent's verifier threshold, which every child carries today."""
TIE = 0.005
"""Part 3's near tie when choosing T*: within it, the higher cut (suggest less)."""


def _sweeps(rows: list[dict]) -> tuple[list[float], list[list[float]]]:
    thresholds = rows[0]["child"]["sweep"]["thresholds"]
    assert all(r["child"]["sweep"]["thresholds"] == thresholds for r in rows)
    return thresholds, [r["child"]["sweep"]["interactive"] for r in rows]


def choose_cut(rows: list[dict]) -> float:
    """T*: the sweep value with the lowest mean box-drawn errors over `rows`, near ties (`TIE`) to the higher."""
    thresholds, sweeps = _sweeps(rows)
    means = [sum(s[i] for s in sweeps) / len(sweeps) for i in range(len(thresholds))]
    best = min(means)
    return max(t for t, m in zip(thresholds, means, strict=True) if m <= best + TIE)


def at_cut(row: dict, cut: float) -> float:
    thresholds = row["child"]["sweep"]["thresholds"]
    return row["child"]["sweep"]["interactive"][thresholds.index(cut)]


def part3() -> str:
    """Part 3: T* chosen on part 1 and 2's fresh children; box-drawn errors at 0.6 and at T* per group."""
    every = rows()
    chooser = [r for r in every if (r["arm"], r["k"]) in (("PM", 2), ("P1", 1))]
    confirm = [r for r in every if r["arm"] == "PM" and r["k"] == 5]
    cut = choose_cut(chooser)
    groups = defaultdict(list)
    for name, chosen in (("chosen on (k = 1, 2)", chooser), ("deciding (k = 5)", confirm)):
        for row in chosen:
            groups[f"{name}: {GROUPS[row['set']]}"].append(row)
            groups[f"{name}: all"].append(row)
    lines = [f"T* = {cut:g} (chosen on {len(chooser)} children)", "",
             f"| group | n | at {DEFAULT_CUT:g} | at T* = {cut:g} |", "|---|---|---|---|"]
    for name in sorted(groups):
        got = groups[name]
        lines.append(f"| {name} | {len(got)} | {sum(at_cut(r, DEFAULT_CUT) for r in got) / len(got):.4f} | "
                     f"{sum(at_cut(r, cut) for r in got) / len(got):.4f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print("Part 1 (served errors per instance, mean of the two modes):\n")
    print(part1())
    print("\nPart 2 (children of one accepted image, served errors per instance, mean of the two modes):\n")
    print(part2())
    print("\nPart 3 (box-drawn errors per instance, the child's cut on its parent's verifier):\n")
    print(part3())
