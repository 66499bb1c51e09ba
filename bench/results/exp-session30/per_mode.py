"""Session 30 part 1 (prereg.md, arm PM): fresh children of the default (v13) by the recipe as it is, k accepted
images of the curve's split; per child its card's held-out figures per mode (what the gate reads) and, on the curve's
judged images with the seed's accepted images as the bank, the child and the parent in both modes. Usage:

    PYTHONPATH=. python bench/results/exp-session30/per_mode.py SET:SEED:K [...]

Appends `{"arm": "PM", "set", "seed", "k", "gate", "holdout": card metrics.holdout, "child": figures, "parent":
figures}` to rows.jsonl here (figures as `bench.effort_curve.measure`).
"""
import logging
import sys

from fresh import ROWS, append, both_measured, each_spec, fresh_child


def main():
    for name, seed, k, split, accepted, seconds in each_spec(sys.argv[1:]):
        path, result = fresh_child(name, seed, k, accepted)
        row = {"arm": "PM", "set": name, "seed": seed, "k": k, "steps": result.steps,
               "gate": result.effort_gate()[0], "threshold": result.card.training["score_threshold"]["value"],
               "holdout": result.card.metrics["holdout"]}
        row |= both_measured(path, split, accepted)
        row["seconds"] = seconds()
        append(ROWS, row)
        logging.info("DONE PM %s:%d:%d", name, seed, k)


if __name__ == "__main__":
    main()
