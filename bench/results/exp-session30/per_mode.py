"""Session 30 part 1 (prereg.md, arm PM): fresh children of the default (v13) by the recipe as it is, k accepted
images of the curve's split; per child its card's held-out figures per mode (what the gate reads) and, on the curve's
judged images with the seed's accepted images as the bank, the child and the parent in both modes. Usage:

    PYTHONPATH=. python bench/results/exp-session30/per_mode.py SET:SEED:K [...]

Appends `{"arm": "PM", "set", "seed", "k", "gate", "holdout": card metrics.holdout, "child": figures, "parent":
figures}` to rows.jsonl here (figures as `bench.effort_curve.measure`).
"""
import sys

from fresh import study


def main():
    study("PM", sys.argv[1:], lambda path, result, accepted: {
        "gate": result.effort_gate()[0], "holdout": result.card.metrics["holdout"]})


if __name__ == "__main__":
    main()
