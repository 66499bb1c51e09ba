"""bench.sessions_set: a generated project shot in acquisition sessions (the learning curve's "sessions" set)."""

import argparse

import numpy as np
import pytest

from bench.effort_curve import load_split
from bench.sessions_set import IMAGES_PER_SESSION, KINDS, SESSIONS, sessions_dataset


@pytest.fixture(scope="module")
def project():
    return sessions_dataset()


def test_every_session_has_its_images_and_the_labelled_kinds_only(project):
    assert project.categories == KINDS
    groups = [image.group for image in project.images]
    assert groups == [str(s) for s in range(1, SESSIONS + 1) for _ in range(IMAGES_PER_SESSION)]
    labels = {a.category for image in project.images for a in image.instances}
    assert labels == set(KINDS)  # the distractor kind is pasted but never labelled
    assert all(len(image.instances_of(project.category_id("kind-a"))) >= 2 for image in project.images)


def test_masks_are_exact_disjoint_and_their_boxes_tight(project):
    from model.data.annotations import box_from_mask

    image = project.images[0]
    masks = image.masks(image.instances)
    assert np.sum(masks, axis=0).max() == 1  # objects never overlap
    for annotation, mask in zip(image.instances, masks, strict=True):
        assert mask.any() and np.allclose(box_from_mask(mask), annotation.box)


def test_the_same_seed_draws_the_same_pixels_and_another_seed_another_project(project):
    again, other = sessions_dataset(), sessions_dataset(seed=1)
    assert np.array_equal(project.images[5].load_image(), again.images[5].load_image())
    assert not np.array_equal(project.images[5].load_image(), other.images[5].load_image())


def test_sessions_differ_in_look(project):
    """Each session has its own light and scale: the mean grey level and object size differ between sessions."""
    means = [np.mean([project.images[s * IMAGES_PER_SESSION + i].load_image().mean() for i in range(3)])
             for s in range(SESSIONS)]
    sizes = [np.median([np.sqrt((a.box[2] - a.box[0]) * (a.box[3] - a.box[1]))
                        for image in project.images[s * IMAGES_PER_SESSION:(s + 1) * IMAGES_PER_SESSION]
                        for a in image.instances]) for s in range(SESSIONS)]
    assert np.ptp(means) > 30 and max(sizes) / min(sizes) > 1.4


def test_the_curve_accepts_sessions_1_to_4_and_judges_sessions_5_to_8():
    split = load_split("sessions", argparse.Namespace(judged=30, seed=3), 10)
    assert {image.group for image in split.candidates} == {"1", "2", "3", "4"}
    assert {image.group for image in split.judged.images} == {"5", "6", "7", "8"}
    assert len(split.judged.images) == 4 * IMAGES_PER_SESSION


def _touching_share(dataset) -> float:
    """The share of objects whose box lies within 2 px of another object's box in the same image."""
    touching = total = 0
    for image in dataset.images:
        boxes = np.array([a.box for a in image.instances])
        for i, box in enumerate(boxes):
            gaps = np.maximum(np.maximum(boxes[:, :2] - box[2:], box[:2] - boxes[:, 2:]), 0).max(axis=1)
            gaps[i] = np.inf
            touching += bool((gaps <= 2).any())
            total += 1
    return touching / total


def test_the_packed_variant_puts_objects_against_each_other_and_leaves_the_default_set_as_it_was(project):
    from bench.sessions_set import PACKED_NAME
    from model.data.annotations import box_from_mask

    packed = sessions_dataset(packed=True)
    assert packed.name == PACKED_NAME and project.name == "sessions"
    assert [i.group for i in packed.images] == [i.group for i in project.images]
    image = packed.images[20]
    masks = image.masks(image.instances)
    assert np.sum(masks, axis=0).max() == 1  # touching, never overlapping
    assert all(np.allclose(box_from_mask(m), a.box) for a, m in zip(image.instances, masks, strict=True))
    assert _touching_share(packed) > 0.3 > _touching_share(project) + 0.1
    split = load_split(PACKED_NAME, argparse.Namespace(judged=30, seed=3), 10)
    assert {image.group for image in split.judged.images} == {"5", "6", "7", "8"}
