"""The frozen-feature baseline of the effort measure: ImageNet features and a cosine map, no training.

As `../shared/docs/model-quality.md` ("The frozen-feature probe") describes it:
1. the image is resized so the reference's short side is about `REFERENCE_SIDE` px (the long side capped at
   `MAX_IMAGE_SIDE`);
2. ImageNet MobileNetV2 (alpha 0.5: the shipped backbone's weights, `keras.applications`) gives features at stride 8
   and 16 (the layers the backbone taps there, `FEATURE_LAYERS`); the stride-16 map is upsampled to stride 8; each
   is L2-normalised per position; they are concatenated;
3. the reference vector is the mean feature over the central half of the reference box;
4. the similarity map is the cosine of every position with it, averaged over a window of the reference's central
   size (half its width and height);
5. suggestions are the local maxima of that map (window: the same half size) whose similarity is at least
   `threshold` x the similarity at the reference's own centre (their score is that ratio), each a box of the
   reference's size centred there, greedy NMS at IoU `NMS_IOU`.
It gives no masks. TensorFlow is imported when the probe is built, never at import.
"""

from __future__ import annotations

import warnings

import cv2
import numpy as np

from model.evaluation.effort import Suggestions
from model.evaluation.effort_runner import QueryImage
from model.evaluation.matching import nms
from model.verifier import unit_feature_map

__all__ = ["DEFAULT_PROBE_THRESHOLD", "FeatureProbe"]

REFERENCE_SIDE = 64
"""The reference's short side after resizing the image, in pixels."""
MAX_IMAGE_SIDE = 2048
"""Cap of the resized image's long side (tiny references in big frames would need gigapixel feature maps)."""
FEATURE_STRIDE = 8
FEATURE_LAYERS = ("block_6_expand_relu", "block_13_expand_relu")
"""MobileNetV2 layers at stride 8 and 16 (the backbone's C3 and C4 taps, `model.layers.backbones`)."""
BACKBONE_ALPHA = 0.5
NMS_IOU = 0.3
DEFAULT_PROBE_THRESHOLD = 0.93
_EPSILON = 1e-6


def _normalised(features: np.ndarray) -> np.ndarray:
    """Unit vectors along the last axis."""
    return features / np.maximum(np.linalg.norm(features, axis=-1, keepdims=True), _EPSILON)


def _odd(cells: float) -> int:
    """A window side in cells: odd (centred) and at least 1."""
    side = max(1, int(round(cells)))
    return side if side % 2 else side + 1


class FeatureProbe:
    """`probe(image, reference_box)` -> `Suggestions` (reference-sized boxes, relative similarity, no masks).

    Args:
        threshold: keep local maxima whose similarity is at least this x the reference centre's (a sweep passes
            its lowest value and filters the scores).
    """

    version = "feature-probe-mobilenetv2"

    def __init__(self, threshold: float = DEFAULT_PROBE_THRESHOLD):
        import keras  # TensorFlow: only when a probe is built

        self.threshold = float(threshold)
        with warnings.catch_warnings():  # "weights for 224x224 loaded": right, the convolutions take any size
            warnings.filterwarnings("ignore", message=".*input_shape.*", category=UserWarning)
            base = keras.applications.MobileNetV2(input_shape=(None, None, 3), alpha=BACKBONE_ALPHA,
                                                  include_top=False, weights="imagenet")
        self._preprocess = keras.applications.mobilenet_v2.preprocess_input
        self._network = keras.Model(base.input, [base.get_layer(name).output for name in FEATURE_LAYERS])

    def features(self, pixels: np.ndarray) -> np.ndarray:
        """`(H, W, 3)` uint8 RGB -> `(ceil(H/8), ceil(W/8), C)` float32 unit vectors (both layers concatenated)."""
        batch = self._preprocess(pixels[None].astype(np.float32))
        fine, coarse = (np.asarray(t[0], np.float32) for t in self._network(batch, training=False))
        return unit_feature_map(fine, coarse)

    def __call__(self, image: QueryImage, reference_box: np.ndarray, label: str | None = None) -> Suggestions:
        height, width = image.pixels.shape[:2]
        x1, y1, x2, y2 = np.asarray(reference_box, np.float64)
        ref_w, ref_h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
        scale = min(REFERENCE_SIDE / min(ref_w, ref_h), MAX_IMAGE_SIDE / max(height, width))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        resized = cv2.resize(image.pixels, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        features = self.features(resized)
        rows, cols = features.shape[:2]
        cell = scale / FEATURE_STRIDE  # image pixels -> feature cells
        centre = np.array([(x1 + x2) / 2 * cell, (y1 + y2) / 2 * cell])  # x, y in cells
        half = np.array([ref_w * cell / 4, ref_h * cell / 4])  # the central half spans centre +- a quarter side
        lo = np.clip(np.floor(centre - half).astype(int), 0, [cols - 1, rows - 1])
        hi = np.clip(np.ceil(centre + half).astype(int), lo + 1, [cols, rows])
        reference = _normalised(features[lo[1]:hi[1], lo[0]:hi[0]].reshape(-1, features.shape[-1]).mean(axis=0))
        window = (_odd(ref_w * cell / 2), _odd(ref_h * cell / 2))  # (width, height) in cells
        similarity = cv2.blur(features @ reference, window)
        cx, cy = (int(np.clip(v, 0, n - 1)) for v, n in zip(centre, (cols, rows), strict=True))
        own = float(similarity[cy, cx])
        if own <= _EPSILON:
            return Suggestions.empty()  # the reference does not even resemble itself: nothing to go by
        relative = (similarity / own).astype(np.float32)
        dilated = cv2.dilate(relative, np.ones((window[1], window[0]), np.uint8))
        ys, xs = np.nonzero((relative >= dilated) & (relative >= self.threshold))
        if not len(ys):
            return Suggestions.empty()
        centres_x = (xs + 0.5) / cell
        centres_y = (ys + 0.5) / cell
        boxes = np.stack([centres_x - ref_w / 2, centres_y - ref_h / 2, centres_x + ref_w / 2,
                          centres_y + ref_h / 2], axis=1)
        boxes = np.clip(boxes, 0, [width, height, width, height]).astype(np.float32)
        scores = relative[ys, xs].astype(np.float64)
        keep = nms(boxes, scores, NMS_IOU)
        return Suggestions(boxes[keep], scores[keep])
