"""Session 20 (prereg.md): children of today's recipe with two full runs averaged (arm R2: `runs = 2`,
`max_steps = 300`, so each run takes the 150 steps of today's single run), judged and calibrated by the recipe
itself. Measured on the curve's judged images at the recipe's threshold, both modes. Usage:

    PYTHONPATH=. python bench/results/exp-session20/runs_children.py PARENT OUTDIR SET:SEED:K [SET:SEED:K ...]

Appends to OUTDIR/runs2.jsonl per child `{"set", "seed", "k", "threshold", "R2": {threshold, interactive, bank},
"oracle": {...}, "sweep": {...}, "gate", "steps", "train_seconds", "frame", "bank_answers", "seconds"}` (errors per
instance; the bank as `bench.effort_curve.measure` counts it, whatever the child's bank decision). Each run's own
weights are kept beside the child (`<stem>.run<r>.npz`) for later reading.
"""
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from bench.effort_curve import measure

sys.path.insert(0, str(Path(__file__).parents[1] / "finetune-session14"))
sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session17"))
from children import each_child  # session 14's loop over the children asked for (the curve's splits)
from shift_children import at  # session 17's read-off of a judged sweep at a threshold

RUNS = 2
STEPS_PER_RUN = 150
MODES = ("interactive", "bank")


def run_file(out: Path, stem: str, run: int) -> Path:
    """Where run `run` of the child `stem` keeps its own weights (before the runs are averaged)."""
    return out / f"{stem}.run{run}.npz"


def load_run(path: Path) -> list:
    """The weight arrays `np.savez` kept, in the model's order."""
    with np.load(path) as arrays:
        return [arrays[f"arr_{i}"] for i in range(len(arrays.files))]


def with_run(path: Path, run: int):
    """The R2 child at `path` (its card and decisions) with run `run`'s own weights: `(model, card)`."""
    from model.checkpoint import load_checkpoint

    model, card = load_checkpoint(path)
    assert card.training["runs"] == RUNS, "not an R2 child"
    model.set_weights(load_run(run_file(path.parent, path.name.removesuffix(".weights.h5"), run)))
    return model, card


def sweep_best(sweep: dict) -> dict:
    """Each mode's lowest errors per instance over a judged sweep (the threshold an oracle would pick)."""
    return {mode: min(sweep[mode]) for mode in MODES if mode in sweep}


def main():
    from model.training.finetune import FineTuneSettings, finetune

    for parent, out, spec, name, seed, k, split, accepted, path in each_child(sys.argv[1:]):
        started = time.monotonic()
        stem = path.name.removesuffix(".weights.h5")

        def keep(run, weights, out=out, stem=stem):
            np.savez(run_file(out, stem, run), *weights)

        result = finetune(parent, accepted, path, f"s20-{name}-s{seed}-k{k}",
                          FineTuneSettings(seed=seed, max_steps=RUNS * STEPS_PER_RUN, time_budget_s=900, runs=RUNS),
                          on_run=keep)
        sweep = measure(result.weights_path, split.judged, accepted)
        threshold = sweep["threshold"]
        training = result.card.training
        row = {"set": name, "seed": seed, "k": k, "threshold": threshold,
               "slice_only": training["score_threshold"].get("slice_only"),
               "gate": result.effort_gate()[0], "steps": result.steps, "train_seconds": training["train_seconds"],
               "frame": training["frame_convention"].get("skip"), "bank_answers": training["bank_answers"]["value"],
               "R2": at(sweep["sweep"], threshold),
               "oracle": sweep_best(sweep["sweep"]),
               "sweep": sweep["sweep"], "holdout_sweeps": result.card.metrics["holdout_sweeps"],
               "seconds": round(time.monotonic() - started, 1)}
        with open(out / "runs2.jsonl", "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE %s: R2 %s", spec, row["R2"])


if __name__ == "__main__":
    main()
