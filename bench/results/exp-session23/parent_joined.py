"""Session 23 part 2 (prereg.md): the shipped parent v7, untrained, with a box drawn, the accepted images' exemplars
sent with each box (claims on, as its card has them), without (arm `alone`) and with its own label's bank joining
the answer (arm `joined`, `detection_drawn_bank`), at the card's threshold and over the sweep (session 22's
`parent_drawn_bank.drawn`). Usage:

    PYTHONPATH=. python bench/results/exp-session23/parent_joined.py OUTDIR SET:SEED:K [SET:SEED:K ...]

OUTDIR receives a copy of the shipped checkpoint with the option on. Appends `{"set", "seed", "k", "arm",
"threshold", "at", "recall", "precision", "sweep"}` to bench/results/exp-session23/parent_rows.jsonl.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session22"))
sys.path.insert(0, str(Path(__file__).parents[1] / "finetune-session14"))
from children import args_for
from parent_drawn_bank import SHIPPED, drawn, with_drawn_bank

from bench.effort_curve import load_split

ROWS = Path(__file__).parent / "parent_rows.jsonl"


def main():
    joined = with_drawn_bank(Path(sys.argv[1]))
    for spec in sys.argv[2:]:
        name, seed, k = spec.split(":")
        split = load_split(name, args_for(int(seed)), 10)
        accepted = split.accepted(int(k))
        for arm, weights in (("alone", SHIPPED), ("joined", joined)):
            row = {"set": name, "seed": int(seed), "k": int(k), "arm": arm, **drawn(weights, split.judged, accepted)}
            with open(ROWS, "a") as sink:
                sink.write(json.dumps(row) + "\n")
            print(row["set"], seed, k, arm, row["threshold"], row["at"], flush=True)


if __name__ == "__main__":
    main()
