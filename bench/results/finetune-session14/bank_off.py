"""Session 14: the bank-off rule (prereg.md, "the bank says nothing where it does not pay") scored offline on session
13's kept children: their held-out sweeps (cards) choose, their judged sweeps (children.json) score.

    PYTHONPATH=. .venv/bin/python bench/results/finetune-session14/bank_off.py runs/s13/children
"""
import json
import sys
from pathlib import Path

from model.evaluation.calibration import choose_threshold, tie_for

NOTHING = 1.0
ROWS = Path(__file__).parents[1] / "finetune-session13" / "children.json"


def judged_at(row, mode, threshold):
    sweep = row["sweep"]
    return sweep[mode][sweep["thresholds"].index(threshold)]


def main(children_dir: Path) -> None:
    rows = json.loads(ROWS.read_text())
    table = {"none": {}, "A": {}, "B": {}}
    for row in rows:
        card = json.loads((children_dir / f"{row['set']}-s{row['seed']}-k{row['k']}.card.json").read_text())
        held = card["metrics"]["holdout_sweeps"]["new"]
        thresholds = card["metrics"]["calibration"]["thresholds"]
        instances = max(m["instances"] for m in card["metrics"]["holdout"]["new"]["modes"].values())
        tie = tie_for(instances)
        today = choose_threshold(thresholds, held, tie=tie).threshold
        capped = {m: [min(e, NOTHING) if m == "bank" else e for e in v] for m, v in held.items()}
        b = choose_threshold(thresholds, capped, tie=tie).threshold
        key = (row["set"], row["seed"], row["k"])
        for name, t in (("none", today), ("A", today), ("B", b)):
            bank_held = held["bank"][thresholds.index(t)]
            off = name != "none" and bank_held >= NOTHING
            box = judged_at(row, "interactive", t)
            bank = NOTHING if off else judged_at(row, "bank", t)
            table[name][key] = (t, off, box, bank)
    for name, rows_ in table.items():
        print(f"rule {name}")
        for key, (t, off, box, bank) in rows_.items():
            print(f"  {key}: t {t} bank {'off' if off else 'on '} box {box:.3f} bank {bank:.3f}")
        for group, sets in (("synthetic+coco128", ("synthetic", "coco128")), ("droplets", ("droplets",))):
            vals = [(box + bank) / 2 for key, (_, _, box, bank) in rows_.items() if key[0] in sets]
            boxes = [box for key, (_, _, box, _) in rows_.items() if key[0] in sets]
            banks = [bank for key, (_, _, _, bank) in rows_.items() if key[0] in sets]
            print(f"  {group}: mean of both modes {sum(vals) / len(vals):.4f} (box {sum(boxes) / len(boxes):.4f}, "
                  f"bank {sum(banks) / len(banks):.4f}, {len(vals)} children)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
