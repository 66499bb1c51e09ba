"""The recipe's rules for whether a fine-tuned version's drawn boxes are joined by their label's own accepted
exemplars (config `detection_drawn_bank`, `model.answering.with_own_bank`; `FineTuneSettings.drawn_bank`,
TRAIN_DRAWN_BANK). Session 23 measured both rules against "off" on fresh children and adopted neither
(docs/learning-loop.md): "off" is the recipe's default.

- `held-out` (`decide_on_held_out`): the drawn mode is judged again on the held-out slice with the join, and the
  join is kept only where the mean effort of the two modes, each judgement at its own calibrated threshold, is
  strictly lower;
- `where-bank-pays` (`join_where_bank_pays`): the join is kept where the version's bank answers at its calibrated
  threshold (the recipe's step 5 verdict), and the threshold is calibrated again with it.

Each takes the child's `model.predictor.Predictor` (its config's `detection_drawn_bank` is set as decided) and
returns the card's `training.drawn_bank` record: `{"value": bool, "why": str[, "holdout_effort": {...}]}`.
Nothing here imports TensorFlow: the judging is passed in as callables.
"""

from __future__ import annotations

from model.training.holdout_effort import BANK, INTERACTIVE, effort_text, kept_if_cheaper

__all__ = ["DRAWN_BANK_RULES", "decide_on_held_out", "join_where_bank_pays"]

DRAWN_BANK_RULES = ("off", "held-out", "where-bank-pays")
"""`FineTuneSettings.drawn_bank`'s values (TRAIN_DRAWN_BANK's choices in `common.settings` are the same, tested)."""
NOTHING_TO_JUDGE = ("no held-out image with 2 objects of a label to judge a drawn box on: the drawn label's bank "
                    "does not join")


def decide_on_held_out(child, judgement, tie_break: str, judge_drawn_again):
    """The "held-out" rule: `(the judgement that stands, the card's record)`.

    The drawn mode is judged a second time with the join; the bank mode does not change with it and keeps its sweep.
    The join is kept only when the mean effort over the modes, each judgement at its own calibrated threshold, is
    strictly lower with it (a tie keeps it off: it costs an answer from the bank per drawn box).

    Args:
        child: the child's `Predictor`; judgement: its `HoldoutJudgement` without the join, or None (nothing held
            out); tie_break: the calibration's; judge_drawn_again: judges `child`'s drawn mode alone (a
            `HoldoutJudgement` with the interactive mode, or None).
    """
    if judgement is None or INTERACTIVE not in judgement.summaries:
        return judgement, {"value": False, "why": NOTHING_TO_JUDGE}

    def joined():
        drawn = judge_drawn_again()
        return judgement.with_mode_of(drawn, INTERACTIVE) if drawn and INTERACTIVE in drawn.summaries else None

    kept, standing, without, with_bank = kept_if_cheaper(child, "detection_drawn_bank", judgement, joined, tie_break)
    record = {"holdout_effort": {"drawn_answer_alone": without, "drawn_label_bank_joins": with_bank}}
    if kept:
        return standing, record | {"value": True, "why": f"the drawn label's exemplars join a drawn box's answer: "
                                                         f"held-out effort {with_bank:.4f} against {without:.4f}"}
    return judgement, record | {"value": False, "why": f"the drawn label's exemplars do not lower the held-out "
                                                       f"effort ({effort_text(with_bank)} against {without:.4f}): a "
                                                       "drawn box is answered from the box alone"}


def join_where_bank_pays(child, judgement, copies, calibration, tie_break: str, bank_verdict, judge_drawn_again):
    """The "where-bank-pays" rule: `(the judgement that stands, the calibration, the card's record)`.

    Where the child's bank answers at its calibrated threshold, its drawn mode is judged again with the join, on the
    held-out slice and (when `copies` took part in the calibration) on its shifted copies; the bank mode keeps its
    sweeps, and the threshold is calibrated again on the modes with the join. Where the bank does not answer, a drawn
    box is answered from the box alone. A bank that finds the project's objects on the held-out images helps a drawn
    box find the ones the box alone misses; a bank that suggests background only adds errors (session 22: coco128).

    Args:
        child: the child's `Predictor`; judgement: the slice's `HoldoutJudgement` without the join (None: nothing
            held out); copies: the copies' judgement (None: the slice alone calibrates); calibration: the threshold
            chosen without the join (None: nothing held out);
        bank_verdict: the recipe's step 5 at that threshold (`{"value", "why"}`), or None;
        judge_drawn_again: `() -> (the slice's drawn-mode judgement, the copies' or None)`, with the join on.
    """
    if judgement is None or calibration is None or INTERACTIVE not in judgement.summaries:
        return judgement, calibration, {"value": False, "why": NOTHING_TO_JUDGE}
    if BANK not in judgement.summaries or not bank_verdict or not bank_verdict["value"]:
        child.config = child.config.replace(detection_drawn_bank=False)
        why = bank_verdict["why"] if bank_verdict else "no held-out bank trial"
        return judgement, calibration, {"value": False, "why": f"the bank does not answer ({why}): a drawn box is "
                                                               "answered from the box alone"}
    child.config = child.config.replace(detection_drawn_bank=True)
    drawn, drawn_copies = judge_drawn_again()
    joined = judgement.with_mode_of(drawn, INTERACTIVE)
    if copies is not None and drawn_copies is not None and INTERACTIVE in drawn_copies.summaries:
        copies = copies.with_mode_of(drawn_copies, INTERACTIVE)
    again = joined.combined(copies).calibrate(tie_break)
    record = {"value": True,
              "why": f"the bank answers ({bank_verdict['why']}): the drawn label's exemplars join a drawn box's "
                     f"answer, and the threshold is calibrated again with them ({calibration.threshold:g} -> "
                     f"{again.threshold:g})",
              "holdout_effort": {"drawn_answer_alone": judgement.figures_at(calibration.threshold)["effort"],
                                 "drawn_label_bank_joins": joined.figures_at(again.threshold)["effort"]}}
    return joined, again, record
