"""Session 17, part 2 (prereg.md): fresh children of today's recipe (one run, 150 steps), measured on the curve's
judged images (arm C: the threshold the recipe chose), and their threshold chosen again on the held-out slice plus
its shifted copies (arm R, `FineTuneSettings.shifted_calibration`), read off the same judged sweep. Usage:

    PYTHONPATH=. python bench/results/exp-session17/shift_children.py PARENT OUTDIR SET:SEED:K [SET:SEED:K ...]

Writes OUTDIR/shift.jsonl: per child `{"set", "seed", "k", "C": {threshold, interactive, bank}, "R": {...},
"oracle": {...}, "sweep", "holdout_sweeps"}` (errors per instance; the bank as `bench.effort_curve.measure` counts
it, whatever the child's bank decision).
"""
import json
import logging
import sys
import time
from pathlib import Path

from bench.effort_curve import measure

sys.path.insert(0, str(Path(__file__).parents[1] / "finetune-session14"))
from children import each_child  # session 14's loop over the children asked for (the curve's splits)


def main():
    from model.training.finetune import FineTuneSettings, finetune

    for parent, out, spec, name, seed, k, split, accepted, path in each_child(sys.argv[1:]):
        started = time.monotonic()
        result = finetune(parent, accepted, path, f"s17-{name}-s{seed}-k{k}",
                          FineTuneSettings(seed=seed, max_steps=150, time_budget_s=900))
        measured = measure(result.weights_path, split.judged, accepted)
        sweep = measured["sweep"]
        shifted = shifted_threshold(result.weights_path, accepted, seed)
        row = {"set": name, "seed": seed, "k": k, "steps": result.steps, "gate": result.effort_gate()[0],
               "frame": result.card.training["frame_convention"].get("skip"),
               "C": at(sweep, measured["threshold"]), "R": at(sweep, shifted),
               "oracle": {mode: min(sweep[mode]) for mode in ("interactive", "bank") if mode in sweep},
               "sweep": sweep, "holdout_sweeps": result.card.metrics["holdout_sweeps"]}
        row["seconds"] = round(time.monotonic() - started, 1)
        with open(out / "shift.jsonl", "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE %s: C %s R %s", spec, row["C"], row["R"])


def at(sweep: dict, threshold: float) -> dict:
    """Errors per instance of each mode at `threshold` (a sweep value), off the judged sweep."""
    position = min(range(len(sweep["thresholds"])), key=lambda i: abs(sweep["thresholds"][i] - threshold))
    return {"threshold": sweep["thresholds"][position]} | {
        mode: sweep[mode][position] for mode in ("interactive", "bank") if mode in sweep}


def shifted_threshold(weights: Path, accepted, seed: int) -> float:
    """The child (its frame decision as made) calibrated on its held-out slice and the slice's shifted copies, as
    step 4 of the recipe does with `shifted_calibration`."""
    from common.settings import Settings
    from model.checkpoint import load_checkpoint
    from model.predictor import Predictor
    from model.training.finetune import FineTuneSettings
    from model.training.holdout_effort import judge_on_holdout
    from model.training.holdout_shift import with_shifted_copies
    from model.training.holdout_split import split_holdout

    model, card = load_checkpoint(weights)
    split = split_holdout(accepted, FineTuneSettings().holdout_fraction, seed)
    assert len(split.holdout.images) == card.training["holdout_images"], "not the child's own split"
    child = Predictor(model, version=card.version, fold_batch_norm=True)
    return judge_on_holdout(child, with_shifted_copies(split.holdout), split.train, Settings()).calibrate().threshold


if __name__ == "__main__":
    main()
