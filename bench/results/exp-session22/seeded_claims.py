"""Session 22 parts 1 and 2 (prereg.md): kept C' children (an R2 child's run 0 alone, session 20's `with_run`) re-judged
and re-calibrated by the recipe's steps 3-6 as today's defaults do them (claims on, the middle of the near ties),
with the other labels' claims answered from their pooled exemplars (arm CL, today) or seeded in the image (arm SC,
`detection_claims_seed` 0.5), and (part 2) with the drawn label's own bank joining the drawn answer (arms U and
SC+U: `detection_drawn_bank`), then measured on the curve's judged images in both modes at that threshold
(`bench.effort_curve.measure`). Usage:

    PYTHONPATH=. python bench/results/exp-session22/seeded_claims.py OUTDIR ARM SET:SEED:K [SET:SEED:K ...]

OUTDIR: where the children are kept (`runs/s20` for synthetic and coco128, `runs/s21` for sessions). Appends
`{"arm", "set", "seed", "k", "threshold", "bank_answers", "at", "oracle", "sweep", "holdout_sweeps",
"calibration", "seconds"}` to bench/results/exp-session22/seeded_claims.jsonl.
"""
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session20"))
from runs_children import at, each_child, measure, sweep_best, with_run

ROWS = Path(__file__).parent / "seeded_claims.jsonl"
ARMS = {"CL": {"detection_claims_seed": 0.0}, "SC": {"detection_claims_seed": 0.5},
        "U": {"detection_claims_seed": 0.0, "detection_drawn_bank": True},
        "SC+U": {"detection_claims_seed": 0.5, "detection_drawn_bank": True},
        "V": {"detection_claims_seed": 0.0, "detection_label_vote": True}}


def rejudged(path: Path, arm: dict, seed: int, accepted):
    """The C' child at `path` with the arm's config, judged and calibrated by the
    recipe's steps 3-6 with today's defaults: `(model, card, judgement, calibration, bank)`."""
    model, card = with_run(path, 0)
    model, judgement, calibration, bank, _ = judged_again(model, card, {"detection_label_claims": True, **arm}, seed,
                                                          accepted, "s22")
    return model, card, judgement, calibration, bank


def judged_again(model, card, changes: dict, seed: int, accepted, tag: str):
    """A loaded child (`model`, `card`) with `changes` to its config, judged and calibrated by the recipe's steps 3-6
    with today's defaults on its own held-out split (checked against its card): `(model, judgement, calibration,
    bank, frame)`. Session 24's `gate_children.py` uses it too."""
    from common.settings import Settings
    from model.training.finetune import FineTuneSettings, _bank_answers, judge_child
    from model.training.holdout_split import split_holdout

    assert card.training["settings"]["seed"] == seed, "not this seed's child"
    model.config = model.config.replace(detection_skip_border=False, detection_bank_answers=True, **changes)
    defaults = FineTuneSettings()
    own = split_holdout(accepted, defaults.holdout_fraction, seed)
    assert len(own.holdout.images) == card.training["holdout_images"], "not the child's own split"
    judgement, frame, calibration, _ = judge_child(model, f"{card.version}-{tag}", own.holdout, own.train,
                                                Settings(), shifted_calibration=True, tie_break=defaults.tie_break)
    threshold = float(model.config.detection_min_confidence)
    bank = _bank_answers(judgement.figures_at(threshold) if judgement else None)
    model.config = model.config.replace(detection_bank_answers=bank["value"])
    return model, judgement, calibration, bank, frame


def measured_row(arm: str, name: str, seed: int, k: int, weights: Path, split, accepted, bank: dict, calibration,
                 judgement, started: float, **extra) -> dict:
    """The saved child at `weights` measured on the curve's judged images in both modes at its threshold: one row
    `{"arm", "set", "seed", "k", "threshold", "bank_answers", **extra, "at", "oracle", "sweep", "calibration",
    "holdout_sweeps", "seconds"}` (errors per instance; `started`: `time.monotonic()` when the child began)."""
    sweep = measure(weights, split.judged, accepted)
    return {"arm": arm, "set": name, "seed": seed, "k": k, "threshold": sweep["threshold"],
            "bank_answers": bank["value"], **extra, "at": at(sweep["sweep"], sweep["threshold"]),
            "oracle": sweep_best(sweep["sweep"]), "sweep": sweep["sweep"],
            "calibration": calibration and calibration.to_dict(),
            "holdout_sweeps": judgement and {m: [round(r["effort"], 4) for r in rows]
                                             for m, rows in judgement.summaries.items()},
            "seconds": round(time.monotonic() - started, 1)}


def main():
    from model.checkpoint import save_checkpoint

    out_dir, arm = sys.argv[1], sys.argv[2]
    for _, out, spec, name, seed, k, split, accepted, path in each_child(["-", out_dir, *sys.argv[3:]]):
        started = time.monotonic()
        stem = path.name.removesuffix(".weights.h5")
        model, card, judgement, calibration, bank = rejudged(path, ARMS[arm], seed, accepted)
        saved = save_checkpoint(model, out / f"{stem}.s22-{arm}.weights.h5", card)
        del model
        row = measured_row(arm, name, seed, k, saved, split, accepted, bank, calibration, judgement, started)
        with open(ROWS, "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE %s %s: %s", arm, spec, row["at"])


if __name__ == "__main__":
    main()
