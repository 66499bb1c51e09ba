"""The recipe's rules for whether the drawn label's own exemplars join a drawn box's answer
(`FineTuneSettings.drawn_bank`, `model.training.drawn_bank`): on the held-out slice's say, or where the bank pays."""

from __future__ import annotations

import pytest
from project_scenes import project

from model.training.holdout_effort import BANK, INTERACTIVE, HoldoutJudgement

SWEEP = (0.5, 0.9)


def _rows(efforts):
    """Per threshold, the summary of 10 objects whose effort is `e` (deletions only: what `combined` sums)."""
    from model.evaluation.effort import EffortSummary

    return [EffortSummary(instances=10, deletions=round(e * 10)).to_dict() for e in efforts]


def _judgement(drawn=None, bank=None, sweep=SWEEP):
    """A held-out judgement over a two-threshold sweep with these efforts per mode (10 objects)."""
    modes = {INTERACTIVE: drawn, BANK: bank}
    return HoldoutJudgement(sweep, {mode: _rows(e) for mode, e in modes.items() if e is not None})


@pytest.mark.parametrize(
    ("drawn", "joined", "bank", "keeps"),
    [
        ((0.6, 0.5), (0.3, 0.4), (0.4, 0.5), True),  # lower at its own threshold: (0.3 + 0.4) / 2 against 0.45
        ((0.6, 0.5), (0.6, 0.5), (0.4, 0.5), False),  # the same: a tie keeps the box alone (the join costs time)
        ((0.3, 0.5), (0.5, 0.4), (0.4, 0.5), False),  # worse
        ((0.6, 0.2), (0.1, 0.4), (0.6, 0.2), False),  # the drawn mode's best is lower (0.1), the modes' mean is not
    ],
)
def test_the_drawn_labels_bank_joins_only_where_the_held_out_slice_says_it_costs_less(
        tiny_predictor, drawn, joined, bank, keeps):
    from model.predictor import Predictor
    from model.training.drawn_bank import decide_on_held_out

    child = Predictor(tiny_predictor.model, version="child")
    judged_with = []

    def judge_drawn_again():
        judged_with.append(child.config.detection_drawn_bank)
        return _judgement(drawn=joined)

    first = _judgement(drawn, bank)
    standing, record = decide_on_held_out(child, first, "highest", judge_drawn_again)
    assert judged_with == [True]  # the second judgement answers with the join on
    assert record["value"] is keeps and child.config.detection_drawn_bank is keeps
    assert record["holdout_effort"] == {
        "drawn_answer_alone": first.effort_at_calibration(),
        "drawn_label_bank_joins": _judgement(joined, bank).effort_at_calibration()}
    if keeps:  # the judgement that stands is the child's as it answers: the joined drawn mode, the same bank mode
        assert standing.summaries[INTERACTIVE] == _rows(joined) and standing.summaries[BANK] == _rows(bank)
    else:
        assert standing is first


@pytest.mark.parametrize("judgement", [None, _judgement(bank=(0.4, 0.5))], ids=["nothing held out", "bank only"])
def test_without_a_drawn_box_to_judge_the_drawn_labels_bank_does_not_join(tiny_predictor, judgement):
    from model.predictor import Predictor
    from model.training.drawn_bank import decide_on_held_out

    child = Predictor(tiny_predictor.model, version="child")
    standing, record = decide_on_held_out(child, judgement, "highest", lambda: pytest.fail("nothing to judge again"))
    assert standing is judgement and record["value"] is False and "no held-out image" in record["why"]
    assert not child.config.detection_drawn_bank


def test_a_mode_is_taken_from_a_judgement_of_the_same_sweep_only():
    both = _judgement((0.6, 0.5), (0.4, 0.5))
    assert both.with_mode_of(_judgement(drawn=(0.1, 0.2)), INTERACTIVE).efforts() == {
        INTERACTIVE: (0.1, 0.2), BANK: (0.4, 0.5)}
    with pytest.raises(ValueError, match="judge it over this sweep"):
        both.with_mode_of(_judgement(drawn=(0.1, 0.2), sweep=(0.5, 0.8)), INTERACTIVE)
    with pytest.raises(ValueError, match="with modes"):
        both.with_mode_of(_judgement(bank=(0.1, 0.2)), INTERACTIVE)


@pytest.mark.slow
def test_the_recipe_judges_the_drawn_mode_again_and_records_its_decision(tiny_model, monkeypatch):
    """`judge_child` with the "held-out" rule answers the slice's drawn boxes a second time (the drawn mode alone, the
    join on), leaves the model's `detection_drawn_bank` as its record says, and calibrates under that decision;
    without it the model's own setting stands and nothing is judged again."""
    import model.frame_convention as frame_convention
    import model.training.holdout_effort as holdout_effort
    from common.settings import Settings
    from model.training.finetune import judge_child

    judged = []
    judge = holdout_effort.judge_on_holdout

    def recording(predictor, holdout, train, settings, **options):
        judged.append((len(holdout.images), options.get("modes", (INTERACTIVE, BANK)),
                       predictor.config.detection_drawn_bank))
        return judge(predictor, holdout, train, settings, **options)

    monkeypatch.setattr(holdout_effort, "judge_on_holdout", recording)
    monkeypatch.setattr(tiny_model, "config", tiny_model.config.replace(detection_label_claims=True))
    # Step 3 out of the way: by the count rule 3 tiny images are too few to read the frame convention (read as a
    # test, their labels say "left out" and the frame step would judge the slice once more).
    monkeypatch.setattr(frame_convention, "LABELS_BY_TEST", False)
    data = project(4)
    train_set, holdout_set = (type(data)(data.categories, images, "p") for images in (data.images[:3],
                                                                                     data.images[3:]))
    _, _, _, off = judge_child(tiny_model, "v", holdout_set, train_set, Settings(), shifted_calibration=False,
                               drawn_bank="off")
    assert judged == [(1, (INTERACTIVE, BANK), False)] and off["value"] is False and "not decided" in off["why"]
    judged.clear()
    judgement, _, calibration, record = judge_child(tiny_model, "v", holdout_set, train_set, Settings(),
                                                    shifted_calibration=False, drawn_bank="held-out")
    assert judged == [(1, (INTERACTIVE, BANK), False), (1, (INTERACTIVE,), True)]
    assert tiny_model.config.detection_drawn_bank is record["value"]
    assert set(record["holdout_effort"]) == {"drawn_answer_alone", "drawn_label_bank_joins"}
    assert calibration.threshold == judgement.calibrate().threshold == tiny_model.config.detection_min_confidence


@pytest.mark.parametrize("with_copies", [False, True], ids=["slice alone", "slice and shifted copies"])
def test_where_the_bank_pays_the_join_is_judged_and_the_threshold_chosen_again(tiny_predictor, with_copies):
    """The "where-bank-pays" rule: the child's bank answers at its threshold (effort below what suggesting nothing
    costs), so its drawn mode is judged again with the join, on the slice and on the copies that calibrated, the bank
    mode's sweeps kept, and the threshold is chosen again over them."""
    from model.predictor import Predictor
    from model.training.drawn_bank import join_where_bank_pays

    child = Predictor(tiny_predictor.model, version="child")
    first = _judgement(drawn=(0.2, 0.6), bank=(0.3, 0.5))  # alone: 0.5 is best (0.25)
    copies = _judgement(drawn=(0.2, 0.6), bank=(0.3, 0.5)) if with_copies else None
    calibration = first.combined(copies).calibrate()
    judged_with = []

    def judge_drawn_again():
        judged_with.append(child.config.detection_drawn_bank)
        return _judgement(drawn=(0.9, 0.1)), copies and _judgement(drawn=(0.9, 0.1))  # joined: 0.9 is best now

    verdict = {"value": True, "why": "bank effort below 1"}
    standing, again, record = join_where_bank_pays(child, first, copies, calibration, "highest", verdict,
                                                   judge_drawn_again)
    assert judged_with == [True] and record["value"] is True and child.config.detection_drawn_bank is True
    assert calibration.threshold == 0.5 and again.threshold == 0.9
    assert standing.summaries[INTERACTIVE] == _rows((0.9, 0.1)) and standing.summaries[BANK] == _rows((0.3, 0.5))
    assert record["holdout_effort"] == {"drawn_answer_alone": 0.25, "drawn_label_bank_joins": 0.3}
    assert "0.5 -> 0.9" in record["why"]


@pytest.mark.parametrize("judgement", [None, _judgement(drawn=(0.2, 0.6), bank=(1.0, 1.0)),
                                       _judgement(drawn=(0.2, 0.6))],
                         ids=["nothing held out", "the bank does not pay", "no bank trial"])
def test_where_the_bank_does_not_answer_a_drawn_box_is_answered_alone(tiny_predictor, judgement):
    from model.predictor import Predictor
    from model.training.drawn_bank import join_where_bank_pays

    child = Predictor(tiny_predictor.model, version="child")
    calibration = judgement and judgement.calibrate()
    verdict = judgement and {"value": BANK in judgement.summaries and judgement.summaries[BANK][0]["effort"] < 1,
                             "why": "step 5"}
    standing, kept, record = join_where_bank_pays(child, judgement, None, calibration, "highest", verdict,
                                                  lambda: pytest.fail("nothing to judge again"))
    assert standing is judgement and kept is calibration and record["value"] is False
    assert not child.config.detection_drawn_bank
