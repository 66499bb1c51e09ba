"""Session 14: session 13's children script with the parent as an argument (fine-tune and KEEP children, recipe
defaults, 150 steps; measure them as bench.effort_curve does).

    PYTHONPATH=. .venv/bin/python bench/results/finetune-session14/children.py PARENT OUTDIR SET:SEED:K [SET:SEED:K ...]
"""
import argparse
import json
import logging
import sys
import time
from pathlib import Path

from bench.effort_curve import SetAbsent, load_split, measure  # noqa: F401
from model.training.finetune import FineTuneSettings, finetune


def args_for(seed):
    return argparse.Namespace(droplets_dir=Path("../shared/data/droplets"), judged=30, seed=seed,
                              classes="person,chair", synthetic_images=40)


def each_child(argv):
    """`PARENT OUTDIR SET:SEED:K ...` -> per child `(parent, out, spec, name, seed, k, split, accepted, path)`: the
    curve's split and the child's checkpoint path in OUTDIR (made). Logging goes to stderr with times."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    parent, out = argv[0], Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for spec in argv[2:]:
        name, seed, k = spec.split(":")
        seed, k = int(seed), int(k)
        split = load_split(name, args_for(seed), 10)
        yield (parent, out, spec, name, seed, k, split, split.accepted(k),
               out / f"{name}-s{seed}-k{k}.weights.h5")


def main():
    for parent, out, spec, name, seed, k, split, accepted, path in each_child(sys.argv[1:]):
        started = time.monotonic()
        result = finetune(parent, accepted, path, f"s14-{name}-s{seed}-k{k}",
                          FineTuneSettings(seed=seed, max_steps=150, time_budget_s=900))
        row = {"set": name, "seed": seed, "k": k, "steps": result.steps, "gate": result.effort_gate()[0],
               "threshold": result.card.metrics["calibration"] and result.card.metrics["calibration"]["threshold"],
               "finetune_s": round(result.seconds, 1)}
        row |= measure(result.weights_path, split.judged, accepted)
        row["seconds"] = round(time.monotonic() - started, 1)
        with open(out / "children.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        logging.info("DONE %s: box %s bank %s", spec, row["interactive"]["errors_per_instance"],
                     row.get("bank", {}).get("errors_per_instance"))


if __name__ == "__main__":
    main()
