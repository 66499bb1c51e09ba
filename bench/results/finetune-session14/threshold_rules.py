"""Session 14: threshold rules re-examined offline on the kept children (prereg.md, "Threshold rule, re-examined").
Each child's held-out sweeps (its card) choose a threshold by each rule; its judged sweeps (the measure's rows)
score it. No model runs.

    PYTHONPATH=. .venv/bin/python bench/results/finetune-session14/threshold_rules.py
"""
import json
import statistics
from pathlib import Path

from model.evaluation.calibration import choose_threshold, tie_for

HERE = Path(__file__).parent
SOURCES = {  # parent: (measure rows, the children's cards)
    "v7": (HERE.parent / "finetune-session13" / "children.json", Path("runs/s13/children")),
    "lite1": (HERE / "lite1-children.jsonl", Path("runs/s14/lite-children")),
}


def _rows(path: Path) -> list[dict]:
    text = path.read_text()
    return json.loads(text) if path.suffix == ".json" else [json.loads(line) for line in text.splitlines()]


# Each rule: (thresholds, held-out efforts per mode, the slice's tie margin) -> the threshold it takes.
RULES = {
    "current (highest tie)": lambda th, ef, tie: choose_threshold(th, ef, tie=tie).threshold,
    "middle tie": lambda th, ef, tie: sorted(ties := choose_threshold(th, ef, tie=tie).ties())[len(ties) // 2],
    "lowest tie": lambda th, ef, tie: min(choose_threshold(th, ef, tie=tie).ties()),
    "ties within 0.005 only": lambda th, ef, tie: choose_threshold(th, ef).threshold,
}


def main() -> None:
    scores = {rule: {} for rule in RULES}
    for parent, (rows_path, cards) in SOURCES.items():
        for row in _rows(rows_path):
            card = json.loads((cards / f"{row['set']}-s{row['seed']}-k{row['k']}.card.json").read_text())
            held = card["metrics"]["holdout_sweeps"]["new"]
            thresholds = card["metrics"]["calibration"]["thresholds"]
            instances = max(m["instances"] for m in card["metrics"]["holdout"]["new"]["modes"].values())
            judged = row["sweep"]
            for rule, choose in RULES.items():
                t = choose(thresholds, held, tie_for(instances))
                at = judged["thresholds"].index(t)
                scores[rule][(parent, row["set"], row["seed"], row["k"])] = (
                    t, judged["interactive"][at], judged["bank"][at])
    print("mean judged errors per instance, box / bank / mean of both")
    groups = {"allowed, pooled": lambda key: key[1] != "droplets",
              "allowed, v7 children": lambda key: key[1] != "droplets" and key[0] == "v7",
              "allowed, lite1 children": lambda key: key[1] != "droplets" and key[0] == "lite1",
              "droplets, v7 children (reported)": lambda key: key[1] == "droplets" and key[0] == "v7",
              "droplets, lite1 children (reported)": lambda key: key[1] == "droplets" and key[0] == "lite1"}
    for group, keep in groups.items():
        print(group)
        for rule, table in scores.items():
            picked = [v for k, v in table.items() if keep(k)]
            box = statistics.mean(v[1] for v in picked)
            bank = statistics.mean(v[2] for v in picked)
            print(f"  {rule:24s} {box:.3f} / {bank:.3f} / {(box + bank) / 2:.3f}  (n={len(picked)})")

    one_label()


def one_label() -> None:
    """The secondary analysis: v7's children under one label per object (session 13's arms.jsonl, arm `pooled+x`,
    float32), their re-judged held-out sweeps choosing."""
    arms = HERE.parent / "finetune-session13" / "arms.jsonl"
    rows = [r for r in _rows(arms) if r["arm"] == "pooled+x" and r["which"] == "child"]
    print("secondary: v7 children, one label per object (float32; droplets have one label, so it changes nothing)")
    for group, keep in (("allowed", lambda r: r["set"] != "droplets"),):
        print(group)
        for rule, choose in RULES.items():
            picked = []
            for row in (r for r in rows if keep(r)):
                calibration = row["calibration"]
                thresholds = calibration["thresholds"]
                at = thresholds.index(choose(thresholds, calibration["efforts"], calibration["tie_effort"]))
                picked.append((row["box_sweep"][at], row["bank_sweep"][at]))
            box, bank = statistics.mean(v[0] for v in picked), statistics.mean(v[1] for v in picked)
            print(f"  {rule:24s} {box:.3f} / {bank:.3f} / {(box + bank) / 2:.3f}  (n={len(picked)})")


if __name__ == "__main__":
    main()
