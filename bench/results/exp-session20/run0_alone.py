"""Session 20 part 2 (prereg.md): arm C', an R2 child's run 0 alone (its `<stem>.run0.npz`), judged and calibrated
by the recipe's own steps 3-6 (`model.training.finetune.judge_child`: frame step, threshold with the shifted copies;
then the bank decision)
on the child's own split: what today's single-run recipe would have shipped from the same training draw. Measured as
`runs_children.py` measures R2. Usage:

    PYTHONPATH=. python bench/results/exp-session20/run0_alone.py PARENT OUTDIR SET:SEED:K [SET:SEED:K ...]

(OUTDIR: where `runs_children.py` kept the children.) Appends `{"set", "seed", "k", "threshold", "frame", "bank_answers", "C'",
"oracle", "sweep"}` to OUTDIR/run0.jsonl.
"""
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from runs_children import at, each_child, measure, sweep_best, with_run  # part 1's loop, read-off and runs


def main():
    from common.settings import Settings
    from model.checkpoint import save_checkpoint
    from model.training.finetune import FineTuneSettings, _bank_answers, judge_child
    from model.training.holdout_split import split_holdout

    for _, out, spec, name, seed, k, split, accepted, path in each_child(sys.argv[1:]):
        stem = path.name.removesuffix(".weights.h5")
        model, card = with_run(path, 0)
        assert card.training["settings"]["seed"] == seed, "not this seed's child"
        # As the recipe leaves a trained child before step 3: judged with its bank on, the frame step decides afresh.
        model.config = model.config.replace(detection_skip_border=False, detection_bank_answers=True)
        own = split_holdout(accepted, FineTuneSettings().holdout_fraction, seed)
        assert len(own.holdout.images) == card.training["holdout_images"], "not the child's own split"
        judgement, frame, _, _ = judge_child(model, card.version + "-run0", own.holdout, own.train, Settings(),
                                          shifted_calibration=True)
        # Step 6, as the recipe: the bank answers only where its held-out effort is below suggesting nothing.
        threshold = float(model.config.detection_min_confidence)
        bank = _bank_answers(judgement.figures_at(threshold) if judgement else None)
        model.config = model.config.replace(detection_bank_answers=bank["value"])
        alone = save_checkpoint(model, out / f"{stem}.run0-judged.weights.h5", card)
        del model
        sweep = measure(alone, split.judged, accepted)
        row = {"set": name, "seed": seed, "k": k, "threshold": sweep["threshold"], "frame": frame.get("skip"),
               "bank_answers": bank["value"],
               "C'": at(sweep["sweep"], sweep["threshold"]),
               "oracle": sweep_best(sweep["sweep"]),
               "sweep": sweep["sweep"]}
        with open(out / "run0.jsonl", "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE %s: C' %s", spec, row["C'"])


if __name__ == "__main__":
    main()
