"""Session 24 part 1 (prereg.md): fresh children re-judged and re-calibrated by the recipe's steps 3-6 with today's
defaults, with the child's reference gate off (arm G0), its drawn boxes' suggestions capped at twice their size
(arm C), both (arm GC) or as the child has it (arm CL, the check that re-judging gives the training-time row), then measured on the curve's judged images in both modes at that threshold
(`bench.effort_curve.measure`). Usage:

    PYTHONPATH=. python bench/results/exp-session24/gate_children.py OUTDIR ARM SET:SEED:K [SET:SEED:K ...]

Appends `{"arm", "set", "seed", "k", "threshold", "bank_answers", "frame", "at", "oracle", "sweep",
"holdout_sweeps", "calibration", "seconds"}` to bench/results/exp-session24/rows.jsonl.
"""
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session20"))
sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session22"))
from runs_children import each_child
from seeded_claims import judged_again, measured_row  # session 22's re-judging and row

ROWS = Path(__file__).parent / "rows.jsonl"
ARMS = {"CL": {}, "G0": {"detection_reference_gate": 0.0}, "C": {"detection_size_cap": 2.0},
        "GC": {"detection_reference_gate": 0.0, "detection_size_cap": 2.0}}
"""Each arm's changes to the child's config before it is judged (part 2's arms C and GC: the size cap)."""


def main():
    from model.checkpoint import load_checkpoint, save_checkpoint

    out_dir, arm = sys.argv[1], sys.argv[2]
    assert arm in ARMS
    for _, out, spec, name, seed, k, split, accepted, path in each_child(["-", out_dir, *sys.argv[3:]]):
        started = time.monotonic()
        stem = path.name.removesuffix(".weights.h5")
        model, card = load_checkpoint(path)
        model, judgement, calibration, bank, frame = judged_again(model, card, ARMS[arm], seed, accepted, "s24")
        saved = save_checkpoint(model, out / f"{stem}.s24-{arm}.weights.h5", card)
        del model
        row = measured_row(arm, name, seed, k, saved, split, accepted, bank, calibration, judgement, started,
                           frame=frame.get("skip"))
        with open(ROWS, "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE %s %s: %s", arm, spec, row["at"])


if __name__ == "__main__":
    main()
