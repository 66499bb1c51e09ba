"""Session 13: fine-tune and KEEP children of the shipped checkpoint (recipe defaults, 150 steps), measure them as
bench.effort_curve does. Session 14's `children.py` is the same script with the parent as an argument; this runs it
with v7 (as session 13 did; session 13's rows went to runs/s13/children.jsonl, this writes runs/s13/children/
children.jsonl).

    PYTHONPATH=. .venv/bin/python bench/results/finetune-session13/children.py SET:SEED:K [SET:SEED:K ...]
"""
import runpy
import sys
from pathlib import Path

from bench.learning_curve import SHIPPED_CHECKPOINT

if __name__ == "__main__":
    sys.argv = [sys.argv[0], str(SHIPPED_CHECKPOINT), "runs/s13/children", *sys.argv[1:]]
    runpy.run_path(str(Path(__file__).parents[1] / "finetune-session14" / "children.py"), run_name="__main__")
