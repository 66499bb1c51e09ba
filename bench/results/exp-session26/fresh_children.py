"""Session 26 part 2 (prereg.md): fresh one-run children of today's recipe (session 23's `fresh_children.py`, arm CL
rows with the judged sweep) written to rows.jsonl here; each child's card (its frame step) is saved beside it.
Usage:

    PYTHONPATH=. python bench/results/exp-session26/fresh_children.py PARENT OUTDIR SET:SEED:K [SET:SEED:K ...]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session23"))
import fresh_children as session23

if __name__ == "__main__":
    session23.ROWS = Path(__file__).parent / "rows.jsonl"
    session23.main()
