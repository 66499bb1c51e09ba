"""A generated annotation project whose images come from several acquisition sessions: the learning curve's
"sessions" set (`python -m bench.effort_curve --datasets sessions`).

Real projects are shot in sessions (a day, a slide, a clip), and the images a fine-tuned version must answer next
usually come from a session it never saw: other light, focus and object scale. This set makes that on purpose,
from procedural objects only (`model.data.sprites.generated_kind`; no dataset image):

- two labelled kinds (`kind-a`, `kind-b`) and one unlabelled distractor kind, drawn once per project seed;
- `SESSIONS` sessions of `IMAGES_PER_SESSION` square images each; a session fixes its background, the objects'
  scale, the light (gain, offset, colour cast), the focus (blur) and the sensor noise (`Acquisition`);
- each image holds `COPIES_A` copies of kind A, `COPIES_B` of kind B and `DISTRACTORS` of the distractor, at any
  rotation, each scaled by +/- `SCALE_JITTER`, never overlapping; instance masks are the pasted alpha >= 0.5;
- every image carries its session as its group (`AnnotatedImage.group`), so the curve accepts frames of sessions
  1-4 and judges sessions 5-8 (`bench.effort_curve.clip_split`), and the recipe holds out whole sessions;
- the "packed" variant (`sessions_dataset(packed=True)`, the curve's "sessions-packed" set, session 24) places
  `TOUCHING_SHARE` of the objects against one already pasted (their boxes `TOUCHING_GAP_PX` apart at most), as
  droplets in a channel, cells or grains lie: objects that touch, where a box around several of them is an easy
  mistake. The other objects are placed as in the default set, which stays pixel for pixel what it was;
- the "cut" variant (`sessions_dataset(cut=True)`, the curve's "sessions-cut" set, session 26) places every object's
  centre anywhere in the image, so the frame cuts some of them, and **leaves the cut ones unlabelled**: the
  convention of counting jobs (droplets, cells, colonies), where an object the frame cuts is not counted. A child
  should learn it from the accepted labels (`model.frame_convention`) and stop suggesting cut objects.

Nothing here is fitted to a dataset: the ranges are round numbers fixed before any child was trained on the set.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Acquisition", "CUT_NAME", "KINDS", "PACKED_NAME", "SESSIONS", "sessions_dataset"]

KINDS = ("kind-a", "kind-b")
"""The labelled kinds (the distractor kind is not labelled)."""
SESSIONS = 8
IMAGES_PER_SESSION = 6
IMAGE_SIDE = 384
BASE_OBJECT_PX = 36.0
"""The objects' long side before a session's scale."""
SCALE_JITTER = 0.15
COPIES_A = (4, 20)
COPIES_B = (0, 10)
DISTRACTORS = (0, 6)
PLACEMENT_TRIES = 30
TOUCHING_SHARE = 0.5
"""In the packed variant, the share of objects (after an image's first) placed against one already pasted."""
TOUCHING_GAP_PX = 2
"""The most pixels between the boxes of two touching objects."""
PACKED_NAME = "sessions-packed"
"""The packed variant's dataset name, and its name as a set of `bench.effort_curve`."""
CUT_NAME = "sessions-cut"
"""The cut variant's dataset name, and its name as a set of `bench.effort_curve`."""


@dataclass(frozen=True)
class Acquisition:
    """How one session's images look: objects' `scale` (x `BASE_OBJECT_PX`), light `gain` and `offset` (grey
    levels), per-channel `cast`, Gaussian `blur` sigma (px) and sensor `noise` sigma (grey levels)."""

    scale: float
    gain: float
    offset: float
    cast: tuple[float, float, float]
    blur: float
    noise: float

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Acquisition:
        return cls(scale=float(np.exp(rng.uniform(np.log(0.6), np.log(1.5)))), gain=float(rng.uniform(0.65, 1.3)),
                   offset=float(rng.uniform(-30, 30)), cast=tuple(float(v) for v in rng.uniform(0.85, 1.15, 3)),
                   blur=float(rng.uniform(0.0, 1.8)), noise=float(rng.uniform(2.0, 9.0)))

    def apply(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """`(H, W, 3)` float32 -> uint8, as this session's camera sees it."""
        out = image * self.gain * np.asarray(self.cast, np.float32) + self.offset
        if self.blur > 0.3:
            out = cv2.GaussianBlur(out, (0, 0), self.blur)
        out = out + rng.normal(0.0, self.noise, out.shape)
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def sessions_dataset(seed: int = 0, packed: bool = False, cut: bool = False):
    """The project (module docstring) as a `Dataset` named "sessions" (`PACKED_NAME` when `packed`: half the objects
    touch another; `CUT_NAME` when `cut`: the frame cuts some objects, which are left unlabelled); the same `seed`
    and variant give the same pixels."""
    if packed and cut:
        raise ValueError("choose one variant of the sessions project: packed or cut")
    from pycocotools import mask as mask_utils

    from model.data.annotations import AnnotatedImage, Dataset, InstanceAnnotation, box_from_mask
    from model.data.scenes import procedural_background
    from model.data.sprites import generated_kind

    rng = np.random.default_rng(seed)
    kinds = [generated_kind(rng, name) for name in (*KINDS, "distractor")]
    images = []
    for session in range(1, SESSIONS + 1):
        look = Acquisition.draw(rng)
        background = procedural_background(2 * IMAGE_SIDE, 2 * IMAGE_SIDE, rng).astype(np.float32)
        for index in range(IMAGES_PER_SESSION):
            y0, x0 = (int(v) for v in rng.integers(0, IMAGE_SIDE, 2))
            canvas = background[y0:y0 + IMAGE_SIDE, x0:x0 + IMAGE_SIDE].copy()
            owner = np.full((IMAGE_SIDE, IMAGE_SIDE), -1, np.int32)
            pasted: list[int] = []
            boxes: list[tuple[int, int, int, int]] = []  # (y1, x1, y2, x2) of each pasted object, y2/x2 exclusive
            counts = [int(rng.integers(lo, hi + 1)) for lo, hi in (COPIES_A, COPIES_B, DISTRACTORS)]
            plan = [k for k, count in enumerate(counts) for _ in range(count)]
            for k in (plan[i] for i in rng.permutation(len(plan))):
                sprite = kinds[k][int(rng.integers(len(kinds[k])))]
                side = BASE_OBJECT_PX * look.scale * float(rng.uniform(1 - SCALE_JITTER, 1 + SCALE_JITTER))
                rgb, alpha = _turned(sprite, side, float(rng.uniform(0, 360)))
                spot = None
                if packed and boxes and rng.random() < TOUCHING_SHARE:
                    spot = _touching_spot(alpha >= 0.5, owner, boxes, rng)
                if spot is None:
                    spot = (_spot_anywhere if cut else _free_spot)(alpha >= 0.5, owner, rng)
                if spot is None:
                    continue
                y, x = spot
                h, w = alpha.shape
                boxes.append((y, x, y + h, x + w))
                inside, part = _overlap(y, x, h, w)
                a = alpha[part]
                region = canvas[inside]
                region[:] = region * (1 - a[..., None]) + rgb[part] * a[..., None]
                owner[inside][a >= 0.5] = len(pasted)
                pasted.append(k if a.shape == alpha.shape else -1 - k)  # cut by the frame: not labelled
            pixels = look.apply(canvas, rng)
            instances = []
            for number, k in enumerate(pasted):
                mask = owner == number
                if not 0 <= k < len(KINDS) or not mask.any():
                    continue
                instances.append(InstanceAnnotation(
                    category_id=k, category=KINDS[k], box=box_from_mask(mask),
                    rle=mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))))
            images.append(AnnotatedImage(f"session{session}-{index}", lambda p=pixels: p, IMAGE_SIDE, IMAGE_SIDE,
                                         tuple(instances), str(session)))
    return Dataset(KINDS, tuple(images), PACKED_NAME if packed else CUT_NAME if cut else "sessions")


def _overlap(y: int, x: int, h: int, w: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """`(the image's slices, the sprite's slices)` of an `h` x `w` sprite at top-left `(y, x)`: its part inside the
    `IMAGE_SIDE` square image (all of it unless the frame cuts it)."""
    y1, x1, y2, x2 = max(y, 0), max(x, 0), min(y + h, IMAGE_SIDE), min(x + w, IMAGE_SIDE)
    return (slice(y1, y2), slice(x1, x2)), (slice(y1 - y, y2 - y), slice(x1 - x, x2 - x))


def _turned(sprite, side: float, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """The sprite scaled so its long side is `side` and turned by `degrees`: (rgb float32, alpha) on a tight canvas."""
    h, w = sprite.alpha.shape
    factor = side / max(h, w)
    size = (max(2, round(w * factor)), max(2, round(h * factor)))
    rgb = cv2.resize(sprite.rgb.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(sprite.alpha.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    diagonal = int(np.ceil(np.hypot(*size))) + 2
    turn = cv2.getRotationMatrix2D((size[0] / 2, size[1] / 2), degrees, 1.0)
    turn[:, 2] += ((diagonal - size[0]) / 2, (diagonal - size[1]) / 2)
    rgb = cv2.warpAffine(rgb, turn, (diagonal, diagonal), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(alpha, turn, (diagonal, diagonal), flags=cv2.INTER_LINEAR)
    ys, xs = np.nonzero(alpha >= 0.5)
    if not len(ys):
        return rgb, alpha
    crop = slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)
    return rgb[crop], alpha[crop]


def _touching_spot(shape: np.ndarray, owner: np.ndarray, boxes: list, rng: np.random.Generator) -> tuple[int, int] | None:
    """A top-left corner where `shape`'s box lies against one of `boxes` (0 to `TOUCHING_GAP_PX` apart, on a random
    side, sliding along it), wholly inside the image and touching no pasted object, or None."""
    h, w = shape.shape
    for _ in range(PLACEMENT_TRIES):
        y1, x1, y2, x2 = boxes[int(rng.integers(len(boxes)))]
        gap = int(rng.integers(0, TOUCHING_GAP_PX + 1))
        side = int(rng.integers(4))
        if side < 2:  # left or right of it, sliding vertically
            x = x1 - w - gap if side == 0 else x2 + gap
            y = int(rng.integers(y1 - h + 1, y2))
        else:  # above or below it, sliding horizontally
            y = y1 - h - gap if side == 2 else y2 + gap
            x = int(rng.integers(x1 - w + 1, x2))
        if 0 <= y <= owner.shape[0] - h and 0 <= x <= owner.shape[1] - w and \
                not (owner[y:y + h, x:x + w][shape] >= 0).any():
            return y, x
    return None


def _spot_anywhere(shape: np.ndarray, owner: np.ndarray, rng: np.random.Generator) -> tuple[int, int] | None:
    """A top-left corner that puts `shape`'s centre anywhere in the image (so the frame may cut it) where its part
    inside touches no pasted object, or None."""
    h, w = shape.shape
    for _ in range(PLACEMENT_TRIES):
        y = int(rng.integers(-(h // 2), owner.shape[0] - h // 2))
        x = int(rng.integers(-(w // 2), owner.shape[1] - w // 2))
        inside, part = _overlap(y, x, h, w)
        if not (owner[inside][shape[part]] >= 0).any():
            return y, x
    return None


def _free_spot(shape: np.ndarray, owner: np.ndarray, rng: np.random.Generator) -> tuple[int, int] | None:
    """A top-left corner where `shape` lies wholly inside the image and touches no pasted object, or None."""
    h, w = shape.shape
    if h >= owner.shape[0] or w >= owner.shape[1]:
        return None
    for _ in range(PLACEMENT_TRIES):
        y, x = int(rng.integers(0, owner.shape[0] - h)), int(rng.integers(0, owner.shape[1] - w))
        if not (owner[y:y + h, x:x + w][shape] >= 0).any():
            return y, x
    return None
