"""Pre-registration 5: session 13's kept children, as they are (A) and with the size prior off and the threshold
re-calibrated on their own held-out slice by the recipe's steps 4-5 (B), each measured in both modes. Usage:

    PYTHONPATH=. python bench/results/exp-session15/size_children.py CHILDREN_DIR OUT.jsonl SET:SEED:K ...
"""

import json
import sys
import tempfile
from pathlib import Path

from bench.effort_curve import load_split, measure

sys.path.insert(0, str(Path(__file__).parents[1] / "finetune-session14"))
from children import args_for  # session 14's split arguments, the curve's


def kept_children(children: Path, specs):
    """Per `SET:SEED:K` spec: `(name, seed, k, split, accepted, weights)` of a kept child in `children` (the
    curve's split, session 14's arguments)."""
    for spec in specs:
        name, seed, k = spec.split(":")
        split = load_split(name, args_for(int(seed)), 10)
        yield name, int(seed), int(k), split, split.accepted(int(k)), children / f"{name}-s{seed}-k{k}.weights.h5"


def main():
    children, out = Path(sys.argv[1]), Path(sys.argv[2])
    for name, seed, k, split, accepted, weights in kept_children(children, sys.argv[3:]):
        spec = f"{name}:{seed}:{k}"
        prior_off, threshold = _prior_off_recalibrated(weights, accepted, seed)
        row = {"set": name, "seed": seed, "k": k, "B_threshold": threshold,
               "A": measure(weights, split.judged, accepted), "B": measure(prior_off, split.judged, accepted)}
        with open(out, "a") as sink:
            sink.write(json.dumps(row) + "\n")
        print(spec, *(f"{arm} {row[arm]['threshold']} box {row[arm]['interactive']['errors_per_instance']} "
                      f"bank {row[arm].get('bank', {}).get('errors_per_instance')}" for arm in "AB"), flush=True)


def _prior_off_recalibrated(weights: Path, accepted, seed: int) -> tuple[Path, float]:
    """The child with `detection_size_tolerance` 0 and its threshold chosen again as the recipe chooses it."""
    from common.settings import Settings
    from model.checkpoint import load_checkpoint, save_checkpoint
    from model.predictor import Predictor
    from model.training.finetune import FIXED_THRESHOLD, FineTuneSettings
    from model.training.holdout_effort import judge_on_holdout
    from model.training.holdout_split import split_holdout

    model, card = load_checkpoint(weights)
    model.config = model.config.replace(detection_size_tolerance=0.0)
    split = split_holdout(accepted, FineTuneSettings().holdout_fraction, seed)
    assert len(split.holdout.images) == card.training["holdout_images"], "not the child's own split"
    judgement = judge_on_holdout(Predictor(model, version=card.version, fold_batch_norm=True), split.holdout,
                                 split.train, Settings())
    threshold = judgement.calibrate().threshold if judgement else FIXED_THRESHOLD
    model.config = model.config.replace(detection_min_confidence=threshold)
    path = Path(tempfile.mkdtemp()) / weights.name
    save_checkpoint(model, path, card)
    return path, threshold


if __name__ == "__main__":
    main()
