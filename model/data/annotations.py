"""The one internal representation of annotated images: `InstanceAnnotation`, `AnnotatedImage`, `Dataset`.

Every reader (COCO JSON, YOLO-seg, Label Studio export) produces a `Dataset`; episodes, evaluation and training only
ever see this representation.

Conventions (as in docs/design.md):
- boxes are `x1, y1, x2, y2` in original-image pixels, float, x2/y2 exclusive;
- polygons are `(P, 2)` float arrays of `x, y` vertices in original-image pixels;
- masks are `(H, W)` bool at the original resolution, rasterised on demand (never stored decoded);
- `category_id` is the 0-based index into `Dataset.categories` (contiguous, in the dataset's own order).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.images import load_image

__all__ = [
    "AnnotatedImage",
    "Dataset",
    "InstanceAnnotation",
    "box_from_mask",
    "decode_rle_mask",
    "rasterize_polygons",
]

MIN_POLYGON_VERTICES = 3
"""A polygon needs at least three vertices to enclose an area."""


def rasterize_polygons(polygons: Sequence[np.ndarray], height: int, width: int) -> np.ndarray:
    """Fill polygons into one mask.

    Args:
        polygons: each `(P, 2)` float `x, y` pixel vertices (P >= 3); several polygons are OR-ed (COCO style).
        height, width: size of the output mask.

    Returns:
        `(height, width)` bool mask.
    """
    from pycocotools import mask as mask_utils

    flat = [
        np.asarray(p, dtype=np.float64).reshape(-1).tolist()
        for p in polygons
        if len(p) >= MIN_POLYGON_VERTICES
    ]
    if not flat:
        return np.zeros((height, width), dtype=bool)
    rles = mask_utils.frPyObjects(flat, height, width)
    return decode_rle_mask(mask_utils.merge(rles))


def decode_rle_mask(rle: dict) -> np.ndarray:
    """Compressed COCO RLE -> `(H, W)` bool (pycocotools' numpy-2 copy warning silenced: it is harmless)."""
    import warnings

    from pycocotools import mask as mask_utils

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*copy keyword.*")
        return mask_utils.decode([rle])[:, :, 0].astype(bool)


def box_from_mask(mask: np.ndarray) -> np.ndarray:
    """Tight box around a mask.

    Args:
        mask: `(H, W)` bool.

    Returns:
        `(4,)` float32 `x1, y1, x2, y2` pixels (x2/y2 exclusive); all zeros for an empty mask.
    """
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if ys.size == 0:
        return np.zeros(4, dtype=np.float32)
    return np.array([xs[0], ys[0], xs[-1] + 1, ys[-1] + 1], dtype=np.float32)


@dataclass(frozen=True, eq=False)
class InstanceAnnotation:
    """One annotated object.

    Attributes:
        category_id: 0-based index into `Dataset.categories`.
        category: the category name (same as `Dataset.categories[category_id]`).
        box: `(4,)` float32 `x1, y1, x2, y2` pixels.
        polygons: tuple of `(P, 2)` float32 `x, y` pixel polygons (empty when the source gave a raster mask or a box).
        rle: compressed COCO RLE `{"size": [H, W], "counts": bytes|str}` when the source gave a raster mask, else None.
        iscrowd: COCO crowd region (never a target or a reference; ignored by COCOeval matching).
    """

    category_id: int
    category: str
    box: np.ndarray
    polygons: tuple[np.ndarray, ...] = ()
    rle: dict | None = None
    iscrowd: bool = False

    @property
    def has_mask(self) -> bool:
        """False for box-only annotations (their `mask()` is the filled box)."""
        return bool(self.polygons) or self.rle is not None

    def mask(self, height: int, width: int) -> np.ndarray:
        """Rasterise at full resolution: `(height, width)` bool. Box-only annotations give the filled box."""
        if self.rle is not None:
            decoded = decode_rle_mask(self.rle)
            if decoded.shape != (height, width):
                raise ValueError(
                    f"RLE mask of size {decoded.shape} does not match the image size {(height, width)}; "
                    "the annotation was made on a differently sized image: re-export it or fix the image size."
                )
            return decoded
        if self.polygons:
            return rasterize_polygons(self.polygons, height, width)
        return _filled_box(self.box, height, width)

    def coco_rle(self, height: int, width: int) -> dict:
        """The mask as compressed COCO RLE (`counts` bytes), without rasterising polygons or stored RLE."""
        from pycocotools import mask as mask_utils

        if self.rle is not None:
            return self.rle
        polygons = [p for p in self.polygons if len(p) >= MIN_POLYGON_VERTICES]
        if polygons:
            flat = [np.asarray(p, dtype=np.float64).reshape(-1).tolist() for p in polygons]
            return mask_utils.merge(mask_utils.frPyObjects(flat, height, width))
        return mask_utils.encode(np.asfortranarray(_filled_box(self.box, height, width).astype(np.uint8)))


def _filled_box(box: np.ndarray, height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), dtype=bool)
    x1, y1 = (max(0, int(np.floor(v))) for v in box[:2])
    x2, y2 = (int(np.ceil(v)) for v in box[2:])
    mask[y1 : min(y2, height), x1 : min(x2, width)] = True
    return mask


@dataclass(frozen=True, eq=False)
class AnnotatedImage:
    """An image and its instances.

    Attributes:
        image_id: unique within the dataset (file stem, COCO id or Label Studio task id, as a string).
        source: a file path, or a zero-argument callable returning the `(H, W, 3)` uint8 RGB pixels.
        height, width: original image size in pixels (after EXIF orientation).
        instances: all annotated objects, any category.
        group: where the image comes from when its source says (a video, a capture session: `video_id` or `video`
            of a COCO image or a Label Studio task's data, `common.image_groups.group_from`); images of one group
            are near-copies. None when unknown.
    """

    image_id: str
    source: Path | Callable[[], np.ndarray]
    height: int
    width: int
    instances: tuple[InstanceAnnotation, ...] = ()
    group: str | None = None

    def load_image(self) -> np.ndarray:
        """Decode the pixels: `(height, width, 3)` uint8 RGB. Raises ValueError when the size disagrees."""
        image = self.source() if callable(self.source) else load_image(self.source)
        if image.shape[:2] != (self.height, self.width):
            raise ValueError(
                f"image {self.image_id!r} decodes to {image.shape[:2]} but is annotated as "
                f"{(self.height, self.width)}; the annotation belongs to a different (resized/rotated) file."
            )
        return image

    def instances_of(
        self, category_id: int, *, include_crowd: bool = False
    ) -> tuple[InstanceAnnotation, ...]:
        """The instances of one category (crowd regions left out unless asked for)."""
        return tuple(
            a for a in self.instances if a.category_id == category_id and (include_crowd or not a.iscrowd)
        )

    def category_ids(self) -> frozenset[int]:
        """Categories with at least one non-crowd instance in this image."""
        return frozenset(a.category_id for a in self.instances if not a.iscrowd)

    def boxes(self, instances: Sequence[InstanceAnnotation]) -> np.ndarray:
        """`(N, 4)` float32 xyxy pixels of `instances` (N may be 0)."""
        return (
            np.stack([a.box for a in instances]).astype(np.float32)
            if instances
            else np.zeros((0, 4), np.float32)
        )

    def masks(self, instances: Sequence[InstanceAnnotation]) -> np.ndarray:
        """`(N, H, W)` bool masks of `instances`, rasterised now."""
        if not instances:
            return np.zeros((0, self.height, self.width), dtype=bool)
        return np.stack([a.mask(self.height, self.width) for a in instances])


@dataclass(frozen=True, eq=False)
class Dataset:
    """Images plus their category list.

    Attributes:
        categories: category names; the position is the `category_id` used by every `InstanceAnnotation`.
        images: the annotated images (images without instances are kept: they are valid negatives).
        name: free text for reports (e.g. the path it was read from).
    """

    categories: tuple[str, ...]
    images: tuple[AnnotatedImage, ...]
    name: str = ""
    _by_category: dict[int, tuple[int, ...]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if len(set(self.categories)) != len(self.categories):
            raise ValueError(f"duplicate category names in {self.categories}; names must be unique.")
        index: dict[int, list[int]] = {}
        for i, image in enumerate(self.images):
            for cid in image.category_ids():
                index.setdefault(cid, []).append(i)
        self._by_category.update({cid: tuple(v) for cid, v in index.items()})

    def __len__(self) -> int:
        return len(self.images)

    def category_id(self, name: str) -> int:
        """Index of `name` in `categories`; ValueError listing the known names otherwise."""
        try:
            return self.categories.index(name)
        except ValueError:
            raise ValueError(f"unknown category {name!r}; this dataset has {list(self.categories)}") from None

    def images_with(self, category_id: int) -> tuple[int, ...]:
        """Indices into `images` of the images holding a non-crowd instance of `category_id`."""
        return self._by_category.get(category_id, ())

    def instance_counts(self) -> dict[str, int]:
        """Non-crowd instances per category name (categories without instances left out)."""
        counts: dict[str, int] = {}
        for image in self.images:
            for a in image.instances:
                if not a.iscrowd:
                    counts[a.category] = counts.get(a.category, 0) + 1
        return counts
