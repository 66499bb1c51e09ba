"""Session 26 parts 1 and 3 (prereg.md): kept children re-judged and re-calibrated by the recipe's steps 3-6 with a
tie on the held-out slice's frame judgement broken by the parent's witness on the accepted images (arm TA:
`model.training.frame_witness`, the parent `checkpoints/mobile-coco128.weights.h5` = v7), with the labels read by
a test (arm PE: `frame_convention.LABELS_BY_TEST`), the witness winning by more than one action (TA2:
`frame_witness.ONE_ACTION_TIE`) or PE and TA2 (PETA2), then measured on the curve's judged images in
both modes at that threshold (session 22's `judged_again` / `measured_row`). Usage:

    PYTHONPATH=. python bench/results/exp-session26/witness_tie.py [--arm TA|TA2|PE|PETA2] OUTDIR SET:SEED:K [...]

OUTDIR holds the children (`runs/s24`, `runs/s25`). Appends one row per child to rows.jsonl here (`frame`: the
frame step's record, with the witness when it was asked).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session25"))
from frame_tie import rejudge  # session 25's re-judging loop

ROWS = Path(__file__).parent / "rows.jsonl"
PARENT = Path(__file__).parents[3] / "checkpoints" / "mobile-coco128.weights.h5"


ARMS = {"TA": (True, False, False), "TA2": (True, False, True), "PE": (False, True, False),
        "PETA2": (True, True, True)}
"""Per arm: (a held-out tie asks the witness, the labels read by a test, the witness must win by more than one
action: part 4)."""


def main():
    import model.frame_convention as frame_convention
    import model.training.finetune as finetune
    import model.training.frame_witness as frame_witness
    from common.settings import Settings
    from model.checkpoint import load_checkpoint

    judge_child = finetune.judge_child

    def with_witness(model, version, holdout, train_set, answer_settings, **options):
        return judge_child(model, version, holdout, train_set, answer_settings,
                           witness=lambda: finetune.parent_witness(PARENT, train_set, Settings()), **options)

    argv = sys.argv[1:]
    arm = "TA"
    if argv[0] == "--arm":
        arm, argv = argv[1], argv[2:]
    witness, frame_convention.LABELS_BY_TEST, frame_witness.ONE_ACTION_TIE = ARMS[arm]
    if witness:
        finetune.judge_child = with_witness
    parent_version = load_checkpoint(PARENT)[1].version

    def of_v7(card):
        assert card.parent == parent_version, "not a child of v7"

    rejudge(argv[0], argv[1:], arm, "s26", ROWS, check=of_v7)


if __name__ == "__main__":
    main()
