"""bench.plan and bench.scenes: valid plans, query-size overrides, synthetic images with known objects."""

from __future__ import annotations

import numpy as np
import pytest

from bench.plan import Plan, size_overrides
from bench.scenes import encode_jpeg, make_scene


@pytest.mark.parametrize("plan", [Plan.full(), Plan.smoke()])
def test_plans_are_bounded(plan):
    assert 0 < plan.budget_s <= 20 * 60
    assert plan.repeats >= 1 and plan.max_instances >= 1
    assert all(size % 64 == 0 for size in (*plan.query_sizes, *plan.growth_sizes))


def test_full_plan_covers_the_issue():
    plan = Plan.full()
    assert set(plan.presets) == {"mobile", "mobile-fast", "paper-large"}
    assert set(plan.query_sizes) == {512, 1024}
    assert set(plan.growth_sizes) == {512, 768, 1024, 1536}
    assert min(plan.instance_counts) == 1 and max(plan.instance_counts) == 100
    assert set(plan.reference_counts) == {1, 5}
    assert set(plan.worker_counts) == {1, 2}


def test_full_plan_measures_mobile_in_both_precisions_and_paper_large_in_float32():
    labels = [(preset, overrides.get("image_size"), precision)
              for preset, overrides, precision in Plan.full().interactive_configs()]
    assert labels == [("mobile", None, "float32"), ("mobile", None, "bfloat16"),
                      ("mobile-fast", None, "float32"), ("mobile-fast", None, "bfloat16"),
                      ("paper-large", None, "float32"),
                      ("mobile", 1024, "float32"), ("mobile", 1024, "bfloat16"),
                      ("mobile-fast", 1024, "float32"), ("mobile-fast", 1024, "bfloat16"),
                      ("paper-large", 512, "float32")]
    assert Plan.full().service_precision == "auto"


def test_smoke_plan_runs_the_bfloat16_path_too():
    assert [c[2] for c in Plan.smoke().interactive_configs()] == ["float32", "bfloat16"]


def test_smoke_plan_uses_the_tiny_preset_only():
    plan = Plan.smoke()
    assert {*plan.presets, plan.throughput_preset, plan.growth_preset, *plan.training_presets} == {"tiny"}


@pytest.mark.parametrize("change", [{"repeats": 0}, {"query_sizes": (500,)}, {"copies": 1}, {"precisions": ()},
                                    {"precisions": ("auto",)}, {"precisions": ("float16",)},
                                    {"service_precision": "int8"}])
def test_invalid_plans_are_refused(change):
    with pytest.raises(ValueError):
        Plan.full().replace(**change)


def test_size_overrides_follow_the_presets_ratio():
    assert size_overrides("mobile", 512) == {}
    assert size_overrides("mobile", 1024) == {"image_size": 1024, "image_min_dim": 800}
    assert size_overrides("paper-large", 512) == {"image_size": 512, "image_min_dim": 400}


def test_scene_objects_are_inside_the_image_and_do_not_overlap():
    scene = make_scene(300, 400, 7, seed=1)
    assert scene.image.shape == (300, 400, 3) and scene.image.dtype == np.uint8
    boxes = scene.boxes
    assert boxes.shape == (7, 4)
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all()
    assert (boxes[:, 2] <= 400).all() and (boxes[:, 3] <= 300).all()
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
    masks = scene.masks()
    assert masks.shape == (7, 300, 400) and masks.any(axis=(1, 2)).all()
    ys, xs = np.nonzero(masks[0])
    assert xs.min() >= boxes[0, 0] - 1 and xs.max() <= boxes[0, 2] + 1


def test_every_seed_gives_a_different_image_and_the_same_seed_the_same():
    first, again, other = (encode_jpeg(make_scene(120, 160, 3, seed=s).image) for s in (5, 5, 6))
    assert first == again
    assert first != other


@pytest.mark.parametrize(("height", "width", "copies"), [(4, 100, 1), (100, 100, 0), (64, 64, 500)])
def test_impossible_scenes_are_refused(height, width, copies):
    with pytest.raises(ValueError):
        make_scene(height, width, copies, seed=0)
