"""Session 23 (prereg.md): fresh one-run children of today's recipe (150 steps, defaults otherwise), trained and
judged by the recipe itself, then measured on the curve's judged images at the recipe's threshold, both modes: the
arm CL (today) of session 23's decision. Usage:

    PYTHONPATH=. python bench/results/exp-session23/fresh_children.py PARENT OUTDIR SET:SEED:K [SET:SEED:K ...]

Appends to bench/results/exp-session23/rows.jsonl per child `{"arm": "CL", "set", "seed", "k", "threshold",
"bank_answers", "gate", "at", "oracle", "sweep", "holdout_sweeps", "seconds"}` (errors per instance).
"""
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session20"))
from runs_children import at, each_child, measure, sweep_best

ROWS = Path(__file__).parent / "rows.jsonl"


def main():
    from model.training.finetune import FineTuneSettings, finetune

    for parent, _out, spec, name, seed, k, split, accepted, path in each_child(sys.argv[1:]):
        started = time.monotonic()
        result = finetune(parent, accepted, path, f"s23-{name}-s{seed}-k{k}",
                          FineTuneSettings(seed=seed, max_steps=150, time_budget_s=900))
        sweep = measure(result.weights_path, split.judged, accepted)
        training = result.card.training
        row = {"arm": "CL", "set": name, "seed": seed, "k": k, "threshold": sweep["threshold"],
               "bank_answers": training["bank_answers"]["value"], "gate": result.effort_gate()[0],
               "steps": result.steps, "at": at(sweep["sweep"], sweep["threshold"]),
               "oracle": sweep_best(sweep["sweep"]), "sweep": sweep["sweep"],
               "holdout_sweeps": result.card.metrics["holdout_sweeps"],
               "seconds": round(time.monotonic() - started, 1)}
        with open(ROWS, "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE %s: %s", spec, row["at"])


if __name__ == "__main__":
    main()
