"""Session 29 part 2 (prereg.md): the gate's inputs for each kept child: on its held-out slice, the child (session
28's VP weights and skip) and the parent (v12, whose network v13 keeps) judged in both modes, on network scores and
through the verifier, the drawn mode with the other labels' claims on and off; and, on the curve's judged images,
the parent's bank mode with the seed's bank. Usage:

    PYTHONPATH=. python bench/results/exp-session29/gate.py SET:SEED:K [...]

Appends one row per child to gate.jsonl here: `slice[version][scoring][claims]` = the interactive sweep's efforts,
`slice[version]["bank"]` = the bank sweep's, `thresholds` the sweep, `child_threshold` its calibrated network
threshold, `parent_bank` the parent's bank figures on the judged images.
"""
import logging
import sys
from pathlib import Path

from study import append, each_spec

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
ROWS = HERE / "gate.jsonl"
S28 = ROOT / "runs" / "s28"
PARENT = ROOT / "checkpoints" / "mobile-coco128.weights.h5"


def judge(path: Path, holdout, train, settings) -> tuple[dict, float]:
    """`path` judged on the slice: `({"bank": efforts, "network"|"verifier": {"on"|"off": efforts}}, its network
    threshold)`; the sweep is `model.evaluation.calibration.SWEEP` (+ 0.85)."""
    from model.checkpoint import load_checkpoint
    from model.predictor import Predictor
    from model.training.holdout_effort import BANK, INTERACTIVE, judge_on_holdout

    model, card = load_checkpoint(path)
    predictor = Predictor(model, version=card.version, fold_batch_norm=True)
    full = predictor.config
    out: dict = {"thresholds": None}
    bank = judge_on_holdout(predictor, holdout, train, settings, modes=(BANK,), extra_thresholds=(0.85,))
    out["bank"] = bank and bank.efforts()[BANK]
    for scoring, verifier in (("network", ()), ("verifier", full.detection_verifier)):
        out[scoring] = {}
        for claims in (True, False):
            predictor.config = full.replace(detection_verifier=verifier, detection_label_claims=claims)
            got = judge_on_holdout(predictor, holdout, train, settings, modes=(INTERACTIVE,),
                                   extra_thresholds=(0.85,))
            out[scoring]["on" if claims else "off"] = got and got.efforts()[INTERACTIVE]
            out["thresholds"] = got and list(got.thresholds)
    return out, float(full.detection_min_confidence)


def main():
    from bench.effort_curve import measure
    from common.settings import Settings
    from model.training.finetune import FineTuneSettings
    from model.training.holdout_split import split_holdout

    settings = Settings.from_env()
    for name, seed, k, split, accepted, seconds in each_spec(sys.argv[1:]):
        own = split_holdout(accepted, FineTuneSettings().holdout_fraction, seed)
        child, child_threshold = judge(S28 / f"{name}-s{seed}-k{k}.s28-VP.weights.h5", own.holdout, own.train,
                                       settings)
        parent, parent_threshold = judge(PARENT, own.holdout, own.train, settings)
        parent_bank = measure(PARENT, split.judged, accepted, modes=("bank",))["bank"]
        append(ROWS, {"set": name, "seed": seed, "k": k, "holdout_images": len(own.holdout.images),
                      "child_threshold": child_threshold, "parent_threshold": parent_threshold,
                      "slice": {"child": child, "parent": parent}, "parent_bank": parent_bank,
                      "seconds": seconds()})
        logging.info("DONE gate %s:%d:%d", name, seed, k)


if __name__ == "__main__":
    main()
