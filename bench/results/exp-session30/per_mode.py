"""Session 30 part 1 (prereg.md, arm PM): fresh children of the default (v13) by the recipe as it is, k accepted
images of the curve's split; per child its card's held-out figures per mode (what the gate reads) and, on the curve's
judged images with the seed's accepted images as the bank, the child and the parent in both modes. Usage:

    PYTHONPATH=. python bench/results/exp-session30/per_mode.py SET:SEED:K [...]

Appends `{"arm": "PM", "set", "seed", "k", "gate", "holdout": card metrics.holdout, "child": figures, "parent":
figures}` to rows.jsonl here (figures as `bench.effort_curve.measure`).
"""
import logging
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "exp-session29"))
from study import append, each_spec  # session 29: one child per SET:SEED:K with the curve's split  # noqa: E402

ROOT = HERE.parents[2]
ROWS = HERE / "rows.jsonl"
PARENT = ROOT / "checkpoints" / "mobile-coco128.weights.h5"
OUT = ROOT / "runs" / "s30" / "children"
TIME_BUDGET_S = 900.0
"""As the curves (`exp-session29/curves.sh`): the step count (150), not the Train button's 90 s, ends training."""


def main():
    from bench.effort_curve import measure
    from model.training.finetune import FineTuneSettings, finetune

    OUT.mkdir(parents=True, exist_ok=True)
    for name, seed, k, split, accepted, seconds in each_spec(sys.argv[1:]):
        path = OUT / f"{name}-s{seed}-k{k}.weights.h5"
        result = finetune(PARENT, accepted, path, f"{name}-s{seed}-k{k}",
                          FineTuneSettings(seed=seed, time_budget_s=TIME_BUDGET_S))
        row = {"arm": "PM", "set": name, "seed": seed, "k": k, "steps": result.steps,
               "gate": result.effort_gate()[0], "threshold": result.card.training["score_threshold"]["value"],
               "holdout": result.card.metrics["holdout"]}
        row["child"] = measure(path, split.judged, accepted)
        row["parent"] = measure(PARENT, split.judged, accepted)
        row["seconds"] = seconds()
        append(ROWS, row)
        logging.info("DONE PM %s:%d:%d", name, seed, k)


if __name__ == "__main__":
    main()
