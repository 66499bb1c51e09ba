"""Session 23 part 1 (prereg.md): children re-judged and re-calibrated by the recipe's steps 3-6 with today's
defaults, with the drawn-label bank decided on the held-out slice (arm UD, `judge_child(..., drawn_bank="held-out")`),
joined where the child's bank pays (arm UB, part 3, "where-bank-pays"), off (arm CL, the check that re-judging a
fresh child gives its training-time row), or on throughout (arm U, session 22's, for part 1b's arm UT), then measured on the curve's judged images in
both modes at that threshold (`bench.effort_curve.measure`). Usage:

    PYTHONPATH=. python bench/results/exp-session23/decided_children.py OUTDIR KIND ARM SET:SEED:K [SET:SEED:K ...]

KIND: `fresh` (a one-run child of `fresh_children.py`, its own weights) or `run0` (a kept R2 child's run 0 alone,
session 20's `with_run`, as session 22 re-judged them). Appends `{"arm", "kind", "set", "seed", "k", "threshold",
"bank_answers", "drawn_bank", "at", "oracle", "sweep", "holdout_sweeps", "calibration", "seconds"}` to
bench/results/exp-session23/rows.jsonl.
"""
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session20"))
from runs_children import at, each_child, measure, sweep_best, with_run

ROWS = Path(__file__).parent / "rows.jsonl"
RULES = {"UD": "held-out", "UB": "where-bank-pays"}


def rejudged(path: Path, kind: str, arm: str, seed: int, accepted):
    """The child at `path` judged and calibrated by the recipe's steps 3-6 with today's defaults, the drawn-label
    bank decided by the arm's rule (UD, UB), off (CL) or on throughout (U): `(model, card, judgement, calibration,
    bank, drawn_bank)`."""
    from common.settings import Settings
    from model.checkpoint import load_checkpoint
    from model.training.finetune import FineTuneSettings, _bank_answers, judge_child
    from model.training.holdout_split import split_holdout

    model, card = with_run(path, 0) if kind == "run0" else load_checkpoint(path)
    assert card.training["settings"]["seed"] == seed, "not this seed's child"
    model.config = model.config.replace(detection_skip_border=False, detection_bank_answers=True,
                                        detection_label_claims=True, detection_drawn_bank=arm == "U")
    defaults = FineTuneSettings()
    own = split_holdout(accepted, defaults.holdout_fraction, seed)
    assert len(own.holdout.images) == card.training["holdout_images"], "not the child's own split"
    judgement, _, calibration, drawn_bank = judge_child(
        model, f"{card.version}-s23", own.holdout, own.train, Settings(), shifted_calibration=True,
        tie_break=defaults.tie_break, drawn_bank=RULES.get(arm, "off"))
    threshold = float(model.config.detection_min_confidence)
    bank = _bank_answers(judgement.figures_at(threshold) if judgement else None)
    model.config = model.config.replace(detection_bank_answers=bank["value"])
    return model, card, judgement, calibration, bank, drawn_bank


def main():
    from model.checkpoint import save_checkpoint

    out_dir, kind, arm = sys.argv[1], sys.argv[2], sys.argv[3]
    assert kind in ("fresh", "run0") and arm in ("CL", "UD", "U", "UB")
    for _, out, spec, name, seed, k, split, accepted, path in each_child(["-", out_dir, *sys.argv[4:]]):
        started = time.monotonic()
        stem = path.name.removesuffix(".weights.h5")
        model, card, judgement, calibration, bank, drawn_bank = rejudged(path, kind, arm, seed, accepted)
        saved = save_checkpoint(model, out / f"{stem}.s23-{arm}.weights.h5", card)
        del model
        sweep = measure(saved, split.judged, accepted)
        row = {"arm": arm, "kind": kind, "set": name, "seed": seed, "k": k, "threshold": sweep["threshold"],
               "bank_answers": bank["value"], "drawn_bank": drawn_bank,
               "at": at(sweep["sweep"], sweep["threshold"]), "oracle": sweep_best(sweep["sweep"]),
               "sweep": sweep["sweep"], "calibration": calibration and calibration.to_dict(),
               "holdout_sweeps": judgement and {m: [round(r["effort"], 4) for r in rows]
                                                for m, rows in judgement.summaries.items()},
               "seconds": round(time.monotonic() - started, 1)}
        with open(ROWS, "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE %s %s %s: %s (drawn bank %s)", arm, kind, spec, row["at"], drawn_bank["value"])


if __name__ == "__main__":
    main()
