"""Session 18 (prereg.md): fresh children of today's recipe with `acquisition_shift` on (arm A), measured on the
curve's judged images at the threshold the recipe chose. Usage:

    PYTHONPATH=. python bench/results/exp-session18/acq_children.py PARENT OUTDIR SET:SEED:K [SET:SEED:K ...]

Appends to OUTDIR/acq.jsonl per child `{"set", "seed", "k", "steps", "gate", "threshold", "slice_only", "A":
{threshold, interactive, bank}, "oracle", "sweep", "holdout_sweeps", "seconds"}` (errors per instance; the bank as
`bench.effort_curve.measure` counts it, whatever the child's bank decision).
"""
import json
import logging
import sys
import time
from pathlib import Path

from bench.effort_curve import measure

sys.path.insert(0, str(Path(__file__).parents[1] / "finetune-session14"))
sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session17"))
from children import each_child  # session 14's loop over the children asked for (the curve's splits)
from shift_children import at  # session 17's read-off of a judged sweep at a threshold


def main():
    from model.training.finetune import FineTuneSettings, finetune

    for parent, out, spec, name, seed, k, split, accepted, path in each_child(sys.argv[1:]):
        started = time.monotonic()
        result = finetune(parent, accepted, path, f"s18-{name}-s{seed}-k{k}",
                          FineTuneSettings(seed=seed, max_steps=150, time_budget_s=900, acquisition_shift=True))
        measured = measure(result.weights_path, split.judged, accepted)
        sweep = measured["sweep"]
        record = result.card.training["score_threshold"]
        row = {"set": name, "seed": seed, "k": k, "steps": result.steps, "gate": result.effort_gate()[0],
               "train_seconds": result.card.training["train_seconds"],
               "threshold": measured["threshold"], "slice_only": record.get("slice_only"),
               "frame": result.card.training["frame_convention"].get("skip"),
               "bank_answers": result.card.training["bank_answers"]["value"],
               "A": at(sweep, measured["threshold"]),
               "oracle": {mode: min(sweep[mode]) for mode in ("interactive", "bank") if mode in sweep},
               "sweep": sweep, "holdout_sweeps": result.card.metrics["holdout_sweeps"]}
        row["seconds"] = round(time.monotonic() - started, 1)
        with open(out / "acq.jsonl", "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE %s: A %s", spec, row["A"])


if __name__ == "__main__":
    main()
