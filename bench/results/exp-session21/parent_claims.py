"""Session 21 (report): the parent (the shipped checkpoint, no fine-tuning) answering drawn boxes with and without
the label claims, the accepted images' exemplars claiming (a project whose first version is not trained yet). On
the curve's judged images of each allowed split; errors per instance per threshold of the sweep. Usage:

    PYTHONPATH=. python bench/results/exp-session21/parent_claims.py PARENT SET:SEED:K [SET:SEED:K ...]

Appends `{"set", "seed", "k", "threshold", "plain", "claims"}` (each: the measure's sweep with a box drawn, and the
figure at the parent's threshold) to bench/results/exp-session21/parent_claims.jsonl.
"""
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session20"))
from runs_children import at, each_child, measure

ROWS = Path(__file__).parent / "parent_claims.jsonl"


def main():
    from model.checkpoint import load_checkpoint, save_checkpoint

    parent = sys.argv[1]
    with tempfile.TemporaryDirectory() as scratch:
        model, card = load_checkpoint(parent)
        model.config = model.config.replace(detection_label_claims=True)
        claiming = save_checkpoint(model, Path(scratch) / "claims.weights.h5", card)
        del model
        for _, _, spec, name, seed, k, split, accepted, _ in each_child([parent, scratch, *sys.argv[2:]]):
            row = {"set": name, "seed": seed, "k": k}
            for arm, weights in (("plain", parent), ("claims", claiming)):
                sweep = measure(Path(weights), split.judged, accepted)
                row["threshold"] = sweep["threshold"]
                row[arm] = {"at_threshold": at(sweep["sweep"], sweep["threshold"])["interactive"],
                            "sweep": sweep["sweep"]["interactive"]}
            with open(ROWS, "a") as sink:
                sink.write(json.dumps(row) + "\n")
            print(spec, row["plain"]["at_threshold"], row["claims"]["at_threshold"], flush=True)


if __name__ == "__main__":
    main()
