"""Session 25 part 1 (prereg.md): kept children re-judged and re-calibrated by the recipe's steps 3-6 with a tie on
the held-out slice following the labels' frame convention (arm FT: `finetune.FRAME_TIE_FOLLOWS_LABELS`; arm FM: that and `frame_convention.CUT_BY_MASK`, part 4), or as
today (arm CL, the check that re-judging gives the training-time row), then measured on the curve's judged images
in both modes at that threshold (session 22's `judged_again` / `measured_row`). Usage:

    PYTHONPATH=. python bench/results/exp-session25/frame_tie.py OUTDIR ARM SET:SEED:K [SET:SEED:K ...]

Appends one row per child to bench/results/exp-session25/rows.jsonl (`frame`: the record of the frame step).
"""
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session20"))
sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session22"))
from runs_children import each_child
from seeded_claims import judged_again, measured_row

ROWS = Path(__file__).parent / "rows.jsonl"
ARMS = {"CL": (False, False), "FT": (True, False), "FM": (True, True), "W2": (False, False)}
"""Per arm: (a held-out tie follows the labels, "cut" read off the suggestion's mask: part 4). Arm W2 is CL run by
the recipe after part 3 adopted rule W2 (`step_five_calibration`, wide ties): the check that the recipe picks the
threshold `threshold_rules.py` read off for W2."""


def rejudge(out_dir: str, specs: list[str], arm: str, tag: str, rows: Path, check=None) -> None:
    """Each child `SET:SEED:K` of `specs` in `out_dir` re-judged by steps 3-6 as the modules stand (`judged_again`),
    saved as `<stem>.<tag>-<arm>.weights.h5` and measured; one row per child appended to `rows`. `check(card)`, if
    given, runs on each child's card first (session 26: the parent it came from)."""
    from model.checkpoint import load_checkpoint, save_checkpoint

    for _, out, spec, name, seed, k, split, accepted, path in each_child(["-", out_dir, *specs]):
        started = time.monotonic()
        stem = path.name.removesuffix(".weights.h5")
        model, card = load_checkpoint(path)
        if check is not None:
            check(card)
        model, judgement, calibration, bank, frame = judged_again(model, card, {}, seed, accepted, tag)
        saved = save_checkpoint(model, out / f"{stem}.{tag}-{arm}.weights.h5", card)
        del model
        row = measured_row(arm, name, seed, k, saved, split, accepted, bank, calibration, judgement, started,
                           frame=frame)
        with open(rows, "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE %s %s: %s skip=%s witness=%s", arm, spec, row["at"], frame.get("skip"),
                     frame.get("witness"))


def main():
    import model.frame_convention as frame_convention
    import model.training.finetune as finetune

    out_dir, arm = sys.argv[1], sys.argv[2]
    finetune.FRAME_TIE_FOLLOWS_LABELS, frame_convention.CUT_BY_MASK = ARMS[arm]
    rejudge(out_dir, sys.argv[3:], arm, "s25", ROWS)


if __name__ == "__main__":
    main()
