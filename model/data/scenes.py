"""Synthetic repeated-object scenes: the product's main case (one box, find the others in the same image), as
endless training data and as a development set.

A scene is a background with one *target kind* pasted 2-100 times (scale +/-20%, any rotation or a small tilt,
flips, slight colour and blur changes, soft edges) among 0-3 distractor kinds pasted a few times each. Masks are
exact: an instance's mask is where its own pasted alpha is >= 0.5 and no later paste covers it, and its box is the
tight box of that mask.

Where pixels come from (`SceneSources`): sprites of real categories cut from a dataset (the caller passes training
classes only), procedural kinds (`model.data.sprites.generated_kind`), and backgrounds made from real images with the
instances of excluded categories filled in (so a scene never shows an object of a held-out class), or procedural
backgrounds. A cut-out kind is never pasted onto a background that already shows its category (an unlabelled
positive).

`SceneSampler` yields `Episode`s (model/data/episodes.py) whose reference is a target instance of the same scene;
`write_scene_set` writes scenes as a COCO JSON development set.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

import cv2
import numpy as np

from model.data.annotations import Dataset, box_from_mask
from model.data.episodes import Episode
from model.data.sprites import Sprite, cutouts_from_dataset, generated_kind, photo_patch

__all__ = ["Scene", "SceneSettings", "SceneSources", "SceneSampler", "compose_scene", "write_scene_set"]

BACKGROUND_LONG_SIDE_PX = 640
FILL_BLUR_SIGMA = 12.0
"""Sigma (pixels) of the normalised blur that fills excluded objects out of a background."""
FILL_DILATE_PX = 5
MIN_VISIBLE_PX = 12
"""An instance whose visible mask is smaller than this is dropped from the labels (and stays as texture)."""
PLACEMENT_TRIES = 25
GENERATED_KINDS_PER_SCENE_POOL = 4


@dataclass(frozen=True)
class SceneSettings:
    """How scenes are drawn. Sizes are pixels of the scene (its long side is `long_side`).

    Attributes:
        long_side: scene long side; aspects: (long / short) ratios drawn uniformly.
        copies: (min, max) target copies, drawn log-uniformly, then capped so they fit (`max_target_cover`).
        object_size: (min, max) long side of the target kind's objects, drawn log-uniformly.
        scale_jitter: each copy's size is the kind's size x U(1 - j, 1 + j).
        distractor_kinds: (min, max) other kinds per scene; distractor_copies: (min, max) copies of each.
        similar_size_fraction: chance that a distractor kind is the target kind's size (x/÷ 1.4), so that only its
            appearance tells it apart (the reference's size is a prior at inference).
        max_overlap: a copy whose mask would cover more than this fraction of itself with earlier copies is moved.
        generated_fraction: chance that a kind is procedural rather than a real cut-out.
        photo_texture_fraction: chance that a procedural kind is textured with a piece of one of the backgrounds
            (`sprites.photo_patch`) instead of a procedural texture. 0 (the default) draws exactly the scenes of
            earlier versions from the same seed.
        generated_background_fraction: chance of a procedural background.
        free_rotation_fraction: chance that a kind's copies take any rotation (else a tilt of +/- `tilt_deg`).
        colour_jitter: per-copy per-channel gain U(1 - c, 1 + c); blur_probability, max_blur_sigma: per copy.
        edge_softness: (min, max) sigma of the alpha blur that softens edges.
        border_overhang: how far a copy may lie outside the scene, as a fraction of its own height and width on
            each side: a camera frame cuts the objects at its edges, and an instance's label is its visible part
            (kept when it has at least `MIN_VISIBLE_PX` pixels). 0 (the default) keeps every copy inside and draws
            exactly the scenes of earlier versions from the same seed.
    """

    long_side: int = 512
    aspects: tuple[float, ...] = (1.0, 4 / 3, 16 / 9, 3.2)
    copies: tuple[int, int] = (2, 100)
    object_size: tuple[float, float] = (12.0, 200.0)
    scale_jitter: float = 0.2
    distractor_kinds: tuple[int, int] = (0, 3)
    distractor_copies: tuple[int, int] = (1, 8)
    similar_size_fraction: float = 0.5
    max_overlap: float = 0.15
    max_target_cover: float = 0.45
    generated_fraction: float = 0.4
    photo_texture_fraction: float = 0.0
    generated_background_fraction: float = 0.25
    free_rotation_fraction: float = 0.5
    tilt_deg: float = 20.0
    colour_jitter: float = 0.1
    blur_probability: float = 0.3
    max_blur_sigma: float = 1.0
    edge_softness: tuple[float, float] = (0.3, 1.0)
    border_overhang: float = 0.0

    @classmethod
    def with_changes(cls, changes: Iterable[tuple[str, object]]) -> SceneSettings:
        """The defaults with `(field, value)` changes (`python -m model train --scene FIELD=VALUE`); lists become
        tuples.

        Raises:
            ValueError: an unknown field, naming the known ones.
        """
        known = {f.name for f in fields(cls)}
        values = {}
        for name, value in changes:
            if name not in known:
                raise ValueError(f"unknown scene setting {name!r}; known: {sorted(known)}")
            values[name] = tuple(value) if isinstance(value, list) else value
        return cls(**values)


@dataclass(frozen=True, eq=False)
class Scene:
    """A composed scene.

    Attributes:
        image: `(H, W, 3)` uint8 RGB.
        masks: `(N, H, W)` bool, one per labelled instance (visible part).
        boxes: `(N, 4)` float32 `x1, y1, x2, y2` pixels, the tight boxes of `masks`.
        kinds: `(N,)` int, index into `kind_names`; kind 0 is the target kind.
        kind_names: the kinds' names (unique within the scene).
    """

    image: np.ndarray
    masks: np.ndarray
    boxes: np.ndarray
    kinds: np.ndarray
    kind_names: tuple[str, ...]


@dataclass
class SceneSources:
    """Sprites and backgrounds to compose from.

    Attributes:
        cutouts: `{category: [Sprite]}` of real objects (training classes only).
        backgrounds: `(h, w, 3)` uint8 images, each with the categories it still shows in `background_categories`.
    """

    cutouts: dict[str, list[Sprite]] = field(default_factory=dict)
    backgrounds: list[np.ndarray] = field(default_factory=list)
    background_categories: list[frozenset[str]] = field(default_factory=list)

    @classmethod
    def from_dataset(cls, dataset: Dataset, sprite_classes: Collection[str], excluded: Collection[str],
                     filled: Collection[str] = ()) -> SceneSources:
        """Cut-outs of `sprite_classes`, backgrounds from every image with `excluded` categories filled in.

        `filled`: more categories filled out of the backgrounds that may still be pasted (a development set of
        kinds no training saw pastes the validation classes and must not leave unlabelled ones in the background).

        Raises:
            ValueError: a sprite class is also excluded (it would leak into scenes).
        """
        leak = sorted(set(sprite_classes) & set(excluded))
        if leak:
            raise ValueError(f"classes {leak} are both sprite classes and excluded; a held-out class must never "
                             "be pasted")
        cutouts = cutouts_from_dataset(dataset, [c for c in sprite_classes if c in dataset.categories])
        excluded = frozenset(excluded) | frozenset(filled)
        backgrounds, shown = [], []
        for image in dataset.images:
            pixels = image.load_image()
            mask = np.zeros(pixels.shape[:2], bool)
            for a in image.instances:
                if a.category in excluded:
                    mask |= a.mask(image.height, image.width)
            backgrounds.append(fill_out(pixels, mask, BACKGROUND_LONG_SIDE_PX))
            shown.append(frozenset(a.category for a in image.instances if a.category not in excluded))
        return cls(cutouts, backgrounds, shown)


def fill_out(image: np.ndarray, mask: np.ndarray, long_side: int) -> np.ndarray:
    """`image` resized to `long_side` with the pixels under `mask` (dilated) replaced by a normalised blur of the
    rest: what is there is gone, its surroundings smeared in. Returns uint8 `(h, w, 3)`."""
    scale = long_side / max(image.shape[:2])
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    if not mask.any():
        return small.astype(np.uint8)
    hole = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    hole = cv2.dilate(hole, np.ones((2 * FILL_DILATE_PX + 1,) * 2, np.uint8)).astype(bool)
    keep = (~hole).astype(np.float32)
    filled = small.copy()
    for sigma in (FILL_BLUR_SIGMA, 4 * FILL_BLUR_SIGMA):  # a wide second pass fills what the first cannot reach
        weight = cv2.GaussianBlur(keep, (0, 0), sigma)
        smeared = cv2.GaussianBlur(small * keep[..., None], (0, 0), sigma) / np.maximum(weight, 1e-4)[..., None]
        reach = (weight > 1e-3) & hole
        filled[reach] = smeared[reach]
    return np.clip(filled, 0, 255).astype(np.uint8)


def procedural_background(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth coloured noise over a gradient, sometimes grey (microscope-like). `(height, width, 3)` uint8."""
    base = rng.uniform(30, 225, size=3)
    if rng.random() < 0.4:
        base[:] = base.mean()
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (xx * np.cos(angle) + yy * np.sin(angle)) / max(height, width)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), rng.uniform(2, 30))
    noise /= max(float(noise.std()), 1e-6)
    image = base + (rng.uniform(-40, 40) * ramp + rng.uniform(5, 30) * noise)[..., None]
    return np.clip(image, 0, 255).astype(np.uint8)


def compose_scene(sources: SceneSources, settings: SceneSettings, rng: np.random.Generator) -> Scene:
    """Draw one scene (module docstring). The target kind has at least 2 labelled copies."""
    for _ in range(20):
        scene = _try_compose(sources, settings, rng)
        if scene is not None:
            return scene
    raise RuntimeError("could not place two copies of a target kind in 20 scenes: the settings leave no room")


def _try_compose(sources: SceneSources, s: SceneSettings, rng: np.random.Generator) -> Scene | None:
    aspect = float(s.aspects[rng.integers(len(s.aspects))])
    long_side, short_side = s.long_side, max(32, round(s.long_side / aspect))
    height, width = (short_side, long_side) if rng.random() < 0.75 else (long_side, short_side)
    shown: frozenset[str] = frozenset()
    if sources.backgrounds and rng.random() >= s.generated_background_fraction:
        index = int(rng.integers(len(sources.backgrounds)))
        canvas = _random_view(sources.backgrounds[index], height, width, rng)
        shown = sources.background_categories[index]
    else:
        canvas = procedural_background(height, width, rng)
    kinds = _draw_kinds(sources, s, shown, 1 + int(rng.integers(s.distractor_kinds[0], s.distractor_kinds[1] + 1)), rng)
    plan = []  # (kind index, sprite list, size, free rotation), one entry per copy
    target_size = 0.0
    for k, (sprites, _) in enumerate(kinds):
        size = float(np.exp(rng.uniform(*np.log(s.object_size))))
        if k > 0 and rng.random() < s.similar_size_fraction:  # only appearance tells this distractor apart
            size = target_size * float(np.exp(rng.uniform(-np.log(1.4), np.log(1.4))))
        size = min(size, 0.6 * min(height, width))
        target_size = size if k == 0 else target_size
        free = rng.random() < s.free_rotation_fraction
        if k == 0:
            wanted = int(np.exp(rng.uniform(np.log(s.copies[0]), np.log(s.copies[1] + 1))))
            fits = int(s.max_target_cover * height * width / (size * size * 0.6))
            count = max(s.copies[0], min(wanted, fits))
        else:
            count = int(rng.integers(s.distractor_copies[0], s.distractor_copies[1] + 1))
        plan += [(k, sprites, size, free)] * count
    order = rng.permutation(len(plan))
    owner = np.full((height, width), -1, np.int32)  # which paste owns each pixel (the last one wins)
    pasted_kind: list[int] = []
    areas: list[int] = []
    image = canvas.astype(np.float32)
    for i in order:
        k, sprites, size, free = plan[i]
        rgb, alpha = _transform(sprites[int(rng.integers(len(sprites)))], size, free, s, rng)
        spot = _place(alpha >= 0.5, owner, areas, s.max_overlap, rng, s.border_overhang)
        if spot is None:
            continue
        canvas_at, sprite_at = _window(spot, alpha.shape, owner.shape)
        alpha, rgb = alpha[sprite_at], rgb[sprite_at]
        region = image[canvas_at]
        region[:] = region * (1 - alpha[..., None]) + rgb * alpha[..., None]
        owner[canvas_at][alpha >= 0.5] = len(pasted_kind)
        pasted_kind.append(k)
        areas.append(int(np.count_nonzero(alpha >= 0.5)))
    masks, kind_of = [], []
    for index, k in enumerate(pasted_kind):
        mask = owner == index
        if mask.sum() >= MIN_VISIBLE_PX:
            masks.append(mask)
            kind_of.append(k)
    if sum(1 for k in kind_of if k == 0) < 2:
        return None
    masks_arr = np.stack(masks)
    boxes = np.stack([box_from_mask(m) for m in masks_arr]).astype(np.float32)
    return Scene(np.clip(np.rint(image), 0, 255).astype(np.uint8), masks_arr, boxes, np.asarray(kind_of),
                 tuple(name for _, name in kinds))


def _draw_kinds(sources: SceneSources, s: SceneSettings, shown: frozenset[str], count: int,
                rng: np.random.Generator) -> list[tuple[list[Sprite], str]]:
    """`count` distinct kinds: (sprites to draw copies from, name). A cut-out kind is one object repeated or several
    objects of its category; its category is never one the background shows."""
    classes = [c for c in sources.cutouts if c not in shown]
    kinds: list[tuple[list[Sprite], str]] = []
    used: set[str] = set()
    while len(kinds) < count:
        if classes and rng.random() >= s.generated_fraction:
            category = classes[int(rng.integers(len(classes)))]
            if category in used:
                if len(used) >= len(classes):
                    classes = []
                continue
            used.add(category)
            pool = sources.cutouts[category]
            if rng.random() < 0.5 or len(pool) == 1:
                kinds.append(([pool[int(rng.integers(len(pool)))]], category))
            else:
                picks = rng.choice(len(pool), size=min(len(pool), 6), replace=False)
                kinds.append(([pool[int(p)] for p in picks], category))
        else:
            name = f"shape-{int(rng.integers(1 << 30))}"
            photo = None
            # The draw is skipped at 0 so that scenes of earlier versions come back unchanged from the same seed.
            if sources.backgrounds and s.photo_texture_fraction > 0 and rng.random() < s.photo_texture_fraction:
                photo = photo_patch(sources.backgrounds[int(rng.integers(len(sources.backgrounds)))], rng)
            kinds.append((generated_kind(rng, name, GENERATED_KINDS_PER_SCENE_POOL, photo), name))
    return kinds


def _random_view(background: np.ndarray, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A random crop of `background` at a random zoom, flipped half the time, resized to `(height, width)`."""
    bh, bw = background.shape[:2]
    zoom = rng.uniform(0.5, 1.0)
    ch = max(8, min(bh, round(bh * zoom)))
    cw = max(8, min(bw, round(ch * width / height)))
    ch = min(bh, round(cw * height / width))
    y0, x0 = int(rng.integers(0, bh - ch + 1)), int(rng.integers(0, bw - cw + 1))
    view = cv2.resize(background[y0 : y0 + ch, x0 : x0 + cw], (width, height), interpolation=cv2.INTER_LINEAR)
    return view[:, ::-1] if rng.random() < 0.5 else view


def _transform(sprite: Sprite, size: float, free: bool, s: SceneSettings, rng: np.random.Generator):
    """The sprite scaled so its long side is `size` x jitter, rotated, maybe flipped, recoloured, blurred, with soft
    edges. Returns (rgb (h, w, 3) float32, alpha (h, w) float32)."""
    target = size * rng.uniform(1 - s.scale_jitter, 1 + s.scale_jitter)
    scale = max(target, 4.0) / max(sprite.rgb.shape[:2])
    angle = rng.uniform(0, 360) if free else rng.uniform(-s.tilt_deg, s.tilt_deg)
    rgb, alpha = sprite.rgb, sprite.alpha
    if rng.random() < 0.5:
        rgb, alpha = rgb[:, ::-1], alpha[:, ::-1]
    h, w = alpha.shape
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, scale)
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ matrix.T
    low, high = corners.min(axis=0), corners.max(axis=0)
    matrix[:, 2] -= low - 1
    out_w, out_h = int(np.ceil(high[0] - low[0])) + 2, int(np.ceil(high[1] - low[1])) + 2
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    rgb = cv2.warpAffine(np.ascontiguousarray(rgb), matrix, (out_w, out_h), flags=interpolation,
                         borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    alpha = cv2.warpAffine(np.ascontiguousarray(alpha), matrix, (out_w, out_h), flags=cv2.INTER_LINEAR)
    rgb *= rng.uniform(1 - s.colour_jitter, 1 + s.colour_jitter, size=3)
    if rng.random() < s.blur_probability:
        rgb = cv2.GaussianBlur(rgb, (0, 0), rng.uniform(0.3, s.max_blur_sigma))
    alpha = cv2.GaussianBlur(alpha, (0, 0), rng.uniform(*s.edge_softness))
    return np.clip(rgb, 0, 255), np.clip(alpha, 0, 1)


def _place(shape: np.ndarray, owner: np.ndarray, areas: list[int], max_overlap: float, rng: np.random.Generator,
           overhang: float = 0.0):
    """Top-left `(y, x)` of `shape` on the canvas such that its visible part covers at most `max_overlap` of itself
    with earlier pastes, and at most `max_overlap` of any earlier paste (`areas[i]`: paste i's visible pixels); None
    after `PLACEMENT_TRIES` misses (or when it is larger than the canvas). `overhang`: the fraction of the shape's
    height and width that may lie outside the canvas on each side (0: wholly inside; above 0, `y` and `x` may be
    negative or put the shape past the far edge)."""
    h, w = shape.shape
    height, width = owner.shape
    if h > height or w > width:
        return None
    out_y, out_x = int(h * overhang), int(w * overhang)
    limits = max_overlap * np.asarray(areas, np.float64)
    for _ in range(PLACEMENT_TRIES):
        y = int(rng.integers(-out_y, height - h + out_y + 1))
        x = int(rng.integers(-out_x, width - w + out_x + 1))
        canvas_at, sprite_at = _window((y, x), shape.shape, owner.shape)
        visible = shape[sprite_at]
        area = max(int(visible.sum()), 1)
        under = owner[canvas_at][visible]
        under = under[under >= 0]
        if len(under) > max_overlap * area:
            continue
        if len(under) and np.any(np.bincount(under, minlength=len(areas)) > limits):
            continue
        return y, x
    return None


def _window(spot: tuple[int, int], shape: tuple[int, int], canvas: tuple[int, int]) -> tuple[tuple, tuple]:
    """(canvas slices, sprite slices) of the part of a `shape`-sized sprite at top-left `spot` inside a `canvas`-sized
    image."""
    (y, x), (h, w), (height, width) = spot, shape, canvas
    y0, x0, y1, x1 = max(y, 0), max(x, 0), min(y + h, height), min(x + w, width)
    return (slice(y0, y1), slice(x0, x1)), (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))


class SceneSampler:
    """Endless same-image episodes from synthetic scenes: the reference is a random target instance of the scene,
    the targets are every instance of the target kind (the reference's own included), the other kinds are
    unlabelled distractors.

    Args:
        sources: sprites and backgrounds; settings: `SceneSettings`; seed: seeds the generator.
    """

    def __init__(self, sources: SceneSources, settings: SceneSettings | None = None, seed: int = 0):
        self.sources = sources
        self.settings = settings or SceneSettings()
        self.rng = np.random.default_rng(seed)
        self.count = 0

    def episode(self) -> Episode:
        scene = compose_scene(self.sources, self.settings, self.rng)
        self.count += 1
        targets = np.flatnonzero(scene.kinds == 0)
        reference = int(targets[self.rng.integers(len(targets))])
        scene_id = f"scene-{self.count}"
        return Episode(
            query_image=scene.image,
            gt_boxes=scene.boxes[targets],
            gt_masks=scene.masks[targets],
            reference_image=scene.image,
            reference_box=scene.boxes[reference],
            category=scene.kind_names[0],
            category_id=0,
            query_id=scene_id,
            reference_id=scene_id,
            object_boxes=scene.boxes,
        )

    def __iter__(self) -> Iterator[Episode]:
        while True:
            yield self.episode()


def write_scene_set(out_dir: str | Path, sources: SceneSources, count: int, seed: int,
                    settings: SceneSettings | None = None) -> Path:
    """Write `count` scenes as a COCO JSON set: `out_dir/images/scene-NNNN.jpg` and `out_dir/annotations.json`
    (file names relative to `out_dir`, so the JSON reads back without an images folder; RLE masks; every kind of
    every scene is a category, named `<kind>@<scene>` so that kinds of different scenes never merge). Returns the
    annotations path."""
    from common.masks import encode_mask

    settings = settings or SceneSettings()
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    images, annotations, categories = [], [], []
    for n in range(count):
        scene = compose_scene(sources, settings, rng)
        name = f"scene-{n:04d}.jpg"
        cv2.imwrite(str(out / "images" / name), scene.image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
        height, width = scene.image.shape[:2]
        images.append({"id": n + 1, "file_name": f"images/{name}", "height": height, "width": width})
        first = len(categories)
        categories += [{"id": first + k + 1, "name": f"{kind}@{n:04d}"} for k, kind in enumerate(scene.kind_names)]
        for mask, box, kind in zip(scene.masks, scene.boxes, scene.kinds, strict=True):
            x1, y1, x2, y2 = (float(v) for v in box)
            annotations.append({"id": len(annotations) + 1, "image_id": n + 1, "category_id": first + int(kind) + 1,
                                "segmentation": encode_mask(mask), "bbox": [x1, y1, x2 - x1, y2 - y1],
                                "area": float(mask.sum()), "iscrowd": 0})
    path = out / "annotations.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories,
                                "info": {"generator": "model.data.scenes", "seed": seed, "count": count}}))
    return path
