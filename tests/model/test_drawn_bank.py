"""A drawn box's answer joined by its own label's exemplar bank (`model.answering.with_own_bank`, the model's
`detection_drawn_bank`): what the label's accepted exemplars find and the drawn answer does not is added."""

from __future__ import annotations

import numpy as np
from answer_helpers import EVERYTHING, assert_cut_property, drawn_in_scene, scores, with_config
from answer_helpers import instance as made

from model.answering import AnswerThresholds, find_for_drawn_boxes, find_instances, with_own_bank


def _boxes(instances) -> list[list[float]]:
    return [np.asarray(i.box, np.float32).round(3).tolist() for i in instances]


def test_the_banks_finds_join_and_an_object_found_twice_keeps_its_better_score(tiny_predictor, scene):
    image, query, reference, first = scene
    # By hand: the bank's best object, scored above the bank (it stays, the bank's copy goes), and a far box.
    drawn = [made(first[0].box, float(first[0].score) + 0.01), made([0, 0, 5, 5], 0.001)]
    joined = with_own_bank(tiny_predictor, image, query, drawn, [reference], EVERYTHING)
    assert joined[0] is drawn[0]
    assert all(i is not first[0] for i in joined), "the bank's copy of an object the drawn answer holds goes"
    assert any(i is drawn[1] for i in joined), "a drawn suggestion no bank suggestion overlaps stays"
    assert len(joined) >= 3, "the bank's other finds join"
    assert set(map(tuple, _boxes(joined))) <= set(map(tuple, _boxes(drawn + list(first[1:]))))
    assert scores(joined) == sorted(scores(joined), reverse=True)


def test_the_version_verdict_on_batch_pre_annotation_does_not_act_on_the_join(tiny_predictor, scene):
    image, query, reference, first = scene
    silent = with_config(tiny_predictor, detection_bank_answers=False)
    assert scores(with_own_bank(silent, image, query, [], [reference], EVERYTHING)) == \
        scores(with_own_bank(tiny_predictor, image, query, [], [reference], EVERYTHING)) == \
        scores(find_instances(tiny_predictor, query, reference, EVERYTHING))


def test_the_join_is_capped_at_max_instances(tiny_predictor, scene):
    image, query, reference, first = scene
    drawn = [made([0, 0, 5, 5], 0.999)]
    capped = with_own_bank(tiny_predictor, image, query, drawn, [reference], AnswerThresholds(0.0, 0.5, 2))
    assert len(capped) == 2 and capped[0] is drawn[0]


def test_the_service_path_joins_only_when_the_model_asks_and_exemplars_are_given(tiny_predictor, scene):
    image, query, reference, first = scene
    joining, drawn, boxes = drawn_in_scene(tiny_predictor, scene, 1, detection_drawn_bank=True)
    plain = find_for_drawn_boxes(with_config(joining, detection_drawn_bank=False), image, query, drawn, EVERYTHING,
                                 boxes, own=[reference])
    assert scores(find_for_drawn_boxes(joining, image, query, drawn, EVERYTHING, boxes)) == scores(plain)
    got = find_for_drawn_boxes(joining, image, query, drawn, EVERYTHING, boxes, own=[reference])
    assert scores(got) == scores(with_own_bank(joining, image, query, plain, [reference], EVERYTHING))


def test_an_answer_the_gate_withdrew_is_the_banks_alone(tiny_predictor, scene):
    image, query, reference, first = scene
    boxes = np.array([[0, 0, 8, 8]], np.float32)  # a corner: the tiny network does not find it again at 0.999
    gated = with_config(tiny_predictor, detection_drawn_bank=True, detection_reference_gate=0.999)
    drawn = gated.encode_references(image, boxes)
    assert find_for_drawn_boxes(with_config(gated, detection_drawn_bank=False), image, query, drawn, EVERYTHING,
                                boxes, own=[reference]) == []
    got = find_for_drawn_boxes(gated, image, query, drawn, EVERYTHING, boxes, own=[reference])
    assert got and scores(got) == scores(with_own_bank(gated, image, query, [], [reference], EVERYTHING))


def test_a_joined_answer_cut_at_a_threshold_is_the_cut_of_the_whole_answer(tiny_predictor, scene):
    image, query, reference, first = scene
    joining, drawn, boxes = drawn_in_scene(tiny_predictor, scene, 2, detection_drawn_bank=True)
    assert_cut_property(joining, image, query, drawn, boxes, own=[reference])


def test_a_drawn_box_uses_the_projects_exemplars_when_any_of_the_three_options_is_on(tiny_predictor):
    """`ModelConfig.uses_project_exemplars`: the holdout judging, the curve's measure and the effort CLI pass the
    accepted exemplars exactly then."""
    config = tiny_predictor.config.replace(detection_label_claims=False, detection_drawn_bank=False,
                                           detection_label_vote=False)
    assert not config.uses_project_exemplars
    for option in ("detection_label_claims", "detection_drawn_bank", "detection_label_vote"):
        assert config.replace(**{option: True}).uses_project_exemplars
