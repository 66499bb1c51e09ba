"""Session 25 part 2 (prereg.md): the recipe's threshold chosen by other rules, read off exactly from kept children.

Each rule picks a threshold from the child's card (`metrics.calibration`: the sweep over the held-out slice and its
shifted copies, both modes; `metrics.holdout`: the slice's instances) and step 6 is decided again there from the
card's held-out bank sweep; the child's judged errors per instance at that threshold come from its row (session 24's
`rows.jsonl`, arm CL, or this session's rows for arm FT children: the judged sweep in both modes). Usage:

    python bench/results/exp-session25/threshold_rules.py [--arm CL|FT|FM] [--cards DIR] [--fresh|--kept]

Prints per child and per group the threshold and (box drawn, bank, mean) under rules today / W / F, and writes
`threshold_rules.json` beside this script.
"""
import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).parent
MEASURED = HERE / "bank_measured.json"
"""Banks measured at a rule's threshold where the row had measured them off (`bank_at.py`): `{"ARM:STEM:T": errors}`."""
ROWS = [HERE.parent / "exp-session24" / "rows.jsonl", HERE / "rows.jsonl"]
FIXED = 0.7
NOTHING = 1.0
FIRST_FRESH_SEED = {"sessions": 40, "sessions-packed": 40, "coco128": 2, "synthetic": 2, "droplets": 6}
"""Part 3's fresh children (trained this session) have these seeds and above; `--fresh` / `--kept` keep one kind."""
GROUPS = {"sessions": ("sessions",), "packed": ("sessions-packed",), "allowed4": ("coco128", "synthetic"),
          "droplets": ("droplets",)}


def pick(thresholds, efforts, tie):
    """Today's `choose_threshold` (tie break "middle") with ties within `tie` of the lowest mean effort."""
    from model.evaluation.calibration import choose_threshold

    return choose_threshold(thresholds, efforts, tie=tie, tie_break="middle").threshold


def rules(card):
    cal, holdout = card["metrics"]["calibration"], card["metrics"]["holdout"]["new"]
    thresholds, efforts, tie = cal["thresholds"], cal["efforts"], cal["tie_effort"]
    n = holdout["modes"]["bank"]["instances"]
    wide = max(tie, math.sqrt(max(min(cal["mean_effort"]), 0.0) / n))
    return {"today": pick(thresholds, efforts, tie), "W": pick(thresholds, efforts, wide), "F": FIXED,
            "W2": pick_where_bank_pays(card, thresholds, efforts, wide)}


def pick_where_bank_pays(card, thresholds, efforts, tie):
    """Rule W2 (written after part 2's figures, decided on fresh children): W's ties, narrowed to the thresholds
    where step 6 says the bank pays when there are any; the middle one."""
    from model.evaluation.calibration import _tied

    mean = [sum(values) / len(values) for values in zip(*efforts.values(), strict=True)]
    tied = sorted(thresholds[i] for i in _tied(mean, tie))
    paying = [t for t in tied if bank_pays(card, t)]
    chosen = paying or tied
    return chosen[len(chosen) // 2]


def bank_pays(card, threshold):
    sweep = card["metrics"]["holdout_sweeps"]["new"]["bank"]
    thresholds = card["metrics"]["calibration"]["thresholds"]
    return sweep[thresholds.index(threshold)] < NOTHING


def main():
    argv = sys.argv[1:]
    arm = argv[argv.index("--arm") + 1] if "--arm" in argv else "CL"
    dirs = [Path(argv[argv.index("--cards") + 1])] if "--cards" in argv else [Path("runs/s24"), Path("runs/s25")]
    rows = {}
    for path in ROWS:
        if path.exists():
            for line in path.read_text().splitlines():
                row = json.loads(line)
                if row["arm"] == arm:
                    rows.setdefault((row["set"], row["seed"]), row)
    out, by_group = [], {}
    if "--fresh" in argv or "--kept" in argv:
        fresh = "--fresh" in argv
        rows = {key: row for key, row in rows.items() if (key[1] >= FIRST_FRESH_SEED[key[0]]) is fresh}
    measured = json.loads(MEASURED.read_text()) if MEASURED.exists() else {}
    for (name, seed), row in sorted(rows.items()):
        stem = f"{name}-s{seed}-k{row['k']}"
        card_name = f"{stem}.card.json" if arm == "CL" else f"{stem}.s25-{arm}.card.json"
        card_path = next((d / card_name for d in dirs if (d / card_name).exists()), dirs[0] / card_name)
        card = json.loads(card_path.read_text())
        if arm != "CL":  # the re-judged child's calibration is in its row, its held-out sweeps too
            card["metrics"]["calibration"] = row["calibration"]
            card["metrics"]["holdout_sweeps"]["new"] = row["holdout_sweeps"]
        sweep = row["sweep"]
        picks = rules(card)
        assert picks["today"] == row["threshold"], (stem, picks["today"], row["threshold"])
        assert bank_pays(card, row["threshold"]) == row["bank_answers"], stem
        result = {"set": name, "seed": seed}
        for rule, t in picks.items():
            i = sweep["thresholds"].index(t)
            bank_on = bank_pays(card, t)
            # None: the row measured the bank off where this rule turns it on, so it must be measured (prereg)
            bank = None if bank_on and not row["bank_answers"] else sweep["bank"][i] if bank_on else NOTHING
            if bank is None:  # measured since by bank_at.py
                bank = measured.get(f"{arm}:{stem}:{t}")
            box = sweep["interactive"][i]
            result[rule] = {"t": t, "box": box, "bank": bank, "bank_on": bank_on,
                            "mean": None if bank is None else (box + bank) / 2}
        out.append(result)
        group = next(g for g, sets in GROUPS.items() if name in sets)
        by_group.setdefault(group, []).append(result)
        print(stem, " ".join(f"{r}@{result[r]['t']}: {result[r]['box']:.3f}/{result[r]['bank']}" for r in picks))
    summary = {}
    for group, results in list(by_group.items()) + [("allowed20", [r for g in ("sessions", "packed", "allowed4")
                                                                    for r in by_group.get(g, [])])]:
        summary[group] = {}
        for rule in ("today", "W", "F", "W2"):
            means = [r[rule]["mean"] for r in results]
            boxes = [r[rule]["box"] for r in results]
            banks = [r[rule]["bank"] for r in results]
            summary[group][rule] = None if None in means else {
                "n": len(results), "mean": round(sum(means) / len(means), 4), "box": round(sum(boxes) / len(boxes), 4),
                "bank": round(sum(banks) / len(banks), 4)}
        print(group, json.dumps(summary[group]))
    kind = "-fresh" if "--fresh" in argv else "-kept" if "--kept" in argv else ""
    (HERE / f"threshold_rules-{arm}{kind}.json").write_text(json.dumps({"children": out, "summary": summary}, indent=1))


if __name__ == "__main__":
    main()
