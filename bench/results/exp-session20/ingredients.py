"""Session 20's diagnostic (prereg.md): each run of an R2 child alone (its `<stem>.run<r>.npz`), with the soup's
threshold and decisions (the child's card), measured as `runs_children.py` measures the soup. Usage:

    PYTHONPATH=. python bench/results/exp-session20/ingredients.py PARENT OUTDIR SET:SEED:K [SET:SEED:K ...]

(OUTDIR: where `runs_children.py` kept the children.) Appends `{"set", "seed", "k", "run", "at": {threshold,
interactive, bank}, "sweep"}` per run to OUTDIR/ingredients.jsonl.
"""
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from runs_children import RUNS, at, each_child, measure, with_run  # part 1's loop, read-off and runs


def main():
    from model.checkpoint import save_checkpoint

    for _, out, spec, name, seed, k, split, accepted, path in each_child(sys.argv[1:]):
        stem = path.name.removesuffix(".weights.h5")
        for run in range(RUNS):
            model, card = with_run(path, run)
            alone = save_checkpoint(model, out / f"{stem}.run{run}.weights.h5", card)
            del model
            sweep = measure(alone, split.judged, accepted)
            row = {"set": name, "seed": seed, "k": k, "run": run, "at": at(sweep["sweep"], sweep["threshold"]),
                   "sweep": sweep["sweep"]}
            with open(out / "ingredients.jsonl", "a") as sink:
                sink.write(json.dumps(row) + "\n")
            logging.info("DONE %s run %d: %s", spec, run, row["at"])


if __name__ == "__main__":
    main()
