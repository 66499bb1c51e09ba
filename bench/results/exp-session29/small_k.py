"""Session 29 part 3 (prereg.md, arm K2C): fresh children of the default (v13) by the recipe as it is, k accepted
images of the curve's split, measured in the drawn mode on the curve's judged images with the claims off (as
trained) and on. Usage:

    PYTHONPATH=. python bench/results/exp-session29/small_k.py SET:SEED:K [...]

Appends `{"arm": "K2", "set", "seed", "k", "off", "on", "gate", ...}` to rows.jsonl here.
"""
import json
import logging
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
ROWS = HERE / "rows.jsonl"
PARENT = ROOT / "checkpoints" / "mobile-coco128.weights.h5"
OUT = ROOT / "runs" / "s29" / "small-k"
TIME_BUDGET_S = 900.0
"""As the curves (`curves.sh`): the step count (150), not the Train button's 90 s, ends training."""

sys.path.insert(0, str(HERE.parent / "finetune-session14"))
from children import args_for  # session 14: the curve's split per seed  # noqa: E402


def main():
    from bench.effort_curve import load_split, measure
    from model.checkpoint import load_checkpoint, save_checkpoint
    from model.training.finetune import FineTuneSettings, finetune

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    OUT.mkdir(parents=True, exist_ok=True)
    for spec in sys.argv[1:]:
        started = time.monotonic()
        name, seed, k = spec.split(":")
        seed, k = int(seed), int(k)
        split = load_split(name, args_for(seed), 10)
        accepted = split.accepted(k)
        path = OUT / f"{name}-s{seed}-k{k}.weights.h5"
        result = finetune(PARENT, accepted, path, f"{name}-s{seed}-k{k}",
                          FineTuneSettings(seed=seed, time_budget_s=TIME_BUDGET_S))
        row = {"arm": "K2", "set": name, "seed": seed, "k": k, "steps": result.steps,
               "gate": result.effort_gate()[0], "threshold": result.card.training["score_threshold"]["value"]}
        off = measure(path, split.judged, accepted, modes=("interactive",))
        model, card = load_checkpoint(path, detection_label_claims=True)
        claimed = save_checkpoint(model, OUT / f"{name}-s{seed}-k{k}.claims.weights.h5", card)
        del model
        on = measure(claimed, split.judged, accepted, modes=("interactive",))
        row |= {"off": off["interactive"]["errors_per_instance"], "on": on["interactive"]["errors_per_instance"],
                "figures_off": off["interactive"], "figures_on": on["interactive"],
                "seconds": round(time.monotonic() - started, 1)}
        with open(ROWS, "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE K2 %s: off %s on %s", spec, row["off"], row["on"])


if __name__ == "__main__":
    main()
