"""A project's frame convention: read off its accepted labels, then applied to the answers of its fine-tuned child."""

from __future__ import annotations

import numpy as np
import pytest
from project_scenes import project, project_image

from model.data.annotations import AnnotatedImage, Dataset, InstanceAnnotation
from model.frame_convention import (
    BORDER_MARGIN,
    MIN_EXPECTED_AT_FRAME,
    SKIP_RATIO,
    cut_by_frame,
    expected_at_frame,
    keep_off_frame,
    learn_frame_convention,
    touches_frame,
)
from model.training.finetune import frame_convention

SHAPE = (100, 200)  # (H, W)


def test_a_box_touches_the_frame_within_the_margin_of_each_edge():
    boxes = np.array([
        [50, 40, 70, 60],  # inside
        [0, 40, 20, 60],  # left edge
        [50, 0, 70, 20],  # top
        [180, 40, 200, 60],  # right
        [50, 80, 70, 100],  # bottom
        [0.3, 40, 20, 60],  # within 0.002 x 200 = 0.4 px of the left edge
        [0.5, 40, 20, 60],  # just outside the margin
    ], np.float32)
    assert BORDER_MARGIN * SHAPE[1] == pytest.approx(0.4)
    assert touches_frame(boxes, SHAPE).tolist() == [False, True, True, True, True, True, False]
    assert touches_frame(np.zeros((0, 4)), SHAPE).shape == (0,)


def test_the_expected_number_at_the_frame_grows_with_object_size_and_stops_at_one_each():
    small = np.array([[10, 10, 30, 20]], np.float32)  # 20 / 200 + 10 / 100 = 0.2
    huge = np.array([[0, 0, 200, 100]], np.float32)  # 1 + 1, counted once
    assert expected_at_frame(small, SHAPE) == pytest.approx(0.2)
    assert expected_at_frame(np.concatenate([small, huge]), SHAPE) == pytest.approx(1.2)


def _images(boxes_per_image, count):
    return [(np.asarray(boxes_per_image, np.float32), SHAPE)] * count


# 5 objects of 40 x 20 px away from the frame: each counts 40 / 200 + 20 / 100 = 0.4, so 2 per image.
INSIDE = [[10 + 36 * i, 40, 50 + 36 * i, 60] for i in range(5)]


def test_a_project_that_leaves_cut_objects_out_skips_them():
    convention = learn_frame_convention(_images(INSIDE, 5))  # expected 10, none touch
    assert convention.instances == 25 and convention.touching == 0
    assert convention.expected == pytest.approx(10.0) == MIN_EXPECTED_AT_FRAME
    assert convention.skip and "dropped" in convention.to_dict()["why"]


@pytest.mark.parametrize(("by_test", "images"), [(True, 2), (False, 4)])
def test_too_little_evidence_keeps_cut_objects_suggested(monkeypatch, by_test, images):
    """Read as a test (the default), 2 images of INSIDE (4 expected: none touching happens by chance 1.8% of the
    time) are too few; by the count rule 4 images (8 expected, under 10) are."""
    import model.frame_convention as frame

    monkeypatch.setattr(frame, "LABELS_BY_TEST", by_test)
    convention = learn_frame_convention(_images(INSIDE, images))
    assert not convention.skip and "too few" in convention.to_dict()["why"]
    assert not learn_frame_convention([]).skip


def test_a_project_that_labels_cut_objects_keeps_suggesting_them():
    cut = INSIDE[:4] + [[0, 40, 40, 60]]  # one of five at the left edge in every image
    convention = learn_frame_convention(_images(cut, 10))  # expected 20, 10 touch: > 0.1 x 20
    assert convention.touching == 10 and convention.touching > SKIP_RATIO * convention.expected
    assert not convention.skip and "labels them" in convention.to_dict()["why"]
    # one cut object among many is within the ratio: a slip of the annotator, not a convention
    few = _images(INSIDE, 9) + [(np.asarray(cut, np.float32), SHAPE)]
    assert learn_frame_convention(few).skip


def test_suggestions_on_the_frame_are_dropped_unless_a_drawn_box_is_on_it():
    found = np.array([[50, 40, 70, 60], [0, 40, 20, 60], [180, 10, 200, 30]], np.float32)
    assert keep_off_frame(found, SHAPE).tolist() == [True, False, False]
    assert keep_off_frame(found, SHAPE, np.array([[60, 40, 80, 60]], np.float32)).tolist() == [True, False, False]
    assert keep_off_frame(found, SHAPE, np.array([[0, 60, 20, 80]], np.float32)).all()


def _frame_image(seed: int, at_frame: int) -> AnnotatedImage:
    """A 96 x 128 image with 4 squares of 40 px (each counts 40 / 128 + 40 / 96 = 0.729), the first `at_frame` of
    the left column on the left edge, and one crowd region on the frame (never counted)."""
    left = [0 if at_frame > n else 4 for n in range(2)]
    boxes = [[left[0], 8, left[0] + 40, 48], [50, 8, 90, 48], [left[1], 52, left[1] + 40, 92], [50, 52, 90, 92]]
    instances = [InstanceAnnotation(0, "tile", np.array(b, np.float32)) for b in boxes]
    instances.append(InstanceAnnotation(0, "tile", np.array([100, 0, 128, 30], np.float32), iscrowd=True))
    pixels = np.zeros((96, 128, 3), np.uint8)
    return AnnotatedImage(str(seed), lambda: pixels, 96, 128, tuple(instances))


def test_the_recipe_reads_the_convention_off_the_training_images():
    leaves_out = Dataset(("tile",), tuple(_frame_image(s, 0) for s in range(4)))  # expected 11.7, 0 touch
    convention = frame_convention(leaves_out)
    assert convention.instances == 16 and convention.touching == 0 and convention.skip
    labels_cut = Dataset(("tile",), tuple(_frame_image(s, 2) for s in range(4)))  # 8 touch: P(<= 8 | 11.7) = 0.17
    assert frame_convention(labels_cut).touching == 8 and not frame_convention(labels_cut).skip
    assert not frame_convention(project(2)).skip  # a tiny project of 2 images: too few objects to tell


def test_a_child_that_skips_the_frame_answers_without_cut_objects(tiny_predictor):
    """Both answer paths of the worker (a drawn box; the exemplar bank) drop what touches the frame, and a box drawn
    on the frame keeps everything."""
    from model.answering import AnswerThresholds, find_for_drawn_boxes, find_for_labels
    from model.predictor import Predictor

    image = project_image(0, tiles=4, discs=0).load_image()
    image[:, :6] = image[:, 6:12]  # structure at the left edge, so that some answers touch the frame
    box = np.array([[34, 50, 58, 74]], np.float32)
    thresholds = AnswerThresholds(0.0, 0.5, 50)
    query = tiny_predictor.encode_image(image)
    reference = tiny_predictor.encode_references(image, box)
    plain = find_for_drawn_boxes(tiny_predictor, image, query, reference, thresholds, box)
    shape = image.shape[:2]
    at_frame = [touches_frame(i.box[None], shape)[0] for i in plain]
    assert any(at_frame) and not all(at_frame), "the tiny network's answer must hold both kinds to test anything"
    skipping = Predictor(tiny_predictor.model, version="skips")
    skipping.config = tiny_predictor.config.replace(detection_skip_border=True)
    kept = find_for_drawn_boxes(skipping, image, query, reference, thresholds, box)
    assert [i.score for i in kept] == [i.score for i, edge in zip(plain, at_frame, strict=True) if not edge]
    on_frame = np.array([[0, 50, 24, 74]], np.float32)
    drawn_on_frame = find_for_drawn_boxes(skipping, image, query, tiny_predictor.encode_references(image, on_frame),
                                          thresholds, on_frame)
    assert any(touches_frame(i.box[None], shape)[0] for i in drawn_on_frame)
    bank = find_for_labels(skipping, query, {"tile": [reference]}, thresholds)["tile"]
    assert bank and not any(touches_frame(i.box[None], shape)[0] for i in bank)
    assert len(bank) < len(find_for_labels(tiny_predictor, query, {"tile": [reference]}, thresholds)["tile"])


def _judgement(efforts):
    """A held-out judgement of one mode over a two-threshold sweep with these efforts (10 objects)."""
    from model.training.holdout_effort import HoldoutJudgement

    return HoldoutJudgement((0.5, 0.9), {"bank": [{"effort": e, "instances": 10} for e in efforts]})


SAYS_SKIP = learn_frame_convention(_images(INSIDE, 5))
SAYS_KEEP = learn_frame_convention(_images(INSIDE, 2))


@pytest.mark.parametrize(
    ("convention", "without", "with_skip", "skips"),
    [
        (SAYS_SKIP, (0.6, 0.5), (0.45, 0.3), True),  # the held-out slice confirms the labels
        (SAYS_SKIP, (0.6, 0.5), (0.55, 0.5), False),  # the same effort: not confirmed
        (SAYS_SKIP, (0.6, 0.3), (0.4, 0.35), False),  # worse
        (SAYS_KEEP, (0.6, 0.5), (0.1, 0.1), False),  # the labels do not say skip: never judged again
    ],
)
def test_the_recipe_skips_the_frame_only_where_the_held_out_slice_confirms_the_labels(
        tiny_predictor, convention, without, with_skip, skips):
    from model.predictor import Predictor
    from model.training.finetune import _frame_step

    child = Predictor(tiny_predictor.model, version="child")
    judged_with = []

    def judge_again():
        judged_with.append(child.config.detection_skip_border)
        return _judgement(with_skip)

    first = _judgement(without)
    skip, standing, record = _frame_step(convention, child, first, judge_again)
    assert skip is skips and record["skip"] is skips and child.config.detection_skip_border is skips
    assert record["labels_say_skip"] is convention.skip
    assert judged_with == ([True] if convention.skip else [])  # judged again with the skip on, only if the labels say
    assert (standing is not first) is skips  # the judgement that stands is the one of the child as it answers
    if convention.skip:
        assert record["holdout_effort"] == {"suggesting_cut_objects": min(without), "skipping_them": min(with_skip)}
        assert ("confirmed" in record["why"]) is skips


@pytest.mark.parametrize("follows", [True, False])
def test_a_held_out_tie_follows_the_labels_only_under_that_rule(tiny_predictor, monkeypatch, follows):
    import model.training.finetune as finetune
    from model.predictor import Predictor

    monkeypatch.setattr(finetune, "FRAME_TIE_FOLLOWS_LABELS", follows)
    child = Predictor(tiny_predictor.model, version="child")
    first = _judgement((0.6, 0.5))
    skip, standing, record = finetune._frame_step(SAYS_SKIP, child, first, lambda: _judgement((0.55, 0.5)))
    assert skip is follows and record["skip"] is follows and child.config.detection_skip_border is follows
    assert (standing is not first) is follows
    assert ("not contradicted by the held-out slice" in record["why"]) is follows
    worse, _, _ = finetune._frame_step(SAYS_SKIP, child, first, lambda: _judgement((0.6, 0.55)))
    assert not worse and not child.config.detection_skip_border  # a loss on the slice still refuses the skip


def test_with_nothing_held_out_the_labels_alone_do_not_make_a_child_skip(tiny_predictor):
    from model.predictor import Predictor
    from model.training.finetune import _frame_step

    child = Predictor(tiny_predictor.model, version="child")
    skip, standing, record = _frame_step(SAYS_SKIP, child, None, lambda: pytest.fail("nothing to judge again"))
    assert not skip and standing is None and not record["skip"] and record["labels_say_skip"]
    assert "no held-out image" in record["why"] and not child.config.detection_skip_border


def _disc(shape, centre, radius):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= radius ** 2


def _box(mask):
    ys, xs = np.nonzero(mask)
    return [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


def test_a_disc_cut_by_the_frame_is_cut_and_one_lying_against_it_is_not():
    shape = (100, 120)
    cut = _disc(shape, (10, 50), 20)  # its left third is outside the image
    against = _disc(shape, (60, 20), 20)  # its top just reaches row 0: one pixel of contact
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    corner = np.abs(xx - 104) + np.abs(yy - 70) <= 15  # a square on its corner, the corner on the last column
    inside = _disc(shape, (60, 50), 10)
    masks = [cut, against, corner, inside, None]
    boxes = np.array([_box(m) for m in masks[:4]] + [[0, 30, 20, 60]], np.float64)
    assert touches_frame(boxes, shape).tolist() == [True, True, True, False, True]
    assert cut_by_frame(boxes, masks, shape).tolist() == [True, False, False, False, True]  # no mask: its box says


def test_keep_off_frame_reads_the_mask_only_under_cut_by_mask(monkeypatch):
    import model.frame_convention as frame_convention

    shape = (100, 120)
    cut, against = _disc(shape, (10, 50), 20), _disc(shape, (60, 20), 20)
    boxes = np.array([_box(cut), _box(against)], np.float64)
    assert keep_off_frame(boxes, shape, masks=[cut, against]).tolist() == [False, False]
    monkeypatch.setattr(frame_convention, "CUT_BY_MASK", True)
    assert keep_off_frame(boxes, shape, masks=[cut, against]).tolist() == [False, True]
    assert keep_off_frame(boxes, shape).tolist() == [False, False]  # without masks, the boxes decide
    assert keep_off_frame(boxes, shape, drawn_boxes=boxes[:1], masks=[cut, against]).all()  # a cut object drawn


@pytest.mark.parametrize(("touching", "expected", "chance"), [
    (0, 8.0, np.exp(-8.0)), (1, 8.0, 9 * np.exp(-8.0)), (2, 3.0, 8.5 * np.exp(-3.0)), (5, 0.0, 1.0)])
def test_how_often_so_few_would_touch_by_chance_is_the_poisson_tail(touching, expected, chance):
    from model.frame_convention import at_most_by_chance

    assert at_most_by_chance(touching, expected) == pytest.approx(chance)


def test_read_as_a_test_the_labels_speak_from_less_evidence_but_not_from_none(monkeypatch):
    import model.frame_convention as frame

    # 4 images of INSIDE: 8 expected, none touching. The count rule needs 10; the test: P(0 | 8) = 0.0003.
    monkeypatch.setattr(frame, "LABELS_BY_TEST", False)
    assert not learn_frame_convention(_images(INSIDE, 4)).skip
    monkeypatch.setattr(frame, "LABELS_BY_TEST", True)
    assert learn_frame_convention(_images(INSIDE, 4)).skip
    one = learn_frame_convention(_images(INSIDE, 2))  # 4 expected: P(0 | 4) = 0.018, not below 0.01
    assert not one.skip and "too few to tell" in one.to_dict()["why"]
    touching = [[0, 40, 40, 60], *INSIDE[1:]]  # one of five touches the frame in each image: 4 of 20, 8 expected
    labelled = learn_frame_convention(_images(touching, 4))
    assert labelled.touching == 4 and not labelled.skip and "labels them" in labelled.to_dict()["why"]
