"""Augmentation that keeps images, boxes and masks aligned: horizontal flip, isotropic scale, colour jitter.

Off by default: the paper trains without augmentation (model-spec §2.2). Useful for small custom datasets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Augmentation"]

MAX_PIXEL = 255.0


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
