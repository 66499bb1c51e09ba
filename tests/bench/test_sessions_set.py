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


def test_the_cut_variant_places_centres_anywhere_so_the_frame_cuts_some_objects():
    from bench.sessions_set import IMAGE_SIDE, _overlap, _spot_anywhere

    shape = np.ones((30, 20), bool)
    owner = np.full((IMAGE_SIDE, IMAGE_SIDE), -1, np.int32)
    rng = np.random.default_rng(0)
    spots = np.array([_spot_anywhere(shape, owner, rng) for _ in range(400)])
    centres = spots + np.array([15, 10])
    assert (centres >= 0).all() and (centres < IMAGE_SIDE).all()
    cut = (spots < 0).any(axis=1) | (spots + np.array([30, 20]) > IMAGE_SIDE).any(axis=1)
    assert 0.1 < cut.mean() < 0.5  # about (30 + 20) / 384 of them
    inside, part = _overlap(-5, IMAGE_SIDE - 8, 30, 20)  # cut at the top and the right
    assert owner[inside].shape == shape[part].shape == (25, 8)
    assert part == (slice(5, 30), slice(0, 8))


def test_the_cut_variant_labels_whole_objects_only(project):
    from bench.sessions_set import CUT_NAME, IMAGE_SIDE
    from model.data.annotations import box_from_mask
    from model.frame_convention import learn_frame_convention

    cut = sessions_dataset(cut=True)
    assert cut.name == CUT_NAME and [i.group for i in cut.images] == [i.group for i in project.images]
    for image in cut.images[:6]:
        masks = image.masks(image.instances)
        assert np.sum(masks, axis=0).max() == 1
        assert all(np.allclose(box_from_mask(m), a.box) for a, m in zip(image.instances, masks, strict=True))
    # Cut objects are pasted but not labelled: hardly any labelled object touches the frame (only whole ones lying
    # against it), where labelled objects pasted anywhere would often.
    convention = learn_frame_convention((i.boxes(list(i.instances)), (IMAGE_SIDE, IMAGE_SIDE)) for i in cut.images)
    assert convention.expected > 50 and convention.touching < 0.2 * convention.expected
    with pytest.raises(ValueError, match="packed or cut"):
        sessions_dataset(packed=True, cut=True)
