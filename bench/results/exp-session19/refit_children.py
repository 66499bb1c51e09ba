"""Session 19 (prereg.md): paired children of today's recipe. In one fine-tune, arm C is the child the recipe judges
(trained without its held-out slice; threshold, frame and bank decisions made on that slice), arm F the same run's
refit (`FineTuneSettings.refit`): trained again from the parent on every accepted image, with C's decisions. Both are
measured on the curve's judged images at the recipe's threshold, both modes. Usage:

    PYTHONPATH=. python bench/results/exp-session19/refit_children.py PARENT OUTDIR SET:SEED:K [SET:SEED:K ...]

Appends to OUTDIR/refit.jsonl per child `{"set", "seed", "k", "threshold", "C": {threshold, interactive, bank},
"F": {...}, "oracle": {"C": ..., "F": ...}, "sweep": {"C": ..., "F": ...}, "gate", "refit", "seconds"}` (errors
per instance; the bank as `bench.effort_curve.measure` counts it, whatever the child's bank decision).
"""
import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

from bench.effort_curve import measure

sys.path.insert(0, str(Path(__file__).parents[1] / "finetune-session14"))
sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session17"))
from children import each_child  # session 14's loop over the children asked for (the curve's splits)
from shift_children import at  # session 17's read-off of a judged sweep at a threshold


def main():
    from model.checkpoint import load_checkpoint, save_checkpoint
    from model.training.finetune import FineTuneSettings, finetune

    for parent, out, spec, name, seed, k, split, accepted, path in each_child(sys.argv[1:]):
        started = time.monotonic()
        judged_weights = []
        result = finetune(parent, accepted, path, f"s19-{name}-s{seed}-k{k}",
                          FineTuneSettings(seed=seed, max_steps=150, time_budget_s=900, refit=True),
                          on_judged=lambda model, sink=judged_weights: sink.append(model.get_weights()))
        # Arm C: the judged child, with the same config (threshold, frame, bank) as the refit one.
        model, card = load_checkpoint(result.weights_path)
        model.set_weights(judged_weights[0])
        c_path = save_checkpoint(model, out / f"{name}-s{seed}-k{k}.judged.weights.h5",
                                 replace(card, version=card.version + "-judged"))
        del model
        sweeps = {}
        for arm, weights in (("C", c_path), ("F", result.weights_path)):
            sweeps[arm] = measure(weights, split.judged, accepted)
        threshold = sweeps["F"]["threshold"]
        assert threshold == sweeps["C"]["threshold"]
        row = {"set": name, "seed": seed, "k": k, "threshold": threshold,
               "slice_only": result.card.training["score_threshold"].get("slice_only"),
               "gate": result.effort_gate()[0], "refit": result.card.training["refit"],
               "train_seconds": result.card.training["train_seconds"],
               "frame": result.card.training["frame_convention"].get("skip"),
               "bank_answers": result.card.training["bank_answers"]["value"]}
        for arm in ("C", "F"):
            sweep = sweeps[arm]["sweep"]
            row[arm] = at(sweep, threshold)
            row.setdefault("oracle", {})[arm] = {mode: min(sweep[mode]) for mode in ("interactive", "bank")
                                                 if mode in sweep}
            row.setdefault("sweep", {})[arm] = sweep
        row["holdout_sweeps"] = result.card.metrics["holdout_sweeps"]
        row["seconds"] = round(time.monotonic() - started, 1)
        with open(out / "refit.jsonl", "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE %s: C %s F %s", spec, row["C"], row["F"])


if __name__ == "__main__":
    main()
