"""Sprites: objects to paste into synthetic scenes, each an RGB patch with an alpha matte.

Two sources:
- `cutouts_from_dataset`: every usable instance of some categories of a real `Dataset`, cut out along its mask
  (coco128's polygons). Callers choose the categories; `model/data/scenes.py` never passes held-out classes.
- `generated_kind`: procedural objects (polygons, blobs, stars, ellipses, rings, droplet-like discs) with procedural
  textures, or with a piece of a real photo as their texture (`photo_patch`: the appearance statistics of real
  images in an endless variety of kinds no class list names). One call makes one *kind*: a few sprites that vary
  slightly around the same design, as objects of one kind in one photo do.

A sprite's alpha is 1 inside the object and 0 outside (generated sprites) or the rasterised mask (cut-outs); the
scene composer softens edges itself, and derives the exact instance mask from the pasted alpha.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import cv2
import numpy as np

from model.data.annotations import Dataset

__all__ = ["Sprite", "cutouts_from_dataset", "generated_kind", "photo_patch", "SHAPES", "TEXTURES"]

MIN_CUTOUT_SIDE_PX = 16
"""Cut-outs narrower than this carry too little appearance to be worth repeating."""
MIN_CUTOUT_FILL = 0.3
"""Mask area / box area below this is mostly an occluded fragment (a sliver of a person behind a table)."""
MAX_CUTOUT_SIDE_PX = 256
"""Cut-outs are stored at most this large (scenes paste them at 512 px or less)."""
GENERATED_SIDE_PX = 96
"""Side of the canvas generated sprites are drawn on (the composer rescales them)."""
SHAPES = ("polygon", "blob", "star", "ellipse", "ring", "droplet")
TEXTURES = ("solid", "noise", "stripes", "checker", "gradient", "spots")
MIN_PHOTO_CROP_PX = 24
"""A photo texture is a square crop of at least this side (smaller ones are mostly flat colour once enlarged)."""


@dataclass(frozen=True, eq=False)
class Sprite:
    """An object to paste.

    Attributes:
        rgb: `(h, w, 3)` uint8.
        alpha: `(h, w)` float32 in [0, 1]; > 0.5 is the object.
        kind: what it is (a category name for cut-outs, e.g. "car"; "shape:<n>" for generated kinds).
    """

    rgb: np.ndarray
    alpha: np.ndarray
    kind: str


def cutouts_from_dataset(dataset: Dataset, categories: Collection[str]) -> dict[str, list[Sprite]]:
    """Cut every usable instance of `categories` out of `dataset`'s images along its mask.

    Usable: not crowd, a real mask (polygons or RLE), box sides >= `MIN_CUTOUT_SIDE_PX`, mask filling at least
    `MIN_CUTOUT_FILL` of its box. Images are decoded once each.

    Returns:
        `{category name: [Sprite, ...]}` with only categories that have at least one usable instance.
    """
    wanted = set(categories)
    unknown = sorted(wanted - set(dataset.categories))
    if unknown:
        raise ValueError(f"categories {unknown} are not in {dataset.name or 'the dataset'}: {list(dataset.categories)}")
    out: dict[str, list[Sprite]] = {}
    for image in dataset.images:
        chosen = [a for a in image.instances if a.category in wanted and not a.iscrowd and a.has_mask]
        chosen = [a for a in chosen if min(a.box[2] - a.box[0], a.box[3] - a.box[1]) >= MIN_CUTOUT_SIDE_PX]
        if not chosen:
            continue
        pixels = image.load_image()
        for annotation in chosen:
            sprite = _cut(pixels, annotation.mask(image.height, image.width), annotation.box, annotation.category)
            if sprite is not None:
                out.setdefault(annotation.category, []).append(sprite)
    return out


def _cut(pixels: np.ndarray, mask: np.ndarray, box: np.ndarray, kind: str) -> Sprite | None:
    x1, y1 = int(np.floor(box[0])), int(np.floor(box[1]))
    x2, y2 = int(np.ceil(box[2])), int(np.ceil(box[3]))
    crop_mask = mask[y1:y2, x1:x2]
    if crop_mask.size == 0 or crop_mask.mean() < MIN_CUTOUT_FILL:
        return None
    rgb = pixels[y1:y2, x1:x2]
    alpha = crop_mask.astype(np.float32)
    scale = MAX_CUTOUT_SIDE_PX / max(rgb.shape[:2])
    if scale < 1:
        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    return Sprite(np.ascontiguousarray(rgb), alpha, kind)


def photo_patch(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random square crop of `photo` (`(h, w, 3)` uint8, each side >= `MIN_PHOTO_CROP_PX`), between
    `MIN_PHOTO_CROP_PX` and the short side, resized to `(GENERATED_SIDE_PX, GENERATED_SIDE_PX, 3)` float32 and
    turned by a random right angle: the texture of a photo-textured kind."""
    height, width = photo.shape[:2]
    if min(height, width) < MIN_PHOTO_CROP_PX:
        raise ValueError(f"a photo texture needs an image of at least {MIN_PHOTO_CROP_PX} px a side, got "
                         f"{width}x{height}")
    side = int(np.exp(rng.uniform(np.log(MIN_PHOTO_CROP_PX), np.log(min(height, width) + 1))))
    side = min(side, height, width)
    y0, x0 = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
    crop = cv2.resize(photo[y0 : y0 + side, x0 : x0 + side], (GENERATED_SIDE_PX, GENERATED_SIDE_PX),
                      interpolation=cv2.INTER_AREA if side > GENERATED_SIDE_PX else cv2.INTER_LINEAR)
    return np.rot90(crop, int(rng.integers(4))).astype(np.float32)


def generated_kind(rng: np.random.Generator, name: str, variants: int = 4,
                   photo: np.ndarray | None = None) -> list[Sprite]:
    """One procedural kind: `variants` sprites sharing a shape family, palette and texture, each slightly varied
    (vertex jitter, aspect, colour), drawn on a `GENERATED_SIDE_PX` canvas and cropped to the object.

    Args:
        photo: a `(GENERATED_SIDE_PX, GENERATED_SIDE_PX, 3)` float32 texture (`photo_patch`) used instead of the
            procedural one, the same piece of photo in every variant (each with its own slight colour change).

    Returns:
        `variants` sprites of kind `name`.
    """
    shape = SHAPES[rng.integers(len(SHAPES))]
    texture = TEXTURES[rng.integers(len(TEXTURES))]
    palette = rng.integers(0, 256, size=(2, 3)).astype(np.float32)
    design = {
        "vertices": int(rng.integers(3, 9)),
        "aspect": float(np.exp(rng.uniform(-0.6, 0.6))),
        "radii": rng.uniform(0.45, 1.0, size=12),
        "inner": float(rng.uniform(0.3, 0.7)),
        "period": float(rng.uniform(4, 16)),
        "angle": float(rng.uniform(0, np.pi)),
    }
    return [_draw(shape, texture, palette, design, rng, name, photo) for _ in range(variants)]


def _draw(shape: str, texture: str, palette: np.ndarray, design: dict, rng: np.random.Generator, kind: str,
          photo: np.ndarray | None = None) -> Sprite:
    side = GENERATED_SIDE_PX
    centre = (side - 1) / 2
    radius = side * 0.45
    aspect = design["aspect"] * float(np.exp(rng.normal(0, 0.05)))
    rx, ry = radius * min(1.0, aspect), radius * min(1.0, 1 / aspect)
    alpha = np.zeros((side, side), np.uint8)
    colour = np.clip(palette + rng.normal(0, 8, size=palette.shape), 0, 255)
    rgb = _texture(texture, colour, design, side, rng)
    if photo is not None:
        rgb = photo * rng.uniform(0.95, 1.05, size=3).astype(np.float32)
    if shape in ("polygon", "blob", "star"):
        count = design["vertices"] if shape == "polygon" else (12 if shape == "blob" else 2 * design["vertices"])
        angles = np.linspace(0, 2 * np.pi, count, endpoint=False) + design["angle"]
        if shape == "blob":
            radii = design["radii"] * (1 + rng.normal(0, 0.04, size=12))
        elif shape == "star":
            radii = np.where(np.arange(count) % 2 == 0, 1.0, design["inner"]) * (1 + rng.normal(0, 0.04, size=count))
        else:
            radii = np.ones(count) * (1 + rng.normal(0, 0.04, size=count))
        points = np.stack([centre + rx * radii * np.cos(angles), centre + ry * radii * np.sin(angles)], axis=1)
        if shape == "blob":
            points = cv2.approxPolyDP(_smooth_closed(points).astype(np.float32), 0.5, True).reshape(-1, 2)
        cv2.fillPoly(alpha, [np.round(points * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    else:
        axes = (max(2, int(rx)), max(2, int(ry)))
        cv2.ellipse(alpha, (int(centre), int(centre)), axes, np.degrees(design["angle"]), 0, 360, 1, -1)
        if shape == "ring":
            inner = (max(1, int(rx * design["inner"])), max(1, int(ry * design["inner"])))
            cv2.ellipse(alpha, (int(centre), int(centre)), inner, np.degrees(design["angle"]), 0, 360, 0, -1)
        elif shape == "droplet":  # a disc with a bright rim and a darker core, as droplets under a microscope
            rim = np.zeros_like(alpha)
            cv2.ellipse(rim, (int(centre), int(centre)), axes, np.degrees(design["angle"]), 0, 360, 1,
                        max(1, int(min(axes) * 0.15)))
            rgb = np.where(rim[..., None] > 0, colour[0], rgb * 0.6 + colour[1] * 0.4).astype(np.float32)
    ys, xs = np.nonzero(alpha)
    if len(ys) == 0:  # degenerate design: fall back to a filled disc
        cv2.circle(alpha, (int(centre), int(centre)), int(radius), 1, -1)
        ys, xs = np.nonzero(alpha)
    y1, y2, x1, x2 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    rgb = np.clip(rgb[y1:y2, x1:x2], 0, 255).astype(np.uint8)
    return Sprite(np.ascontiguousarray(rgb), alpha[y1:y2, x1:x2].astype(np.float32), kind)


def _smooth_closed(points: np.ndarray, upsample: int = 8) -> np.ndarray:
    """A closed polyline's vertices resampled through a periodic smoothing of its Fourier series (a smooth blob)."""
    spectrum = np.fft.rfft(points, axis=0)
    spectrum[4:] = 0
    return np.fft.irfft(spectrum, n=len(points) * upsample, axis=0) * upsample


def _texture(texture: str, colour: np.ndarray, design: dict, side: int, rng: np.random.Generator) -> np.ndarray:
    """`(side, side, 3)` float32 texture in two colours of `colour` (2, 3)."""
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    angle, period = design["angle"], design["period"]
    along = xx * np.cos(angle) + yy * np.sin(angle)
    if texture == "solid":
        weight = np.zeros((side, side), np.float32)
    elif texture == "noise":
        weight = cv2.GaussianBlur(rng.random((side, side)).astype(np.float32), (0, 0), 2.0)
        weight = (weight - weight.min()) / max(float(np.ptp(weight)), 1e-6)
    elif texture == "stripes":
        weight = (np.sin(2 * np.pi * along / period) > 0).astype(np.float32)
    elif texture == "checker":
        across = -xx * np.sin(angle) + yy * np.cos(angle)
        weight = ((np.floor(along / period) + np.floor(across / period)) % 2).astype(np.float32)
    elif texture == "gradient":
        weight = (along - along.min()) / max(float(np.ptp(along)), 1e-6)
    else:  # spots
        weight = np.zeros((side, side), np.float32)
        for _ in range(int(rng.integers(3, 10))):
            cv2.circle(weight, tuple(int(v) for v in rng.integers(0, side, 2)), int(rng.integers(3, 12)), 1.0, -1)
    return colour[0] * (1 - weight[..., None]) + colour[1] * weight[..., None]
