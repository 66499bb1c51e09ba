"""Session 19, part 3 (prereg.md, report only): a second run C2 of each judged child C on the same training images
(the split of C's seed, episodes and training from `seed + RUN_SEED_STRIDE`, as `TRAIN_RUNS`' second run), and the
uniform mean of C and C2 (arm T), with C's threshold and decisions, measured like part 1. Separates the averaging
from the held-out clip in part 2's soup (whose F also trained on the held-out images). Usage:

    PYTHONPATH=. python bench/results/exp-session19/soup_of_two_runs.py OUTDIR SET:SEED:K [SET:SEED:K ...]

Appends to OUTDIR/two_runs.jsonl per child `{"set", "seed", "k", "T": {threshold, interactive, bank}, "oracle",
"sweep", "seconds"}`.
"""
import sys
from dataclasses import replace

from soup_of_pair import (  # part 2's loop over the judged children, and its soup's measure
    each_judged,
    measure_soup,
)


def main():
    from model.checkpoint import load_checkpoint
    from model.training.finetune import RUN_SEED_STRIDE, FineTuneSettings, _train
    from model.training.holdout_split import split_holdout

    for out, child, judged, card, path, started in each_judged(sys.argv[1:]):
        _, _, seed, _, _, accepted = child
        settings = FineTuneSettings(seed=seed, max_steps=150, time_budget_s=900)
        train = split_holdout(accepted, settings.holdout_fraction, seed).train
        assert len(train.images) == card.training["train_images"], "not the judged child's split"
        second, _ = load_checkpoint("checkpoints/mobile-coco128.weights.h5")
        second.config = judged.config  # trained as the recipe trains the child (its answers are not used here)
        _train(second, train, replace(settings, seed=seed + RUN_SEED_STRIDE), None, None)
        measure_soup(judged, card, second.get_weights(), out, path.name.split(".")[0], "two-runs", "T", child,
                     started)


if __name__ == "__main__":
    main()
