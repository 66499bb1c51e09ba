"""Session 24 part 1 (prereg.md): fresh children re-judged and re-calibrated by the recipe's steps 3-6 with today's
defaults, with the child's reference gate off (arm G0), its drawn boxes' suggestions capped at twice their size
(arm C), both (arm GC) or as the child has it (arm CL, the check that re-judging gives the training-time row), then measured on the curve's judged images in both modes at that threshold
(`bench.effort_curve.measure`). Usage:

    PYTHONPATH=. python bench/results/exp-session24/gate_children.py OUTDIR ARM SET:SEED:K [SET:SEED:K ...]

Appends `{"arm", "set", "seed", "k", "threshold", "bank_answers", "frame", "at", "oracle", "sweep",
"holdout_sweeps", "calibration", "seconds"}` to bench/results/exp-session24/rows.jsonl.
"""
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session20"))
from runs_children import at, each_child, measure, sweep_best

ROWS = Path(__file__).parent / "rows.jsonl"
ARMS = {"CL": {}, "G0": {"detection_reference_gate": 0.0}, "C": {"detection_size_cap": 2.0},
        "GC": {"detection_reference_gate": 0.0, "detection_size_cap": 2.0}}
"""Each arm's changes to the child's config before it is judged (part 2's arms C and GC: the size cap)."""


def rejudged(path: Path, arm: str, seed: int, accepted):
    """The child at `path` judged and calibrated by the recipe's steps 3-6 with today's defaults, its config
    changed as the arm says: `(model, card, judgement, calibration, bank, frame)`."""
    from common.settings import Settings
    from model.checkpoint import load_checkpoint
    from model.training.finetune import FineTuneSettings, _bank_answers, judge_child
    from model.training.holdout_split import split_holdout

    model, card = load_checkpoint(path)
    assert card.training["settings"]["seed"] == seed, "not this seed's child"
    model.config = model.config.replace(detection_skip_border=False, detection_bank_answers=True)
    model.config = model.config.replace(**ARMS[arm])
    defaults = FineTuneSettings()
    own = split_holdout(accepted, defaults.holdout_fraction, seed)
    assert len(own.holdout.images) == card.training["holdout_images"], "not the child's own split"
    judgement, frame, calibration, _ = judge_child(
        model, f"{card.version}-s24", own.holdout, own.train, Settings(), shifted_calibration=True,
        tie_break=defaults.tie_break)
    threshold = float(model.config.detection_min_confidence)
    bank = _bank_answers(judgement.figures_at(threshold) if judgement else None)
    model.config = model.config.replace(detection_bank_answers=bank["value"])
    return model, card, judgement, calibration, bank, frame


def main():
    from model.checkpoint import save_checkpoint

    out_dir, arm = sys.argv[1], sys.argv[2]
    assert arm in ARMS
    for _, out, spec, name, seed, k, split, accepted, path in each_child(["-", out_dir, *sys.argv[3:]]):
        started = time.monotonic()
        stem = path.name.removesuffix(".weights.h5")
        model, card, judgement, calibration, bank, frame = rejudged(path, arm, seed, accepted)
        saved = save_checkpoint(model, out / f"{stem}.s24-{arm}.weights.h5", card)
        del model
        sweep = measure(saved, split.judged, accepted)
        row = {"arm": arm, "set": name, "seed": seed, "k": k, "threshold": sweep["threshold"],
               "bank_answers": bank["value"], "frame": frame.get("skip"),
               "at": at(sweep["sweep"], sweep["threshold"]), "oracle": sweep_best(sweep["sweep"]),
               "sweep": sweep["sweep"], "calibration": calibration and calibration.to_dict(),
               "holdout_sweeps": judgement and {m: [round(r["effort"], 4) for r in rows]
                                                for m, rows in judgement.summaries.items()},
               "seconds": round(time.monotonic() - started, 1)}
        with open(ROWS, "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE %s %s: %s", arm, spec, row["at"])


if __name__ == "__main__":
    main()
