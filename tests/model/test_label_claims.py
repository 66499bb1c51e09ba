"""A drawn box's answer gives way to the project's other labels (`model.answering.unclaimed`, the model's
`detection_label_claims`): a suggestion another label's exemplars find with a higher score is dropped."""

from __future__ import annotations

import numpy as np
import pytest
from answer_helpers import EVERYTHING, assert_cut_property, drawn_in_scene, scores, with_config
from answer_helpers import instance as made

from model.answering import (
    VOTE_FLOOR,
    AnswerThresholds,
    find_for_drawn_boxes,
    find_instances,
    outvoted,
    seeded_bank_answer,
    unclaimed,
)


def _far_box(found, image_shape) -> list[float]:
    """A 6x6 box in a corner of the image that touches none of `found`'s boxes (the test needs one)."""
    height, width = image_shape
    for x, y in ((0, 0), (width - 6, 0), (0, height - 6), (width - 6, height - 6)):
        box = np.array([x, y, x + 6, y + 6], np.float32)
        if all(box[2] <= f.box[0] or f.box[2] <= box[0] or box[3] <= f.box[1] or f.box[3] <= box[1] for f in found):
            return box.tolist()
    pytest.skip("every corner of the scene is covered by a suggestion")


def test_another_labels_better_suggestion_claims_the_object(tiny_predictor, scene):
    """The other label (its exemplar: `reference`) answers `first`; the drawn answer is made by hand around it."""
    image, query, reference, first = scene
    drawn = [made(first[1].box, 1.0),  # scores above anything the other label finds there: stays
             made(first[0].box, first[0].score - 1e-3),  # the other label finds this object better: claimed
             made(_far_box(first, image.shape[:2]), 0.01)]  # the other label finds nothing here: stays
    kept = unclaimed(tiny_predictor, query, drawn, {"dust": [reference]}, EVERYTHING)
    assert scores(kept) == scores([drawn[0], drawn[2]])
    assert [i.box.tolist() for i in kept] == [drawn[0].box.tolist(), drawn[2].box.tolist()]


def test_with_no_other_label_or_the_model_not_asking_the_answer_is_unchanged(tiny_predictor, scene):
    image, query, reference, first = scene
    boxes = first[0].box[None].astype(np.float32)
    drawn = tiny_predictor.encode_references(image, boxes)
    plain = find_for_drawn_boxes(tiny_predictor, image, query, drawn, EVERYTHING, boxes)
    assert plain, "the scene must give the drawn box an answer"
    assert not tiny_predictor.config.detection_label_claims
    ignoring = find_for_drawn_boxes(tiny_predictor, image, query, drawn, EVERYTHING, boxes, others={"dust": [drawn]})
    assert scores(ignoring) == scores(plain)
    claiming = with_config(tiny_predictor, detection_label_claims=True)
    for others in (None, {}):
        assert scores(find_for_drawn_boxes(claiming, image, query, drawn, EVERYTHING, boxes, others=others)) == \
            scores(plain)


def test_the_service_path_applies_the_claims_when_the_model_asks(tiny_predictor, scene):
    """`find_for_drawn_boxes` = its plain answer (gate, tiles, size prior) with `unclaimed` applied after."""
    image, query, reference, first = scene
    claiming = with_config(tiny_predictor, detection_label_claims=True, detection_reference_gate=0.0)
    boxes = first[0].box[None].astype(np.float32)
    drawn = claiming.encode_references(image, boxes)
    plain = find_for_drawn_boxes(with_config(claiming, detection_label_claims=False), image, query, drawn,
                                 EVERYTHING, boxes)
    others = {"dust": [reference], "twin": [drawn]}
    got = find_for_drawn_boxes(claiming, image, query, drawn, EVERYTHING, boxes, others=others)
    assert got and scores(got) == scores(unclaimed(claiming, query, plain, others, EVERYTHING))


@pytest.mark.parametrize("seeded", [False, True])
def test_claims_cut_at_a_threshold_are_the_cut_of_the_whole_answer(tiny_predictor, scene, seeded):
    """The effort sweeps answer once at the lowest threshold and count at each: claims (pooled or seeded in the
    image) must not depend on it."""
    image, query, reference, first = scene
    claiming = with_config(tiny_predictor, detection_label_claims=True, detection_reference_gate=0.0,
                           detection_claims_seed=float(first[0].score) * 0.99 if seeded else 0.0)
    boxes = first[1 if seeded else 0].box[None].astype(np.float32)
    drawn = claiming.encode_references(image, boxes)
    others = {"dust": [reference]} if seeded else {"dust": [reference], "twin": [drawn]}
    assert_cut_property(claiming, image, query, drawn, boxes, others=others)


def test_seeded_claims_compare_the_drawn_answer_with_the_other_labels_seeded_answer(tiny_predictor, scene):
    """With `detection_claims_seed` on, another label claims with its answer seeded in the image
    (`seeded_bank_answer`), not with its exemplars' own answer."""
    image, query, reference, first = scene
    seeding = with_config(tiny_predictor, detection_label_claims=True, detection_reference_gate=0.0,
                          detection_claims_seed=float(first[0].score) * 0.99)
    seeded = seeded_bank_answer(seeding, image, query, reference, EVERYTHING, seeding.config.detection_claims_seed)
    assert scores(seeded) != scores(first), "the scene must seed an answer of its own"
    # The drawn answer: each seeded suggestion's box scored just below the seeded score (claimed) and a far box.
    drawn = [made(i.box, float(i.score) - 1e-4) for i in seeded] + [made(_far_box(seeded, image.shape[:2]), 0.01)]
    kept = unclaimed(seeding, query, drawn, {"dust": [reference]}, EVERYTHING, image=image)
    assert scores(kept) == scores(drawn[-1:])
    pooled = with_config(seeding, detection_claims_seed=0.0)
    assert scores(unclaimed(pooled, query, drawn, {"dust": [reference]}, EVERYTHING, image=image)) == \
        scores(unclaimed(pooled, query, drawn, {"dust": [reference]}, EVERYTHING))
    assert scores(unclaimed(seeding, query, drawn, {"dust": [reference]}, EVERYTHING)) == \
        scores(unclaimed(pooled, query, drawn, {"dust": [reference]}, EVERYTHING)), "no image: nothing to seed in"


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan")])
def test_a_claims_seed_outside_0_1_is_refused(tiny_predictor, value):
    with pytest.raises(ValueError, match="detection_claims_seed"):
        tiny_predictor.config.replace(detection_claims_seed=value)


def _vote(box, answer) -> float:
    """The best score of `answer` overlapping `box` (IoU >= 0.5, touching), 0 when none: the vote, by hand."""
    from model.box_ops import iou_matrix_np

    best = 0.0
    for i in answer:
        iou = float(iou_matrix_np(np.asarray(box, np.float32)[None][:, [1, 0, 3, 2]],
                                  np.asarray(i.box, np.float32)[None][:, [1, 0, 3, 2]])[0, 0])
        if iou > 0 and iou >= 0.5:
            best = max(best, float(i.score))
    return best


def test_a_suggestion_another_labels_exemplars_vote_for_more_is_dropped(tiny_predictor, scene):
    """`outvoted`: each label's exemplars answer at the floor; the better vote on a suggestion's box wins. (The
    tiny network's scores lie under the service's `VOTE_FLOOR`: the test votes from 0.)"""
    image, query, reference, first = scene
    assert 0 < VOTE_FLOOR < 0.5
    floor = AnswerThresholds(0.0, 0.5, 50)
    theirs = find_instances(tiny_predictor, query, reference, floor)
    drawn = [made(i.box, 0.99) for i in theirs[:6]] + [made(_far_box(theirs, image.shape[:2]), 0.5)]
    other_image = np.random.default_rng(5).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    dropped = 0
    for own_box in ([10, 10, 70, 60], [5, 40, 30, 110], [60, 5, 150, 40]):
        own = tiny_predictor.encode_references(other_image, np.array([own_box], np.float32))
        mine = find_instances(tiny_predictor, query, own, floor)
        kept = outvoted(tiny_predictor, query, drawn, [own], {"dust": [reference]}, EVERYTHING, floor=0.0)
        expected = [d for d in drawn if not _vote(d.box, theirs) > _vote(d.box, mine)]
        assert [i.box.tolist() for i in kept] == [i.box.tolist() for i in expected]
        assert any(i is drawn[-1] for i in kept), "a suggestion no label votes for stays"
        dropped += len(drawn) - len(kept)
    assert dropped, "the other label's exemplar, which found these boxes, must outvote the drawn label somewhere"
    assert outvoted(tiny_predictor, query, drawn, [reference], {"dust": [reference]}, EVERYTHING, floor=0.0) == drawn, \
        "equal votes keep the suggestion"


def test_the_vote_needs_the_models_option_and_both_labels_exemplars(tiny_predictor, scene):
    image, query, reference, first = scene
    voting, drawn, boxes = drawn_in_scene(tiny_predictor, scene, 0, detection_label_vote=True)
    plain = find_for_drawn_boxes(with_config(voting, detection_label_vote=False), image, query, drawn, EVERYTHING,
                                 boxes, others={"dust": [reference]}, own=[drawn])
    for others, own in (({"dust": [reference]}, None), (None, [drawn])):
        assert scores(find_for_drawn_boxes(voting, image, query, drawn, EVERYTHING, boxes, others=others,
                                           own=own)) == scores(plain)
    got = find_for_drawn_boxes(voting, image, query, drawn, EVERYTHING, boxes, others={"dust": [reference]},
                               own=[drawn])
    assert scores(got) == scores(outvoted(voting, query, plain, [drawn], {"dust": [reference]}, EVERYTHING))


def test_with_a_verifier_the_claims_answer_at_the_networks_threshold_and_judge_only_what_it_is_sure_of(
        tiny_predictor, scene, monkeypatch):
    """With `CLAIMS_ON_CONFIDENT_ONLY` (measured, off by default) and a verifier, another label claims an object only
    with an answer at the model's network threshold, and only a drawn suggestion the network scores at least that
    threshold can be claimed (`model.answering._claimed_answer`): the lower ones are the verifier's to judge."""
    import model.answering as answering
    from model.verifier import Verifier

    image, query, reference, first = scene
    verifier = Verifier(0.0, (0.0,) * 4, (0.0,) * 4, (1.0,) * 4)
    threshold = first[0].score - 0.01  # the other label finds first[0] above the network threshold
    predictor = with_config(tiny_predictor, detection_min_confidence=threshold)
    sure = made(first[0].box, first[0].score - 1e-3)  # sure, and the other label scores its object higher: claimed
    unsure = made(first[0].box, threshold / 2)  # under the threshold: the verifier's to judge
    far = made(_far_box(first, image.shape[:2]), 0.01)
    others = {"dust": [reference]}
    floor = AnswerThresholds(0.0, 0.5, 50)
    # the default: the claims judge every suggestion, the other labels answering from the answer's own threshold
    got = answering._claimed_answer(predictor, query, [unsure, far], others, floor, verifier, image)
    assert scores(got) == scores([far])
    monkeypatch.setattr(answering, "CLAIMS_ON_CONFIDENT_ONLY", True)
    got = answering._claimed_answer(predictor, query, [sure, far], others, floor, verifier, image)
    assert scores(got) == scores([far])
    got = answering._claimed_answer(predictor, query, [unsure, far], others, floor, verifier, image)
    assert sorted(scores(got)) == sorted(scores([unsure, far]))
    # without a verifier the claims keep the answer's own thresholds and judge every suggestion, as before
    got = answering._claimed_answer(predictor, query, [unsure, far], others, floor, None, image)
    assert scores(got) == scores([far])
    monkeypatch.setattr(answering, "CLAIMS_ON_CONFIDENT_ONLY", False)
    monkeypatch.setattr(answering, "CLAIMS_AT_NETWORK_THRESHOLD", True)  # part 4's rule alone judges the unsure too
    got = answering._claimed_answer(predictor, query, [unsure, far], others, floor, verifier, image)
    assert scores(got) == scores([far])
