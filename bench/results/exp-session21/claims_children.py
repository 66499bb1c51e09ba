"""Session 21 parts 1 and 2 (prereg.md): session 20's kept children re-judged with the label claims on
(`detection_label_claims`: in the held-out judging's drawn-box mode the training images' exemplars of the other
labels claim their objects), calibrated by the recipe's own steps 3-6 (`judge_child`, then the bank decision), and
measured on the curve's judged images in both modes at that threshold (`bench.effort_curve.measure`: the accepted
images' exemplars claim in the drawn-box mode). Usage:

    PYTHONPATH=. python bench/results/exp-session21/claims_children.py OUTDIR ARM SET:SEED:K [SET:SEED:K ...]

ARM: `C'` (an R2 child's run 0 alone, as session 20's `run0_alone.py` judged it without claims) or `R2` (the soup).
OUTDIR: where session 20 kept the children (`runs/s20`). Appends `{"arm", "set", "seed", "k", "threshold", "frame",
"bank_answers", "CL", "oracle", "sweep", "holdout_sweeps"}` to bench/results/exp-session21/claims_children.jsonl.
"""
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session20"))
from runs_children import (  # session 20's loop, read-off and runs
    at,
    each_child,
    measure,
    sweep_best,
    with_run,
)

ROWS = Path(__file__).parent / "claims_children.jsonl"


def rejudged(path: Path, arm: str, seed: int, accepted):
    """Session 20's child at `path` (arm C': its run 0 alone; R2: the soup) as the recipe leaves it before step 3,
    with the claims on, judged and calibrated by steps 3-6: `(model, card, judgement, frame, calibration, bank)`."""
    from common.settings import Settings
    from model.checkpoint import load_checkpoint
    from model.training.finetune import FineTuneSettings, _bank_answers, judge_child
    from model.training.holdout_split import split_holdout

    model, card = with_run(path, 0) if arm == "C'" else load_checkpoint(path)
    assert card.training["settings"]["seed"] == seed, "not this seed's child"
    model.config = model.config.replace(detection_skip_border=False, detection_bank_answers=True,
                                        detection_label_claims=True)
    own = split_holdout(accepted, FineTuneSettings().holdout_fraction, seed)
    assert len(own.holdout.images) == card.training["holdout_images"], "not the child's own split"
    judgement, frame, calibration, _ = judge_child(model, f"{card.version}-{arm}-claims", own.holdout, own.train,
                                                Settings(), shifted_calibration=True)
    threshold = float(model.config.detection_min_confidence)
    bank = _bank_answers(judgement.figures_at(threshold) if judgement else None)
    model.config = model.config.replace(detection_bank_answers=bank["value"])
    return model, card, judgement, frame, calibration, bank


def main():
    from model.checkpoint import save_checkpoint

    out_dir, arm = sys.argv[1], sys.argv[2]
    assert arm in ("C'", "R2"), arm
    for _, out, spec, name, seed, k, split, accepted, path in each_child(["-", out_dir, *sys.argv[3:]]):
        stem = path.name.removesuffix(".weights.h5")
        model, card, judgement, frame, calibration, bank = rejudged(path, arm, seed, accepted)
        suffix = "run0-claims" if arm == "C'" else "claims"
        saved = save_checkpoint(model, out / f"{stem}.{suffix}.weights.h5", card)
        del model
        sweep = measure(saved, split.judged, accepted)
        row = {"arm": arm, "set": name, "seed": seed, "k": k, "threshold": sweep["threshold"],
               "frame": frame.get("skip"), "bank_answers": bank["value"],
               "CL": at(sweep["sweep"], sweep["threshold"]), "oracle": sweep_best(sweep["sweep"]),
               "sweep": sweep["sweep"],
               "calibration": calibration and calibration.to_dict(),
               "holdout_sweeps": judgement and {m: [round(r["effort"], 4) for r in rows]
                                                for m, rows in judgement.summaries.items()}}
        with open(ROWS, "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE %s %s: CL %s", arm, spec, row["CL"])


if __name__ == "__main__":
    main()
