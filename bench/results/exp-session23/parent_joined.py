"""Session 23 part 2 (prereg.md): the shipped parent v7, untrained, with a box drawn, the accepted images' exemplars
sent with each box (claims on, as its card has them), without (arm `alone`) and with its own label's bank joining
the answer (arm `joined`, `detection_drawn_bank`), at the card's threshold and over the sweep (session 22's
`parent_drawn_bank.drawn`). Usage:

    PYTHONPATH=. python bench/results/exp-session23/parent_joined.py OUTDIR SET:SEED:K [SET:SEED:K ...]

OUTDIR receives a copy of the shipped checkpoint with the option on. Appends `{"set", "seed", "k", "arm",
"threshold", "at", "recall", "precision", "sweep"}` to bench/results/exp-session23/parent_rows.jsonl.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session22"))
from parent_drawn_bank import main

ROWS = Path(__file__).parent / "parent_rows.jsonl"

if __name__ == "__main__":
    main(ROWS)
