"""Pre-registration 2: this session's children as the recipe made them before the frame convention (A), and with
it: the convention read off their own training images, and if it says skip, the threshold re-calibrated on their
own held-out slice by the recipe's steps 4-5 (B); each measured in both modes on the judged images. Usage:

    PYTHONPATH=. python bench/results/exp-session16/frame_children.py CHILDREN_DIR OUT.jsonl SET:SEED:K ...
"""

import json
import sys
import tempfile
from pathlib import Path

from bench.effort_curve import measure

sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session15"))
from size_children import kept_children  # session 15's kept-children loop (the curve's split)


def main():
    children, out = Path(sys.argv[1]), Path(sys.argv[2])
    for name, seed, k, split, accepted, weights in kept_children(children, sys.argv[3:]):
        row = {"set": name, "seed": seed, "k": k, "A": _measured(children, name, seed, k)}
        with_rule, convention, threshold = _with_convention(weights, accepted, seed)
        row |= {"convention": convention, "B_threshold": threshold}
        row["B"] = measure(with_rule, split.judged, accepted) if convention["skip"] else row["A"]
        with open(out, "a") as sink:
            sink.write(json.dumps(row) + "\n")
        print(f"{name}:{seed}:{k}", convention["why"],
              *(f"{arm} {row[arm]['threshold']} box {row[arm]['interactive']['errors_per_instance']} bank "
                f"{row[arm].get('bank', {}).get('errors_per_instance')}" for arm in "AB"), flush=True)


def _measured(children: Path, name: str, seed: int, k: int) -> dict:
    """Arm A: the child's figures as children.py measured them when it made the child (`bench.effort_curve.measure`
    on the same judged images)."""
    with open(children / "children.jsonl") as lines:
        for line in lines:
            row = json.loads(line)
            if (row["set"], row["seed"], row["k"]) == (name, seed, k):
                return {key: row[key] for key in ("threshold", "sweep", "interactive", "bank") if key in row}
    raise LookupError(f"{name}:{seed}:{k} is not in {children / 'children.jsonl'}")


def _with_convention(weights: Path, accepted, seed: int):
    """The child with the recipe's frame step (part 2: the labels' statistics alone; part 3, `RULE=confirmed`: and
    the held-out slice's confirmation, `finetune._frame_step`) and, when it says skip, its threshold chosen again as
    the recipe chooses it."""
    import os

    from common.settings import Settings
    from model.checkpoint import load_checkpoint, save_checkpoint
    from model.predictor import Predictor
    from model.training.finetune import FIXED_THRESHOLD, FineTuneSettings, _frame_step, frame_convention
    from model.training.holdout_effort import judge_on_holdout
    from model.training.holdout_split import split_holdout

    model, card = load_checkpoint(weights)
    split = split_holdout(accepted, FineTuneSettings().holdout_fraction, seed)
    assert len(split.holdout.images) == card.training["holdout_images"], "not the child's own split"
    convention = frame_convention(split.train)
    if not convention.skip:
        return weights, convention.to_dict(), float(model.config.detection_min_confidence)
    child = Predictor(model, version=card.version, fold_batch_norm=True)
    if os.environ.get("RULE") == "confirmed":
        judgement = judge_on_holdout(child, split.holdout, split.train, Settings())
        skip, judgement, record = _frame_step(convention, child, judgement,
                                              lambda: judge_on_holdout(child, split.holdout, split.train, Settings()))
        if not skip:
            return weights, record, float(model.config.detection_min_confidence)
    else:
        record = convention.to_dict()
        child.config = child.config.replace(detection_skip_border=True)
        judgement = judge_on_holdout(child, split.holdout, split.train, Settings())
    threshold = judgement.calibrate().threshold if judgement else FIXED_THRESHOLD
    model.config = model.config.replace(detection_skip_border=True, detection_min_confidence=threshold)
    path = Path(tempfile.mkdtemp()) / weights.name
    save_checkpoint(model, path, card)
    return path, record, threshold


if __name__ == "__main__":
    main()
