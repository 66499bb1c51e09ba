"""One-shot episodes (model-spec §5.2): a query image, a reference instance of one category, and as targets all
instances of that category in the query image.

Rules:
- only *active* categories are ever targets or references (training: the split's training classes); instances of
  other categories stay in the images as background;
- the category is drawn uniformly among the active categories present in the query image;
- the reference is a random non-crowd instance of the category from a random image holding it; that image may be
  the query itself (the paper's default) unless `allow_same_image_reference=False`;
- crowd regions are neither targets nor references.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.data.annotations import AnnotatedImage, Dataset, InstanceAnnotation
from model.data.augment import Augmentation

__all__ = ["Episode", "EpisodeSampler", "ReferenceDraw", "interleave", "sampler_from_label_studio"]

MIN_REFERENCE_SIDE_PX = 2.0
"""References narrower or shorter than this (pixels) carry no appearance to match; they are never drawn."""


@dataclass(frozen=True, eq=False)
class Episode:
    """One training or evaluation example.

    Attributes:
        query_image: `(H, W, 3)` uint8 RGB.
        gt_boxes: `(N, 4)` float32 `x1, y1, x2, y2` pixels of every instance of `category` in the query (N >= 1).
        gt_masks: `(N, H, W)` bool, aligned with `gt_boxes`.
        reference_image: `(h, w, 3)` uint8 RGB (the query image itself when the reference came from it).
        reference_box: `(4,)` float32 `x1, y1, x2, y2` pixels in `reference_image`.
        category: the category name; category_id: its index in the dataset's categories.
        query_id, reference_id: `AnnotatedImage.image_id` of the two images.
        object_boxes: `(M, 4)` float32 `x1, y1, x2, y2` pixels of every non-crowd instance of an *active* category
            in the query (the targets among them): the objects a reference-agnostic RPN learns to propose
            (`conditioning="roi"`). None: the targets only.
    """

    query_image: np.ndarray
    gt_boxes: np.ndarray
    gt_masks: np.ndarray
    reference_image: np.ndarray
    reference_box: np.ndarray
    category: str
    category_id: int
    query_id: str
    reference_id: str
    object_boxes: np.ndarray | None = None


@dataclass(frozen=True)
class ReferenceDraw:
    """Where a drawn reference lives: `dataset.images[image_index].instances[instance_index]`."""

    image_index: int
    instance_index: int


class EpisodeSampler:
    """Seeded sampler of one-shot episodes over a `Dataset`.

    Args:
        dataset: the annotated images.
        active_classes: category names that may be targets/references (None = all categories). For training on a
            split use `split.train_classes(dataset.categories)`.
        allow_same_image_reference: let the reference come from the query image itself (paper: True).
        same_image_probability: chance that the reference is drawn from the query image itself whenever the query
            holds a usable one (the product's main case: one box, find the others in the same image); it is then
            cropped from the augmented query, as an annotator's box is. 0 = the paper's draw over all images.
        augmentation: applied independently to the query (with its targets) and to the reference; None = off.
        seed: seeds the sampler's generator; the same seed gives the same episodes.

    Raises:
        ValueError: an active class is unknown, or no image can host an episode.
    """

    def __init__(
        self,
        dataset: Dataset,
        active_classes: Collection[str] | None = None,
        *,
        allow_same_image_reference: bool = True,
        same_image_probability: float = 0.0,
        augmentation: Augmentation | None = None,
        seed: int = 0,
    ) -> None:
        self.dataset = dataset
        names = dataset.categories if active_classes is None else tuple(active_classes)
        self.active_category_ids = frozenset(dataset.category_id(name) for name in names)
        self.allow_same_image_reference = allow_same_image_reference
        if not 0.0 <= same_image_probability <= 1.0:
            raise ValueError(f"same_image_probability must be in [0, 1], got {same_image_probability}")
        if same_image_probability and not allow_same_image_reference:
            raise ValueError("same_image_probability > 0 needs allow_same_image_reference=True")
        self.same_image_probability = same_image_probability
        self.augmentation = augmentation
        self.rng = np.random.default_rng(seed)
        # Per category: the images holding a usable reference, and in each the instance indices (O(1) draws).
        self._references = {cid: reference_candidates(dataset, cid) for cid in self.active_category_ids}
        self._query_categories = {
            i: cats for i in range(len(dataset)) if (cats := self.eligible_categories(i))
        }
        if not self._query_categories:
            raise ValueError(
                f"no image of {dataset.name or 'the dataset'} can host an episode for the active classes "
                f"{sorted(names)}: each needs an instance in a query image and a reference"
                + (
                    ""
                    if allow_same_image_reference
                    else " in another image (allow_same_image_reference=False)"
                )
            )

    @property
    def query_indices(self) -> tuple[int, ...]:
        """Images that can be queries (hold an active category with a reference available)."""
        return tuple(self._query_categories)

    def eligible_categories(self, image_index: int) -> tuple[int, ...]:
        """Active category ids present in image `image_index` that have a reference to draw, sorted."""
        image = self.dataset.images[image_index]
        return tuple(
            cid
            for cid in sorted(image.category_ids() & self.active_category_ids)
            if self._reference_images(cid, image_index)
        )

    def _reference_images(self, category_id: int, query_index: int) -> list[int]:
        images = list(self._references[category_id])
        if not self.allow_same_image_reference and query_index in self._references[category_id]:
            images.remove(query_index)
        return images

    def draw_reference(self, category_id: int, query_index: int, rng: np.random.Generator) -> ReferenceDraw:
        """A random image holding the category (query excluded unless allowed), then a random instance in it."""
        in_query = self._references[category_id].get(query_index)
        if in_query and self.same_image_probability and rng.random() < self.same_image_probability:
            return ReferenceDraw(query_index, in_query[rng.integers(len(in_query))])
        images = self._reference_images(category_id, query_index)
        if not images:
            raise ValueError(f"no reference for category {self.dataset.categories[category_id]!r}")
        image_index = images[rng.integers(len(images))]
        in_image = self._references[category_id][image_index]
        return ReferenceDraw(image_index, in_image[rng.integers(len(in_image))])

    def episode(
        self, query_index: int, category_id: int | None = None, rng: np.random.Generator | None = None
    ) -> Episode:
        """Build the episode for one query image (category drawn among the eligible ones when None)."""
        rng = self.rng if rng is None else rng
        eligible = self._query_categories.get(query_index, ())
        if category_id is None:
            if not eligible:
                raise ValueError(f"image {query_index} holds no active category with a reference")
            category_id = eligible[rng.integers(len(eligible))]
        elif category_id not in eligible:
            raise ValueError(
                f"category {category_id} is not eligible in image {query_index} (eligible: {eligible})"
            )
        query = self.dataset.images[query_index]
        targets = query.instances_of(category_id)
        draw = self.draw_reference(category_id, query_index, rng)
        reference = self.dataset.images[draw.image_index]
        query_image = query.load_image()
        reference_image = query_image if draw.image_index == query_index else reference.load_image()
        boxes, masks = query.boxes(targets), query.masks(targets)
        objects = [a for a in query.instances if a.category_id in self.active_category_ids and not a.iscrowd]
        object_boxes = query.boxes(objects).reshape(-1, 4)
        reference_box = reference.instances[draw.instance_index].box.astype(np.float32)
        same_image = draw.image_index == query_index
        if self.augmentation is not None:
            # Masks are transformed one by one, so the object boxes (and a same-image reference's box) can ride
            # along after the targets' boxes.
            query_image, both, masks = self.augmentation.apply(
                query_image, np.concatenate([boxes, object_boxes, reference_box[None]]), masks, rng
            )
            boxes, object_boxes = both[: len(boxes)], both[len(boxes) : -1]
            if same_image:
                reference_image, reference_box = query_image, both[-1]
            else:
                reference_image, ref_boxes, _ = self.augmentation.apply(
                    reference_image, reference_box[None], None, rng
                )
                reference_box = ref_boxes[0]
        return Episode(
            query_image=query_image,
            gt_boxes=boxes,
            gt_masks=masks,
            reference_image=reference_image,
            reference_box=reference_box,
            category=self.dataset.categories[category_id],
            category_id=category_id,
            query_id=query.image_id,
            reference_id=reference.image_id,
            object_boxes=object_boxes,
        )

    def sample(self) -> Episode:
        """One episode from a uniformly drawn query image."""
        queries = self.query_indices
        return self.episode(queries[self.rng.integers(len(queries))])

    def __iter__(self) -> Iterator[Episode]:
        """Endless episodes, epoch by epoch over the shuffled query images (the paper's data generator)."""
        while True:
            for index in self.rng.permutation(np.array(self.query_indices)):
                yield self.episode(int(index))


def reference_candidates(dataset: Dataset, category_id: int) -> dict[int, tuple[int, ...]]:
    """`{image index: instance indices}` of the non-crowd instances of `category_id` usable as references
    (images in ascending order; images without a usable instance left out)."""
    candidates = {}
    for image_index in dataset.images_with(category_id):
        image: AnnotatedImage = dataset.images[image_index]
        usable = tuple(
            i for i, a in enumerate(image.instances) if a.category_id == category_id and _usable_reference(a)
        )
        if usable:
            candidates[image_index] = usable
    return candidates


def _usable_reference(instance: InstanceAnnotation) -> bool:
    x1, y1, x2, y2 = instance.box
    return not instance.iscrowd and min(x2 - x1, y2 - y1) >= MIN_REFERENCE_SIDE_PX


def sampler_from_label_studio(
    export_file: str | Path,
    images_dir: str | Path | None = None,
    *,
    held_out: Collection[str] = (),
    **sampler_options,
) -> EpisodeSampler:
    """Episodes from a Label Studio export (fine-tuning a project): every label except `held_out` is active.

    `sampler_options` go to `EpisodeSampler` (allow_same_image_reference, augmentation, seed).
    """
    from model.data.label_studio import read_label_studio

    dataset = read_label_studio(export_file, images_dir)
    unknown = sorted(set(held_out) - set(dataset.categories))
    if unknown:
        raise ValueError(
            f"held-out labels {unknown} do not occur in {export_file} (labels: {list(dataset.categories)})"
        )
    active = [c for c in dataset.categories if c not in set(held_out)]
    return EpisodeSampler(dataset, active, **sampler_options)


def interleave(streams: Sequence[tuple[float, Iterator[Episode]]], seed: int = 0) -> Iterator[Episode]:
    """Endless episodes drawn from several streams, each next episode from stream i with probability weight_i / sum.

    Args:
        streams: `(weight, iterator)` pairs; weights >= 0, at least one > 0. Streams of weight 0 are never read.
    """
    weights = np.asarray([w for w, _ in streams], np.float64)
    if len(weights) == 0 or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError(f"interleave needs non-negative weights with a positive sum, got {weights.tolist()}")
    iterators = [it for _, it in streams]
    rng = np.random.default_rng(seed)
    probabilities = weights / weights.sum()
    while True:
        yield next(iterators[rng.choice(len(iterators), p=probabilities)])
