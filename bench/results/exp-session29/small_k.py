"""Session 29 part 3 (prereg.md, arm K2C): fresh children of the default (v13) by the recipe as it is, k accepted
images of the curve's split, measured in the drawn mode on the curve's judged images with the claims off (as
trained) and on. Usage:

    PYTHONPATH=. python bench/results/exp-session29/small_k.py SET:SEED:K [...]

Appends `{"arm": "K2", "set", "seed", "k", "off", "on", "gate", ...}` to rows.jsonl here.
"""
import logging
import sys
from pathlib import Path

from study import append, each_spec, saved_with

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
ROWS = HERE / "rows.jsonl"
PARENT = ROOT / "checkpoints" / "mobile-coco128.weights.h5"
OUT = ROOT / "runs" / "s29" / "small-k"
TIME_BUDGET_S = 900.0
"""As the curves (`curves.sh`): the step count (150), not the Train button's 90 s, ends training."""


def main():
    from bench.effort_curve import measure
    from model.training.finetune import FineTuneSettings, finetune

    OUT.mkdir(parents=True, exist_ok=True)
    for name, seed, k, split, accepted, seconds in each_spec(sys.argv[1:]):
        path = OUT / f"{name}-s{seed}-k{k}.weights.h5"
        result = finetune(PARENT, accepted, path, f"{name}-s{seed}-k{k}",
                          FineTuneSettings(seed=seed, time_budget_s=TIME_BUDGET_S))
        row = {"arm": "K2", "set": name, "seed": seed, "k": k, "steps": result.steps,
               "gate": result.effort_gate()[0], "threshold": result.card.training["score_threshold"]["value"]}
        off = measure(path, split.judged, accepted, modes=("interactive",))
        claimed = saved_with(path, OUT / f"{name}-s{seed}-k{k}.claims.weights.h5", detection_label_claims=True)
        on = measure(claimed, split.judged, accepted, modes=("interactive",))
        row |= {"off": off["interactive"]["errors_per_instance"], "on": on["interactive"]["errors_per_instance"],
                "figures_off": off["interactive"], "figures_on": on["interactive"], "seconds": seconds()}
        append(ROWS, row)
        logging.info("DONE K2 %s:%d:%d: off %s on %s", name, seed, k, row["off"], row["on"])


if __name__ == "__main__":
    main()
