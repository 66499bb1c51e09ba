"""Session 30 part 2 (prereg.md, arm P1): fresh children of the default (v13) from one accepted image; per child,
both versions' drawn-mode effort on that image (as served, through the verifier, and on network scores; claims
off; each at its threshold and over the sweep) and, on the curve's judged images with the image as the bank, the
child and the parent in both modes. Usage:

    PYTHONPATH=. python bench/results/exp-session30/one_image.py SET:SEED:1 [...]

Appends `{"arm": "P1", "set", "seed", "k", "own": {"served"|"network": {"child"|"parent": {"threshold", "effort",
"sweep"}}}, "child": figures, "parent": figures}` to rows.jsonl here (figures as `bench.effort_curve.measure`).
"""
import sys
from pathlib import Path

from fresh import PARENT, study


def drawn_on(path: Path, images, settings, served: bool) -> dict:
    """`path` answering drawn boxes on `images`: its threshold, its effort there and the sweep's; `served`: as the
    worker answers (through its verifier, at `drawn_box_threshold`), else on network scores at
    `detection_min_confidence` (as the recipe judges)."""
    from model.checkpoint import load_checkpoint
    from model.predictor import Predictor
    from model.training.finetune import NETWORK_SCORES
    from model.training.holdout_effort import INTERACTIVE, judge_on_holdout

    model, card = load_checkpoint(path, **({} if served else NETWORK_SCORES))
    threshold = float(model.config.drawn_box_threshold if served else model.config.detection_min_confidence)
    judged = judge_on_holdout(Predictor(model, version=card.version, fold_batch_norm=True), images, images, settings,
                              modes=(INTERACTIVE,), extra_thresholds=(threshold,))
    if judged is None:
        return {"threshold": threshold, "effort": None, "sweep": None}
    return {"threshold": threshold, "effort": judged.figures_at(threshold)["modes"][INTERACTIVE]["effort"],
            "sweep": {"thresholds": list(judged.thresholds), "effort": list(judged.efforts()[INTERACTIVE])}}


def main():
    from common.settings import Settings

    specs = sys.argv[1:]
    if any(not spec.endswith(":1") for spec in specs):
        raise SystemExit(f"part 2 is about children of one accepted image (SET:SEED:1), not {specs}")
    settings = Settings.from_env()
    study("P1", specs, lambda path, result, accepted: {
        "own": {how: {"child": drawn_on(path, accepted, settings, how == "served"),
                      "parent": drawn_on(PARENT, accepted, settings, how == "served")}
                for how in ("served", "network")}})


if __name__ == "__main__":
    main()
