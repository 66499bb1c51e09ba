"""Augmentation that keeps images, boxes and masks aligned: horizontal flip, isotropic scale, colour jitter; and
`AcquisitionShift`, photometric changes of a whole image as another camera session would bring them (light, contrast,
focus), which move nothing.

Off by default: the paper trains without augmentation (model-spec §2.2). Useful for small custom datasets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["AcquisitionShift", "Augmentation", "NETWORK_SIDE", "blur_at_network_scale", "flatten_and_scale"]

MAX_PIXEL = 255.0
NETWORK_SIDE = 512
"""The long side the network sees (the service's default input size): blurs are given in its pixels and scaled to the
image."""


@dataclass(frozen=True)
class Augmentation:
    """Random photometric and geometric changes.

    Attributes:
        flip_probability: chance of a horizontal flip.
        scale_range: `(low, high)` factor applied to both sides (1, 1 = no scaling).
        brightness: max relative change of brightness (0 = none), e.g. 0.2 -> factor in [0.8, 1.2].
        contrast: max relative change of contrast around the mean.
        saturation: max relative change of colour saturation around the gray value.
    """

    flip_probability: float = 0.5
    scale_range: tuple[float, float] = (0.8, 1.2)
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2

    def __post_init__(self) -> None:
        if not 0.0 <= self.flip_probability <= 1.0:
            raise ValueError(f"flip_probability must be in [0, 1], got {self.flip_probability}")
        low, high = self.scale_range
        if not 0 < low <= high:
            raise ValueError(f"scale_range must be (low, high) with 0 < low <= high, got {self.scale_range}")
        for name in ("brightness", "contrast", "saturation"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")

    def apply(
        self, image: np.ndarray, boxes: np.ndarray, masks: np.ndarray | None, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Augment one image with its boxes and masks the same way.

        Args:
            image: `(H, W, 3)` uint8 RGB.
            boxes: `(N, 4)` float `x1, y1, x2, y2` pixels.
            masks: `(N, H, W)` bool, or None (e.g. for a reference image that only has a box).
            rng: the source of randomness (seeded by the caller).

        Returns:
            `(image (H', W', 3) uint8, boxes (N, 4) float32 xyxy in the new pixels, masks (N, H', W') bool or None)`.
        """
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        if rng.random() < self.flip_probability:
            image, boxes, masks = flip_horizontal(image, boxes, masks)
        scale = float(rng.uniform(*self.scale_range))
        if scale != 1.0:
            image, boxes, masks = rescale(image, boxes, masks, scale)
        return self._jitter_colour(image, rng), boxes, masks

    def _jitter_colour(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = image.astype(np.float32)
        out *= 1.0 + rng.uniform(-self.brightness, self.brightness)
        mean = out.mean()
        out = (out - mean) * (1.0 + rng.uniform(-self.contrast, self.contrast)) + mean
        gray = out.mean(axis=2, keepdims=True)
        out = (out - gray) * (1.0 + rng.uniform(-self.saturation, self.saturation)) + gray
        return np.clip(np.rint(out), 0, MAX_PIXEL).astype(np.uint8)


def flip_horizontal(
    image: np.ndarray, boxes: np.ndarray, masks: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Mirror left-right. Boxes: `x1' = W - x2`, `x2' = W - x1` (x2 exclusive, so pixel columns map exactly)."""
    width = image.shape[1]
    flipped = boxes.copy()
    flipped[:, 0], flipped[:, 2] = width - boxes[:, 2], width - boxes[:, 0]
    return image[:, ::-1].copy(), flipped, None if masks is None else masks[:, :, ::-1].copy()


def rescale(
    image: np.ndarray, boxes: np.ndarray, masks: np.ndarray | None, scale: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Resize by `scale` (bilinear image, nearest masks); boxes scale by the exact per-axis size ratio."""
    import cv2

    height, width = image.shape[:2]
    new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    ratios = np.array([new_w / width, new_h / height, new_w / width, new_h / height], dtype=np.float32)
    if masks is not None:
        masks = (
            np.stack(
                [
                    cv2.resize(m.astype(np.uint8), (new_w, new_h), interpolation=cv2.INTER_NEAREST)
                    for m in masks
                ]
            )
            .astype(bool)
            .reshape(len(masks), new_h, new_w)
        )
    return resized, boxes * ratios, masks


def flatten_and_scale(image: np.ndarray, contrast: float, brightness: float) -> np.ndarray:
    """Pixel values move to `contrast` x their distance from the image's mean (< 1: flatter), then x `brightness`.

    Args:
        image: `(H, W, 3)` uint8 RGB.

    Returns:
        `(H, W, 3)` uint8 RGB.
    """
    pixels = image.astype(np.float32)
    mean = pixels.mean()
    shifted = ((pixels - mean) * contrast + mean) * brightness
    return np.clip(np.rint(shifted), 0, MAX_PIXEL).astype(np.uint8)


def blur_at_network_scale(image: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of `sigma` px at the network's input (`NETWORK_SIDE` on the long side), i.e. sigma x long side
    / `NETWORK_SIDE` in the image's own pixels; `sigma` <= 0 returns the image.

    Args:
        image: `(H, W, 3)` uint8 RGB.

    Returns:
        `(H, W, 3)` uint8 RGB.
    """
    import cv2

    if sigma <= 0:
        return image
    return cv2.GaussianBlur(image, (0, 0), sigma * max(image.shape[:2]) / NETWORK_SIDE)


@dataclass(frozen=True)
class AcquisitionShift:
    """A random change of a whole image's light, contrast and focus, as the project's next camera session, clip or
    microscope slide may bring (nothing moves, so boxes and masks stay as they are).

    A child fine-tuned on a few accepted images of one session learns that session's exact look, and on the next
    one scores the same objects lower (docs/learning-loop.md, sessions 10-17): the shifts teach it that the look
    may change.

    Attributes:
        probability: chance that an image is shifted at all (the rest keep the accepted images' look).
        contrast: `(low, high)` factor of the distance from the image's mean (`flatten_and_scale`).
        brightness: `(low, high)` factor of every value.
        defocus_probability: chance, for a shifted image, of a blur too.
        defocus_sigma: `(low, high)` sigma of that blur in pixels at the network's input (`blur_at_network_scale`).
    """

    probability: float = 0.5
    contrast: tuple[float, float] = (0.5, 1.3)
    brightness: tuple[float, float] = (0.7, 1.3)
    defocus_probability: float = 0.5
    defocus_sigma: tuple[float, float] = (0.5, 2.0)

    def __post_init__(self) -> None:
        for name in ("probability", "defocus_probability"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        for name in ("contrast", "brightness", "defocus_sigma"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ValueError(f"{name} must be (low, high) with 0 <= low <= high, got {getattr(self, name)}")

    def apply(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """`image` (`(H, W, 3)` uint8 RGB) shifted, or itself (`probability`); same shape and dtype."""
        if rng.random() >= self.probability:
            return image
        out = flatten_and_scale(image, float(rng.uniform(*self.contrast)), float(rng.uniform(*self.brightness)))
        if rng.random() < self.defocus_probability:
            out = blur_at_network_scale(out, float(rng.uniform(*self.defocus_sigma)))
        return out
