"""Session 13: fine-tune and KEEP children (recipe defaults, 150 steps), measure them as bench.effort_curve does.

    PYTHONPATH=. .venv/bin/python runs/s13/children.py SET:SEED:K [SET:SEED:K ...]
"""
import argparse
import json
import logging
import sys
import time
from pathlib import Path

from bench.effort_curve import SetAbsent, load_split, measure  # noqa: F401
from bench.learning_curve import SHIPPED_CHECKPOINT
from model.training.finetune import FineTuneSettings, finetune

OUT = Path("runs/s13/children")


def args_for(seed):
    return argparse.Namespace(droplets_dir=Path("../shared/data/droplets"), judged=30, seed=seed,
                              classes="person,chair", synthetic_images=40)


def main():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for spec in sys.argv[1:]:
        name, seed, k = spec.split(":")
        seed, k = int(seed), int(k)
        split = load_split(name, args_for(seed), 10)
        accepted = split.accepted(k)
        path = OUT / f"{name}-s{seed}-k{k}.weights.h5"
        started = time.monotonic()
        result = finetune(SHIPPED_CHECKPOINT, accepted, path, f"s13-{name}-s{seed}-k{k}",
                          FineTuneSettings(seed=seed, max_steps=150, time_budget_s=400))
        row = {"set": name, "seed": seed, "k": k, "steps": result.steps, "gate": result.effort_gate()[0],
               "threshold": result.card.metrics["calibration"] and result.card.metrics["calibration"]["threshold"],
               "finetune_s": round(result.seconds, 1)}
        row |= measure(result.weights_path, split.judged, accepted)
        row["seconds"] = round(time.monotonic() - started, 1)
        with open(OUT.parent / "children.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        logging.info("DONE %s: box %s bank %s", spec, row["interactive"]["errors_per_instance"],
                     row.get("bank", {}).get("errors_per_instance"))


if __name__ == "__main__":
    main()
