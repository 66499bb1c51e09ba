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

MAX_CELLS = 4096
"""Caps the grid of histogram cells (cells grow for tiny references) so memory stays near 2M floats a scale."""
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
                self._crop_histogram(img, _int_box(b, img.shape))
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
            scale_windows, scale_scores = self._score_windows(
                codes, ref_w * scale, ref_h * scale, reference_hist
            )
            windows.append(scale_windows)
            scores.append(scale_scores)
        windows_array, scores_array = np.concatenate(windows), np.concatenate(scores)
        keep = nms(windows_array, scores_array, self.nms_threshold, max_keep=self.max_instances)
        predictions = []
        for index in keep:
            x1, y1, x2, y2 = (int(v) for v in windows_array[index])
            mask = np.zeros((height, width), dtype=bool)
            mask[y1:y2, x1:x2] = True
            predictions.append(Prediction(windows_array[index].copy(), float(scores_array[index]), mask))
        return predictions

    def _score_windows(
        self, codes: np.ndarray, win_w: float, win_h: float, reference_hist: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """All windows of about `win_w x win_h` on a grid of cells (cell = the stride), scored at once.

        Cell histograms are summed with a 2-D prefix sum, so a window costs O(bins) whatever its size. Windows are a
        whole number of cells, so their size is rounded to the grid (coarser for tiny references, see MAX_CELLS).

        Returns:
            `(W, 4)` float32 xyxy windows and `(W,)` histogram-intersection scores in [0, 1].
        """
        height, width = codes.shape
        win_w, win_h = float(np.clip(win_w, 1, width)), float(np.clip(win_h, 1, height))
        cell_w = max(1, round(win_w * self.stride_fraction))
        cell_h = max(1, round(win_h * self.stride_fraction))
        while (height // cell_h) * (width // cell_w) > MAX_CELLS:
            cell_w, cell_h = cell_w * 2, cell_h * 2
        rows, cols = max(1, height // cell_h), max(1, width // cell_w)
        cell_h, cell_w = min(cell_h, height), min(cell_w, width)
        bins = self.bins_per_channel**3
        grid = codes[: rows * cell_h, : cols * cell_w]
        cell_index = (np.arange(rows * cell_h)[:, None] // cell_h) * cols + np.arange(cols * cell_w)[
            None, :
        ] // cell_w
        cells = np.bincount((cell_index * bins + grid).ravel(), minlength=rows * cols * bins)
        prefix = np.zeros((rows + 1, cols + 1, bins), dtype=np.float64)
        prefix[1:, 1:] = cells.reshape(rows, cols, bins).cumsum(axis=0).cumsum(axis=1)
        span_r = int(np.clip(round(win_h / cell_h), 1, rows))
        span_c = int(np.clip(round(win_w / cell_w), 1, cols))
        sums = (
            prefix[span_r:, span_c:]
            - prefix[:-span_r, span_c:]
            - prefix[span_r:, :-span_c]
            + prefix[:-span_r, :-span_c]
        )
        sums = sums.reshape(-1, bins)
        hists = sums / np.maximum(sums.sum(axis=1, keepdims=True), 1.0)
        scores = np.minimum(hists, reference_hist[None]).sum(axis=1)
        top, left = np.meshgrid(np.arange(rows - span_r + 1), np.arange(cols - span_c + 1), indexing="ij")
        x1, y1 = left.ravel() * cell_w, top.ravel() * cell_h
        windows = np.stack([x1, y1, x1 + span_c * cell_w, y1 + span_r * cell_h], axis=1).astype(np.float32)
        return windows, scores

    def _quantise(self, image: np.ndarray) -> np.ndarray:
        levels = (image.astype(np.int64) * self.bins_per_channel) // _CHANNEL_LEVELS
        b = self.bins_per_channel
        return levels[..., 0] * b * b + levels[..., 1] * b + levels[..., 2]

    def _crop_histogram(self, image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        x1, y1, x2, y2 = box
        counts = np.bincount(self._quantise(image[y1:y2, x1:x2]).ravel(), minlength=self.bins_per_channel**3)
        return counts / max(counts.sum(), 1)


def _int_box(box: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Pixel-aligned crop bounds inside the image, at least one pixel wide and high."""
    height, width = shape[:2]
    x1 = int(np.clip(np.floor(box[0]), 0, width - 1))
    y1 = int(np.clip(np.floor(box[1]), 0, height - 1))
    x2 = int(np.clip(np.ceil(box[2]), x1 + 1, width))
    y2 = int(np.clip(np.ceil(box[3]), y1 + 1, height))
    return x1, y1, x2, y2
