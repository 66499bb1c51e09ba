"""Step 3's witness (`model.training.frame_witness`): the parent on the accepted images breaks a held-out tie on the
frame convention (`finetune._frame_step`, `holdout_effort.kept_if_cheaper`)."""

import pytest
from project_scenes import project
from test_frame_convention import SAYS_SKIP, _judgement

from model.training.frame_witness import WITNESS_IMAGES, FrameWitness, frame_witness


@pytest.mark.parametrize(("suggesting", "skipping", "tie", "says"), [
    (0.6, 0.4, 0.0, True), (0.5, 0.5, 0.0, False), (0.4, 0.6, 0.0, False),
    (0.6471, 0.6324, 0.0147, False), (0.6471, 0.6323, 0.0147, True)])  # one action of 68 objects: a tie
def test_the_witness_says_skip_only_where_dropping_costs_less_by_more_than_its_tie(suggesting, skipping, tie, says):
    witness = FrameWitness(images=3, threshold=0.85, suggesting=suggesting, skipping=skipping, tie=tie)
    assert witness.says_skip is says and witness.to_dict()["says_skip"] is says


def test_the_parent_answers_at_most_witness_images_twice_each_and_keeps_its_config(tiny_predictor, monkeypatch):
    import model.training.frame_witness as module
    from common.settings import Settings

    calls = []
    judge = module.judge_on_holdout

    def counting(predictor, images, exemplars, settings, **options):
        calls.append((len(images.images), len(exemplars.images), predictor.config.detection_skip_border,
                      options["modes"]))
        return judge(predictor, images, exemplars, settings, **options)

    monkeypatch.setattr(module, "judge_on_holdout", counting)
    monkeypatch.setattr(tiny_predictor, "config", tiny_predictor.config)  # restored after the test
    tiny_predictor.config = tiny_predictor.config.replace(detection_min_confidence=0.3)
    witness = frame_witness(tiny_predictor, project(WITNESS_IMAGES + 2), Settings())
    # The first WITNESS_IMAGES images, without then with the skip, one box drawn, no other image's exemplars.
    assert calls == [(WITNESS_IMAGES, 0, False, ("interactive",)), (WITNESS_IMAGES, 0, True, ("interactive",))]
    assert witness.images == WITNESS_IMAGES and witness.threshold == 0.3
    assert witness.instances == 3 * WITNESS_IMAGES  # the tiles of each image (the one disc makes no trial)
    assert witness.tie == pytest.approx(1 / witness.instances)  # one action over them (ONE_ACTION_TIE, the default)
    monkeypatch.setattr(module, "ONE_ACTION_TIE", False)
    assert frame_witness(tiny_predictor, project(2), Settings()).tie == 0.0
    assert not tiny_predictor.config.detection_skip_border
    # Effort includes the reference: at least one action per (image, label) with 2+ instances over the objects.
    assert min(witness.suggesting, witness.skipping) >= 1 / 4


def test_with_no_label_of_two_instances_the_witness_has_nothing_to_say(tiny_predictor):
    from common.settings import Settings

    assert frame_witness(tiny_predictor, project(3, tiles=1, discs=1), Settings()) is None


@pytest.mark.parametrize("says", [True, False])
def test_a_held_out_tie_follows_the_witness(tiny_predictor, says):
    from model.predictor import Predictor
    from model.training.finetune import _frame_step

    child = Predictor(tiny_predictor.model, version="child")
    witness = FrameWitness(images=4, threshold=0.85, suggesting=0.5, skipping=0.4 if says else 0.5)
    first = _judgement((0.6, 0.5))
    skip, standing, record = _frame_step(SAYS_SKIP, child, first, lambda: _judgement((0.55, 0.5)), lambda: witness)
    assert skip is says and record["skip"] is says and child.config.detection_skip_border is says
    assert (standing is not first) is says
    assert record["witness"] == witness.to_dict() and "the parent on 4 accepted images" in record["why"]


def test_the_witness_is_asked_only_on_a_tie(tiny_predictor):
    from model.predictor import Predictor
    from model.training.finetune import _frame_step

    child = Predictor(tiny_predictor.model, version="child")

    def never():
        pytest.fail("the held-out slice decided: the witness is not asked")

    confirmed, _, record = _frame_step(SAYS_SKIP, child, _judgement((0.6, 0.5)), lambda: _judgement((0.5, 0.4)), never)
    assert confirmed and "witness" not in record
    refused, _, record = _frame_step(SAYS_SKIP, child, _judgement((0.6, 0.4)), lambda: _judgement((0.6, 0.5)), never)
    assert not refused and "witness" not in record and not child.config.detection_skip_border


def test_a_tie_with_a_witness_that_cannot_answer_drops_the_skip(tiny_predictor):
    from model.predictor import Predictor
    from model.training.finetune import _frame_step

    child = Predictor(tiny_predictor.model, version="child")
    skip, _, record = _frame_step(SAYS_SKIP, child, _judgement((0.6, 0.5)), lambda: _judgement((0.55, 0.5)),
                                  lambda: None)
    assert not skip and "nothing else can tell" in record["why"] and "witness" not in record


def test_the_recipe_asks_the_parent_loaded_again_from_its_checkpoint(tiny_model, tmp_path):
    """`finetune.parent_witness`: the parent at its checkpoint (not the child in memory) answers, at its own
    threshold (the card's config)."""
    from common.settings import Settings
    from model.checkpoint import ModelCard, save_checkpoint
    from model.training.finetune import parent_witness

    was = tiny_model.config
    tiny_model.config = was.replace(detection_min_confidence=0.45)
    try:
        path = save_checkpoint(tiny_model, tmp_path / "parent.weights.h5", ModelCard("parent-v1", "tiny", {}))
    finally:
        tiny_model.config = was
    witness = parent_witness(path, project(3), Settings())
    assert witness.images == 3 and witness.threshold == 0.45
