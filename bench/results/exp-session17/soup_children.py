"""Session 17 (pre-registered in prereg.md): children made by the recipe with `runs = 2` (two 75-step runs from the
parent, averaged: a model soup), and each soup's two ingredients calibrated by the recipe's own steps 3-5
(`finetune.judge_child`, then the bank decision) on the same held-out slice; all measured in both modes on the
curve's judged images as `bench.effort_curve` measures children. Usage:

    PYTHONPATH=. python bench/results/exp-session17/soup_children.py PARENT OUTDIR SET:SEED:K [SET:SEED:K ...]

Writes OUTDIR/soups.jsonl: per child `{"set", "seed", "k", "steps", "soup": figures, "ingredients": [figures, ...]}`.
"""
import json
import logging
import sys
import time
from pathlib import Path

from bench.effort_curve import measure

sys.path.insert(0, str(Path(__file__).parents[1] / "finetune-session14"))
from children import each_child  # session 14's loop over the children asked for (the curve's splits)

FIGURES = ("threshold", "sweep", "interactive", "bank")


def main():
    from model.training.finetune import FineTuneSettings, finetune

    for parent, out, spec, name, seed, k, split, accepted, path in each_child(sys.argv[1:]):
        started = time.monotonic()
        ingredients = []
        settings = FineTuneSettings(seed=seed, max_steps=150, time_budget_s=900, runs=2)
        result = finetune(parent, accepted, path, f"s17-soup-{name}-s{seed}-k{k}", settings,
                          on_run=lambda run, weights, kept=ingredients: kept.append(weights))
        row = {"set": name, "seed": seed, "k": k, "steps": result.steps, "gate": result.effort_gate()[0],
               "finetune_s": round(result.seconds, 1), "frame": result.card.training["frame_convention"].get("skip")}
        row["soup"] = _figures(measure(result.weights_path, split.judged, accepted))
        row["ingredients"] = [
            _figures(measure(_ingredient(path, weights, accepted, seed, out / f"{path.stem}.run{run}.weights.h5"),
                             split.judged, accepted))
            for run, weights in enumerate(ingredients)]
        row["seconds"] = round(time.monotonic() - started, 1)
        with open(out / "soups.jsonl", "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE %s: soup box %s bank %s | ingredients %s", spec,
                     row["soup"]["interactive"]["errors_per_instance"],
                     row["soup"].get("bank", {}).get("errors_per_instance"),
                     [(i["interactive"]["errors_per_instance"], i.get("bank", {}).get("errors_per_instance"))
                      for i in row["ingredients"]])


def _figures(measured: dict) -> dict:
    return {key: measured[key] for key in FIGURES if key in measured}


def _ingredient(soup: Path, weights, accepted, seed: int, path: Path) -> Path:
    """One run's weights as a child of its own: the soup's checkpoint (config, card) with these weights, judged,
    frame-decided and calibrated on the same held-out slice by the recipe's steps 3-5."""
    from common.settings import Settings
    from model.checkpoint import load_checkpoint, save_checkpoint
    from model.training.finetune import FineTuneSettings, _bank_answers, judge_child
    from model.training.holdout_split import split_holdout

    model, card = load_checkpoint(soup)
    model.set_weights(weights)
    model.config = model.config.replace(detection_skip_border=False, detection_bank_answers=True)
    split = split_holdout(accepted, FineTuneSettings().holdout_fraction, seed)
    judgement, _, _, _ = judge_child(model, card.version, split.holdout, split.train, Settings(),
                                  shifted_calibration=False)  # as the soups were made (before part 2)
    threshold = float(model.config.detection_min_confidence)
    bank = _bank_answers(judgement.figures_at(threshold) if judgement else None)
    model.config = model.config.replace(detection_bank_answers=bank["value"])
    save_checkpoint(model, path, card)
    return path


if __name__ == "__main__":
    main()
