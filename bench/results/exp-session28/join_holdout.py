"""Session 28 part 3 (prereg.md, arm VH): each kept child's own held-out slice judged in the drawn mode with its VP
checkpoint and its VU checkpoint (parts 1-2, `runs/s28`), the verifier's threshold read off the sweep; the child
keeps the join iff the slice's effort with it is strictly lower. Usage:

    PYTHONPATH=. python bench/results/exp-session28/join_holdout.py SET:SEED:K [...]

Appends `{"arm": "VH", "set", "seed", "k", "VP", "VU", "join"}` (the slice's drawn-mode effort at the verifier's
threshold, None without a drawn trial) to rows.jsonl here.
"""
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "finetune-session14"))
sys.path.insert(0, str(Path(__file__).parent))
from child_verifier import held_out_drawn  # parts 1 and 3 judge a child's held-out slice alike
from children import args_for  # session 14: the curve's split per seed

HERE = Path(__file__).parent
OUT = HERE.parents[2] / "runs" / "s28"
ROWS = HERE / "rows.jsonl"


def slice_effort(weights: Path, seed: int, accepted) -> float | None:
    """The held-out slice's drawn-mode effort at the checkpoint's verifier threshold (None: no drawn trial)."""
    from model.checkpoint import read_card
    from model.config import ModelConfig

    threshold = ModelConfig.from_dict(read_card(weights).config).drawn_box_threshold
    _, judgement = held_out_drawn(weights, seed, accepted, extra_thresholds=(threshold,))
    return None if judgement is None else judgement.figures_at(threshold)["effort"]


def main():
    from bench.effort_curve import load_split

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for spec in sys.argv[1:]:
        name, seed, k = spec.split(":")
        seed, k = int(seed), int(k)
        accepted = load_split(name, args_for(seed), 10).accepted(k)
        efforts = {arm: slice_effort(OUT / f"{name}-s{seed}-k{k}.s28-{arm}.weights.h5", seed, accepted)
                   for arm in ("VP", "VU")}
        join = efforts["VP"] is not None and efforts["VU"] < efforts["VP"]
        row = {"arm": "VH", "set": name, "seed": seed, "k": k, **efforts, "join": join}
        with open(ROWS, "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE VH %s: %s", spec, row)


if __name__ == "__main__":
    main()
