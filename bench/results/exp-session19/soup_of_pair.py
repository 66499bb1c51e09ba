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
    from model.checkpoint import load_checkpoint

    for out, child, judged, card, path, started in each_judged(sys.argv[1:]):
        refit, _ = load_checkpoint(path)
        assert judged.config == refit.config, "the pair carries the same decisions"
        measure_soup(judged, card, refit.get_weights(), out, path.name.split(".")[0], "soup", "S", child, started)


def each_judged(argv):
    """`OUTDIR SET:SEED:K ...` -> per child `(out, (spec, name, seed, k, split, accepted), judged model, its card,
    the refit's path, start time)`, the judged child loaded from part 1's OUTDIR."""
    from model.checkpoint import load_checkpoint

    out = Path(argv[0])
    for _, _, spec, name, seed, k, split, accepted, path in each_child(["unused", *argv]):
        started = time.monotonic()
        judged, card = load_checkpoint(out / f"{name}-s{seed}-k{k}.judged.weights.h5")
        yield out, (spec, name, seed, k, split, accepted), judged, card, path, started


def measure_soup(judged, card, other_weights, out: Path, stem: str, kind: str, arm: str, child, started: float):
    """Average `judged` with `other_weights` (uniform), save it as OUTDIR/<stem>.<kind>.weights.h5 with the judged
    child's card and decisions, measure it at its threshold and append the row to OUTDIR/<arm's file>."""
    from model.checkpoint import save_checkpoint
    from model.training.averaging import average_weights

    spec, name, seed, k, split, accepted = child
    judged.set_weights(average_weights([judged.get_weights(), other_weights]))
    soup = save_checkpoint(judged, out / f"{stem}.{kind}.weights.h5",
                           replace(card, version=card.version.replace("-judged", f"-{kind}")))
    measured = measure(soup, split.judged, accepted)
    sweep = measured["sweep"]
    row = {"set": name, "seed": seed, "k": k, arm: at(sweep, measured["threshold"]),
           "oracle": {mode: min(sweep[mode]) for mode in ("interactive", "bank") if mode in sweep},
           "sweep": sweep, "seconds": round(time.monotonic() - started, 1)}
    with open(out / ("soup.jsonl" if arm == "S" else "two_runs.jsonl"), "a") as sink:
        sink.write(json.dumps(row) + "\n")
    logging.info("DONE %s: %s %s", spec, arm, row[arm])


if __name__ == "__main__":
    main()
