"""Session 17, part 2: the three droplet k = 10 children of `runs/s17-shiftC` were made after the recipe's default
had become `shifted_calibration=True`, so their own threshold is already arm R's. Arm C is what the held-out slice
alone chose, which their cards record (`training.score_threshold.slice_only`); this rewrites C off the judged sweep
at that threshold. Rows of children made with the slice alone are left as they are. Usage:

    python bench/results/exp-session17/arm_c_fix.py RAW.jsonl CARDS_DIR OUT.jsonl
"""
import json
import sys
from pathlib import Path

from shift_children import at


def main():
    raw, cards, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    with open(out, "w") as sink:
        for line in raw.read_text().splitlines():
            row = json.loads(line)
            card = json.loads((cards / f"{row['set']}-s{row['seed']}-k{row['k']}.card.json").read_text())
            if card["training"]["settings"].get("shifted_calibration"):
                row["C"] = at(row["sweep"], card["training"]["score_threshold"]["slice_only"])
                row["C_from"] = "card slice_only (child made with shifted_calibration on)"
            sink.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
