"""The exemplar bank's diversity rule on its own (`select_diverse`, `box_descriptor`), and the bank using it."""

from __future__ import annotations

import copy
import math

import pytest

from common.exemplars import (
    DESCRIPTOR_RESOLUTION,
    MAX_ANNOTATIONS_PER_LABEL,
    MAX_CANDIDATES_PER_LABEL,
    ExemplarBank,
    box_descriptor,
    select_diverse,
)


def _candidate(name: str, image: str, *boxes: tuple[float, float, float, float]) -> dict:
    return {
        "name": name,
        "task_id": 0,
        "image_url": f"/data/upload/1/{image}.png",
        "boxes": [list(b) for b in boxes],
    }


def _names(chosen: list[dict]) -> list[str]:
    return [c["name"] for c in chosen]


def _square(side: float, x: float = 10, y: float = 10) -> tuple[float, float, float, float]:
    return x, y, x + side, y + side


# Newest first: six near-identical 100-px squares drawn on one image (re-annotations of the same task), then older
# annotations of other images: tall, wide, small, large, and one more 100-px square.
ONE_TASK_THEN_VARIED = [
    *[_candidate(f"a{i}", "a", _square(100 + i % 2, x=10 + i)) for i in range(6)],
    _candidate("tall", "b", (0, 0, 50, 200)),
    _candidate("wide", "c", (0, 0, 200, 50)),
    _candidate("small", "d", _square(10)),
    _candidate("large", "e", _square(400)),
    _candidate("square", "f", _square(100)),
]


def test_descriptor_is_log_aspect_and_log_pixel_size_averaged_over_boxes():
    assert box_descriptor([_square(100)]) == pytest.approx((0.0, math.log(100)))
    assert box_descriptor([(0, 0, 50, 200)]) == pytest.approx((math.log(0.25), math.log(100)))
    assert box_descriptor([(0, 0, 50, 200), (0, 0, 200, 50)]) == pytest.approx((0.0, math.log(100)))
    assert all(math.isfinite(v) for v in box_descriptor([(5, 5, 5, 5)]))  # a degenerate box stays finite


def test_newest_five_are_one_task_but_the_diverse_five_are_varied():
    newest = ONE_TASK_THEN_VARIED[:MAX_ANNOTATIONS_PER_LABEL]
    assert {c["image_url"] for c in newest} == {"/data/upload/1/a.png"}
    chosen = select_diverse(ONE_TASK_THEN_VARIED, MAX_ANNOTATIONS_PER_LABEL)
    # the newest first; then the farthest shape (small: a factor 10 in size); then tall, wide and large, each a
    # factor 4 from the nearest chosen one: a tie, so the newest of them first
    assert _names(chosen) == ["a0", "small", "tall", "wide", "large"]
    assert len({c["image_url"] for c in chosen}) == MAX_ANNOTATIONS_PER_LABEL


def test_an_image_not_yet_chosen_wins_over_a_different_box_on_a_chosen_image():
    candidates = [
        _candidate("a", "a", _square(100)),
        _candidate("a-tall", "a", (0, 0, 20, 300)),
        _candidate("a-square", "a", _square(110)),
        _candidate("g", "g", _square(100)),
    ]
    assert _names(select_diverse(candidates, 2)) == ["a", "g"]
    assert _names(select_diverse(candidates, 3)) == ["a", "g", "a-tall"]  # then the farthest of a seen image


def test_ties_go_to_the_newest():
    same = [_candidate(f"n{i}", f"i{i}", _square(64)) for i in range(8)]
    assert _names(select_diverse(same, 3)) == ["n0", "n1", "n2"]  # identical descriptors: plain recency
    # within one DESCRIPTOR_RESOLUTION step two candidates are equally far: the newer one wins although the older
    # one is a little farther
    step = math.exp(DESCRIPTOR_RESOLUTION)
    near = [
        _candidate("seed", "s", _square(100)),
        _candidate("newer", "x", _square(100 * step * 1.01)),
        _candidate("older", "y", _square(100 * step * 1.05)),
    ]
    assert _names(select_diverse(near, 2)) == ["seed", "newer"]


def test_deterministic_and_leaves_its_input_alone():
    before = copy.deepcopy(ONE_TASK_THEN_VARIED)
    first = select_diverse(ONE_TASK_THEN_VARIED, 4)
    assert select_diverse(ONE_TASK_THEN_VARIED, 4) == first and before == ONE_TASK_THEN_VARIED


def test_few_candidates_are_all_kept_in_order():
    assert select_diverse(ONE_TASK_THEN_VARIED[:3], 5) == ONE_TASK_THEN_VARIED[:3]
    assert select_diverse(ONE_TASK_THEN_VARIED, 0) == [] and select_diverse([], 5) == []


def _record_all(bank: ExemplarBank, order: list[int]) -> None:
    for index in order:
        candidate = ONE_TASK_THEN_VARIED[index]
        image = candidate["image_url"]
        # annotation ids and timestamps: index 0 is the newest
        bank.record(
            1, 100 - index, 100 - index, image, {"Cup": candidate["boxes"]}, f"2026-11-21T10:{59 - index}"
        )


def test_the_bank_serves_diverse_exemplars_whatever_the_order_of_the_webhooks(tmp_path):
    forward, backward = ExemplarBank(tmp_path / "f"), ExemplarBank(tmp_path / "b")
    _record_all(forward, list(range(len(ONE_TASK_THEN_VARIED))))
    _record_all(backward, list(reversed(range(len(ONE_TASK_THEN_VARIED)))))
    served = forward.exemplars_for(1)["Cup"]
    assert served == backward.exemplars_for(1)["Cup"]
    assert [c["task_id"] for c in served] == [
        100,
        100 - 8,
        100 - 6,
        100 - 7,
        100 - 9,
    ]  # a0, small, tall, wide, large
    assert set(served[0]) == {"task_id", "image_url", "boxes"}


def test_only_the_newest_candidates_are_considered(tmp_path):
    bank = ExemplarBank(tmp_path)
    bank.record(1, 1, 1, "/old.png", {"Cup": [_square(5)]}, "2026-01-01")  # very different, but too old
    for i in range(MAX_CANDIDATES_PER_LABEL):
        bank.record(1, 10 + i, 10 + i, f"/new{i}.png", {"Cup": [_square(100)]}, f"2026-02-01T{i:03d}")
    assert 1 not in {c["task_id"] for c in bank.exemplars_for(1)["Cup"]}
