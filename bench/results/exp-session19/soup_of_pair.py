"""Session 19, part 2 (prereg.md, report only): the uniform mean of each child's judged weights (arm C) and its
refit (arm F), kept by `refit_children.py` in its OUTDIR, measured at the recipe's threshold with the judged child's
decisions (arm S). Usage:

    PYTHONPATH=. python bench/results/exp-session19/soup_of_pair.py OUTDIR SET:SEED:K [SET:SEED:K ...]

Appends to OUTDIR/soup.jsonl per child `{"set", "seed", "k", "S": {threshold, interactive, bank}, "oracle",
"sweep", "seconds"}` (errors per instance, as `bench.effort_curve.measure` counts them).
"""
import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

from bench.effort_curve import measure

sys.path.insert(0, str(Path(__file__).parents[1] / "finetune-session14"))
sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session17"))
from children import each_child  # session 14's loop over the children asked for (the curve's splits)
from shift_children import at  # session 17's read-off of a judged sweep at a threshold


def main():
    from model.checkpoint import load_checkpoint, save_checkpoint
    from model.training.averaging import average_weights

    out = Path(sys.argv[1])
    for _, _, spec, name, seed, k, split, accepted, path in each_child(["unused", *sys.argv[1:]]):
        started = time.monotonic()
        judged, card = load_checkpoint(out / f"{name}-s{seed}-k{k}.judged.weights.h5")
        refit, _ = load_checkpoint(path)
        assert judged.config == refit.config, "the pair carries the same decisions"
        judged.set_weights(average_weights([judged.get_weights(), refit.get_weights()]))
        del refit
        soup = save_checkpoint(judged, out / f"{name}-s{seed}-k{k}.soup.weights.h5",
                               replace(card, version=card.version.replace("-judged", "-soup")))
        del judged
        measured = measure(soup, split.judged, accepted)
        sweep = measured["sweep"]
        row = {"set": name, "seed": seed, "k": k, "S": at(sweep, measured["threshold"]),
               "oracle": {mode: min(sweep[mode]) for mode in ("interactive", "bank") if mode in sweep},
               "sweep": sweep, "seconds": round(time.monotonic() - started, 1)}
        with open(out / "soup.jsonl", "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE %s: S %s", spec, row["S"])


if __name__ == "__main__":
    main()
