"""Session 18, part 2 (prereg.md): one fine-tune of LONG steps per child, and the same run's weights at SHORT steps
(today's recipe: constant learning rate, so they are exactly a SHORT-step child of the same episodes). Both go
through the recipe's steps 3-6 (frame step, judging, calibration with the shifted copies, bank decision) and are
measured on the curve's judged images. Usage:

    PYTHONPATH=. python bench/results/exp-session18/steps_children.py PARENT OUTDIR SET:SEED:K [SET:SEED:K ...]

Appends to OUTDIR/steps.jsonl per child `{"set", "seed", "k", "L": {...}, "C": {...}, "seconds"}`, each arm with
its threshold, errors per instance of both modes at it, gate, bank decision, the judged sweep and its best.
"""
import json
import logging
import os
import sys
import time
from pathlib import Path

from bench.effort_curve import measure

sys.path.insert(0, str(Path(__file__).parents[1] / "finetune-session14"))
sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session17"))
from children import each_child  # session 14's loop over the children asked for (the curve's splits)
from shift_children import at  # session 17's read-off of a judged sweep at a threshold

SHORT, LONG = int(os.environ.get("S18_SHORT", 150)), int(os.environ.get("S18_LONG", 200))  # env: a smoke run


def main():
    import model.training.finetune as recipe
    from common.settings import Settings
    from model.checkpoint import ModelCard, save_checkpoint
    from model.training.holdout_split import split_holdout

    loaded = []
    load = recipe.load_checkpoint

    def recording(path, *args, **kwargs):  # the recipe's second load is the model it trains
        result = load(path, *args, **kwargs)
        loaded.append(result[0])
        return result

    recipe.load_checkpoint = recording
    for parent, out, spec, name, seed, k, split, accepted, path in each_child(sys.argv[1:]):
        started = time.monotonic()
        loaded.clear()
        snapshot = {}

        def on_progress(log, snapshot=snapshot):
            if log.step == SHORT and "weights" not in snapshot:
                snapshot["weights"] = loaded[-1].get_weights()

        settings = recipe.FineTuneSettings(seed=seed, max_steps=LONG, time_budget_s=900)
        result = recipe.finetune(parent, accepted, path, f"s18-{name}-s{seed}-k{k}-L", settings,
                                 on_progress=on_progress)
        assert result.steps == LONG and "weights" in snapshot, (result.steps, list(snapshot))
        arms = {"L": _arm(result.weights_path, result.card, result.effort_gate()[0], split, accepted)}

        model, card = load(result.weights_path)
        model.set_weights(snapshot["weights"])
        model.config = model.config.replace(detection_bank_answers=True, detection_skip_border=False,
                                            detection_size_tolerance=recipe.CHILD_SIZE_TOLERANCE)
        halves = split_holdout(accepted, settings.holdout_fraction, seed)
        judgement, frame, calibration, _ = recipe.judge_child(model, f"{card.version}-s{SHORT}", halves.holdout,
                                                           halves.train, Settings(), shifted_calibration=True)
        threshold = float(model.config.detection_min_confidence)
        figures = judgement.figures_at(threshold) if judgement else None
        bank = recipe._bank_answers(figures)
        model.config = model.config.replace(detection_bank_answers=bank["value"])
        short_card = ModelCard(version=f"s18-{name}-s{seed}-k{k}-C", preset=card.preset, config={},
                               parent=card.parent,
                               training={"steps": SHORT, "frame_convention": frame, "bank_answers": bank,
                                         "score_threshold": {"value": threshold}},
                               metrics={"holdout": {"new": figures, "parent": result.metrics["parent"]}})
        short_path = save_checkpoint(model, path.with_name(path.name.replace(".weights.h5", "-C.weights.h5")),
                                     short_card)
        parent_effort = (result.metrics["parent"] or {}).get("effort")
        gate = figures is None or parent_effort is None or figures["effort"] <= parent_effort
        arms["C"] = _arm(short_path, short_card, gate, split, accepted)
        row = {"set": name, "seed": seed, "k": k, **arms, "seconds": round(time.monotonic() - started, 1)}
        with open(out / "steps.jsonl", "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE %s: L %s C %s", spec, arms["L"]["at"], arms["C"]["at"])


def _arm(weights: Path, card, gate: bool, split, accepted) -> dict:
    measured = measure(weights, split.judged, accepted)
    sweep = measured["sweep"]
    return {"threshold": measured["threshold"], "gate": gate,
            "bank_answers": card.training["bank_answers"]["value"],
            "frame": card.training["frame_convention"].get("skip"),
            "at": at(sweep, measured["threshold"]),
            "oracle": {mode: min(sweep[mode]) for mode in ("interactive", "bank") if mode in sweep},
            "sweep": sweep}


if __name__ == "__main__":
    main()
