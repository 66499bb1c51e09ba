"""Session 19, part 3 (prereg.md, report only): a second run C2 of each judged child C on the same training images
(the split of C's seed, episodes and training from `seed + RUN_SEED_STRIDE`, as `TRAIN_RUNS`' second run), and the
uniform mean of C and C2 (arm T), with C's threshold and decisions, measured like part 1. Separates the averaging
from the held-out clip in part 2's soup (whose F also trained on the held-out images). Usage:

    PYTHONPATH=. python bench/results/exp-session19/soup_of_two_runs.py OUTDIR SET:SEED:K [SET:SEED:K ...]

Appends to OUTDIR/two_runs.jsonl per child `{"set", "seed", "k", "T": {threshold, interactive, bank}, "oracle",
"sweep", "seconds"}`.
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
    from model.training.averaging import average_weights
    from model.training.finetune import RUN_SEED_STRIDE, FineTuneSettings, _train
    from model.training.holdout_split import split_holdout

    out = Path(sys.argv[1])
    for _, _, spec, name, seed, k, split, accepted, _ in each_child(["unused", *sys.argv[1:]]):
        started = time.monotonic()
        judged, card = load_checkpoint(out / f"{name}-s{seed}-k{k}.judged.weights.h5")
        settings = FineTuneSettings(seed=seed, max_steps=150, time_budget_s=900)
        train = split_holdout(accepted, settings.holdout_fraction, seed).train
        assert len(train.images) == card.training["train_images"], "not the judged child's split"
        second, _ = load_checkpoint("checkpoints/mobile-coco128.weights.h5")
        second.config = judged.config  # trained as the recipe trains the child (its answers are not used here)
        _train(second, train, replace(settings, seed=seed + RUN_SEED_STRIDE), None, None)
        judged.set_weights(average_weights([judged.get_weights(), second.get_weights()]))
        del second
        soup = save_checkpoint(judged, out / f"{name}-s{seed}-k{k}.two-runs.weights.h5",
                               replace(card, version=card.version.replace("-judged", "-two-runs")))
        del judged
        measured = measure(soup, split.judged, accepted)
        sweep = measured["sweep"]
        row = {"set": name, "seed": seed, "k": k, "T": at(sweep, measured["threshold"]),
               "oracle": {mode: min(sweep[mode]) for mode in ("interactive", "bank") if mode in sweep},
               "sweep": sweep, "seconds": round(time.monotonic() - started, 1)}
        with open(out / "two_runs.jsonl", "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE %s: T %s", spec, row["T"])


if __name__ == "__main__":
    main()
