"""Session 28 part 6 (prereg.md, arm PC0): the default parent v12 answering drawn boxes on the curve's judged images
with each deciding child's k accepted images as the project's bank, its label claims on (its card) and off. Usage:

    PYTHONPATH=. python bench/results/exp-session28/parent_claims.py SET:SEED:K [...]

Appends `{"arm": "PC0", "set", "seed", "k", "on", "off"}` (errors per instance with a box drawn) to rows.jsonl here.
"""
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "finetune-session14"))
from children import args_for  # session 14: the curve's split per seed

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
ROWS = HERE / "rows.jsonl"


def main():
    from bench.effort_curve import load_split, measure
    from model.checkpoint import load_checkpoint, save_checkpoint

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    parents = {}
    for claims in (True, False):
        model, card = load_checkpoint(ROOT / "checkpoints" / "mobile-coco128.weights.h5",
                                      detection_label_claims=claims)
        parents[claims] = save_checkpoint(model, ROOT / "runs" / "s28" / f"v12-claims-{claims}.weights.h5", card)
        del model
    for spec in sys.argv[1:]:
        name, seed, k = spec.split(":")
        seed, k = int(seed), int(k)
        split = load_split(name, args_for(seed), 10)
        row = {"arm": "PC0", "set": name, "seed": seed, "k": k}
        for claims, key in ((True, "on"), (False, "off")):
            got = measure(parents[claims], split.judged, split.accepted(k), modes=("interactive",))
            row[key] = got["interactive"]["errors_per_instance"]
        with open(ROWS, "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE PC0 %s: %s", spec, row)


if __name__ == "__main__":
    main()
