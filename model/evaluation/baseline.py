"""A trivial baseline to compare the model with: windows of the reference's size, ranked by colour similarity.

Windows of the reference box's size (at a few scales) slide over the query; each is scored by the histogram
intersection of its quantised RGB histogram with the reference crop's; greedy NMS keeps the best. Masks are the
filled boxes. It knows nothing about objects, so it measures how far colour and size alone get.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.evaluation.matching import nms
from model.evaluation.predictions import Prediction, ReferenceImages

__all__ = ["ColourHistogramBaseline"]

MAX_WINDOWS_PER_SCALE = 3000
"""Caps the sliding-window grid (the stride grows for tiny references) so one query stays well under a second."""
_CHANNEL_LEVELS = 256


@dataclass(frozen=True)
class ColourHistogramBaseline:
    """A `PredictFn`: `baseline(query_image, reference_image(s), reference_boxes)` -> list of `Prediction`.

    Attributes:
        bins_per_channel: quantisation of each RGB channel (histograms have bins**3 cells).
        stride_fraction: window step as a fraction of the window side.
        scales: window sizes relative to the reference box.
        nms_threshold: IoU above which a lower-scored window is suppressed.
        max_instances: windows returned per query, best first.
    """

    bins_per_channel: int = 8
    stride_fraction: float = 0.25
    scales: tuple[float, ...] = (0.75, 1.0, 1.25)
    nms_threshold: float = 0.3
    max_instances: int = 20

    def __call__(
        self, query_image: np.ndarray, reference_image: ReferenceImages, reference_boxes: np.ndarray
    ) -> list[Prediction]:
        """Args: query `(H, W, 3)` uint8; reference image(s); `(K, 4)` xyxy pixel boxes (histograms averaged)."""
        boxes = np.asarray(reference_boxes, dtype=np.float32).reshape(-1, 4)
        ref_images = (
            [reference_image] * len(boxes) if isinstance(reference_image, np.ndarray) else reference_image
        )
        reference_hist = np.mean(
            [
                self._histogram(self._quantise(img), *_int_box(b, img.shape))
                for img, b in zip(ref_images, boxes, strict=True)
            ],
            axis=0,
        )
        ref_w = float(np.mean(boxes[:, 2] - boxes[:, 0]))
        ref_h = float(np.mean(boxes[:, 3] - boxes[:, 1]))
        height, width = query_image.shape[:2]
        codes = self._quantise(query_image)
        windows, scores = [], []
        for scale in self.scales:
            win_w = int(np.clip(round(ref_w * scale), 1, width))
            win_h = int(np.clip(round(ref_h * scale), 1, height))
            for x1, y1 in self._grid(width, height, win_w, win_h):
                windows.append((x1, y1, x1 + win_w, y1 + win_h))
                scores.append(
                    float(
                        np.minimum(
                            self._histogram(codes, x1, y1, x1 + win_w, y1 + win_h), reference_hist
                        ).sum()
                    )
                )
        windows_array = np.array(windows, dtype=np.float32)
        keep = nms(windows_array, np.array(scores), self.nms_threshold)[: self.max_instances]
        predictions = []
        for index in keep:
            x1, y1, x2, y2 = (int(v) for v in windows_array[index])
            mask = np.zeros((height, width), dtype=bool)
            mask[y1:y2, x1:x2] = True
            predictions.append(Prediction(windows_array[index].copy(), scores[index], mask))
        return predictions

    def _quantise(self, image: np.ndarray) -> np.ndarray:
        levels = (image.astype(np.int32) * self.bins_per_channel) // _CHANNEL_LEVELS
        b = self.bins_per_channel
        return levels[..., 0] * b * b + levels[..., 1] * b + levels[..., 2]

    def _histogram(self, codes: np.ndarray, x1: int, y1: int, x2: int, y2: int) -> np.ndarray:
        counts = np.bincount(codes[y1:y2, x1:x2].ravel(), minlength=self.bins_per_channel**3).astype(
            np.float64
        )
        return counts / max(counts.sum(), 1.0)

    def _grid(self, width: int, height: int, win_w: int, win_h: int) -> list[tuple[int, int]]:
        step_x = max(1, round(win_w * self.stride_fraction))
        step_y = max(1, round(win_h * self.stride_fraction))
        while ((width - win_w) // step_x + 1) * ((height - win_h) // step_y + 1) > MAX_WINDOWS_PER_SCALE:
            step_x, step_y = step_x * 2, step_y * 2
        xs = list(range(0, width - win_w + 1, step_x))
        ys = list(range(0, height - win_h + 1, step_y))
        return [(x, y) for y in ys for x in xs]


def _int_box(box: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Pixel-aligned crop bounds inside the image, at least one pixel wide and high."""
    height, width = shape[:2]
    x1 = int(np.clip(np.floor(box[0]), 0, width - 1))
    y1 = int(np.clip(np.floor(box[1]), 0, height - 1))
    x2 = int(np.clip(np.ceil(box[2]), x1 + 1, width))
    y2 = int(np.clip(np.ceil(box[3]), y1 + 1, height))
    return x1, y1, x2, y2
