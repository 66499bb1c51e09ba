"""A second look at a drawn box's answer: each suggestion re-scored from what the network's score leaves out.

The network's score says how well a proposal matches the reference after heads trained on a few dozen classes and
the synthetic generator. Below its calibrated threshold it finds most copies of a kind but cannot tell them from
look-alike distractors. The verifier is a logistic regression over four or six numbers per suggestion:

- `score_logit`: the network's score (after the size prior), as a logit;
- `cosine`: the cosine between the suggestion's and the drawn box's frozen-feature descriptors (`box_descriptors`:
  the backbone's stride-8 and stride-16 maps, MobileNetV2's `block_6_expand_relu` and `block_13_expand_relu`, each
  L2-normalised per position, the coarse one upsampled, concatenated; a box's descriptor is the mean of bilinear
  samples on a 3 x 3 grid over its central half);
- `size_change`: |ln(size / drawn size)|, size = sqrt(box area);
- `aspect_change`: |ln(aspect / drawn aspect)|, aspect = width / height;
- with six: `fill_change`, |ln(fill / reference fill)|, fill = mask pixels / box area clipped to `FILL_CLIP`, and
  `colour_distance`, the distance between the mean CIE Lab colours inside the suggestion's mask and the reference's
  / 100 (`mask_features`); the reference is the answer's own suggestion on the drawn object (`reference_suggestion`:
  box IoU >= 0.5 with a drawn box, the closest, ties to the better score); both 0 when there is none.

Its probability of the suggestion being right replaces the score, and the drawn-box answer is cut at
`detection_verifier_threshold` (the request's threshold when it sends one). The network answers at
`CANDIDATE_FLOOR` first: the verifier was fitted on suggestions scoring at least that. Several drawn boxes: the
drawn descriptor is their descriptors' mean, the drawn size and aspect their geometric means.

A model holds its verifier in `detection_verifier` (`Verifier.to_config`: 13 numbers for four features, 19 for six). Fitted by `fit_verifier`
(Newton's method, standardised features); see docs/model-quality.md for how the shipped one was fitted and chosen.
Pure numpy; nothing happens at import.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["BOX_FEATURES", "CANDIDATE_FLOOR", "FEATURES", "FEATURE_STRIDE", "WITHOUT_VERIFIER", "Verifier",
           "box_descriptors", "canvas_boxes", "fit_verifier", "logistic_fit", "mask_features", "reference_suggestion",
           "suggestion_features", "unit_feature_map"]

FEATURES = ("score_logit", "cosine", "size_change", "aspect_change", "fill_change", "colour_distance")
BOX_FEATURES = 4
"""The first four features need only boxes and scores; the last two need the suggestions' masks and the image."""
CANDIDATE_FLOOR = 0.3
"""The network score a verified answer is first asked at (the lowest score of the fit's suggestions)."""
FEATURE_STRIDE = 8
"""Pixels of the network's input per cell of the descriptor map (the finer tap's stride)."""
GRID_OFFSETS = (-0.25, 0.0, 0.25)
"""Where a box's descriptor is sampled: these fractions of its width and height from its centre (its central half)."""
CONFIG_LENGTHS = {1 + 3 * BOX_FEATURES: BOX_FEATURES, 1 + 3 * len(FEATURES): len(FEATURES)}
"""A verifier in a model config: intercept, then one weight, mean and standard deviation per feature it reads (the
first four of `FEATURES`, or all six)."""
FILL_CLIP = (0.05, 1.0)
REFERENCE_IOU = 0.5
LAB_SCALE = 100.0
SCORE_CLIP = 1e-4
FIT_PENALTY = 1e-3
"""L2 penalty on the standardised weights (not the intercept) of `fit_verifier`."""
CV_MAX_CHANNELS = 512
WITHOUT_VERIFIER = {"detection_verifier": ()}
"""Config changes that load a checkpoint without its verifier: for anything that trains its weights further (a
verifier is fitted on one network's scores) and for the fine-tuning recipe's parent (`model.training.finetune`, which
judges on network scores; its saved child carries the parent's verifier again, `finetune.CHILD_VERIFIER`)."""
_EPSILON = 1e-6


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Unit vectors along the last axis."""
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), _EPSILON)


def unit_feature_map(fine: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """`(h, w, C1)` stride-8 and `(h', w', C2)` stride-16 maps -> `(h, w, C1 + C2)` float32 unit vectors: each map
    L2-normalised per position, the coarse one resized to the fine one's grid (bilinear), concatenated and
    normalised again."""
    fine = np.asarray(fine, np.float32)
    coarse = np.asarray(coarse, np.float32).reshape(*np.shape(coarse)[:2], -1)
    size = (fine.shape[1], fine.shape[0])
    # OpenCV resizes at most 512 channels at once (ResNet's and EfficientNet-Lite's C4 have more).
    pieces = [cv2.resize(coarse[..., i:i + CV_MAX_CHANNELS], size, interpolation=cv2.INTER_LINEAR)
              for i in range(0, coarse.shape[-1], CV_MAX_CHANNELS)]
    coarse = np.concatenate([p.reshape(size[1], size[0], -1) for p in pieces], axis=-1)
    return _unit(np.concatenate([_unit(fine), _unit(coarse)], axis=-1)).astype(np.float32)


def canvas_boxes(boxes: np.ndarray, scale: float, offset: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """`(P, 4)` xyxy pixels of the original image -> the same boxes in pixels of the network's input, which holds the
    image resized by `scale` with its top-left corner at `offset` = (x, y)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    shift = np.array([offset[0], offset[1], offset[0], offset[1]], np.float64)
    return boxes * float(scale) + shift


def box_descriptors(features: np.ndarray, boxes: np.ndarray, stride: int = FEATURE_STRIDE) -> np.ndarray:
    """`(P, C)` unit descriptors of `(P, 4)` xyxy boxes in pixels of the map's input (`canvas_boxes`), read off the
    `(h, w, C)` map (`unit_feature_map`) of stride `stride`: the mean of bilinear samples on the 3 x 3 grid
    `GRID_OFFSETS` over each box's central half, normalised. Samples outside the map read its edge."""
    features = np.asarray(features, np.float32)
    rows, cols, channels = features.shape
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if not len(boxes):
        return np.zeros((0, channels), np.float32)
    offsets = np.asarray(GRID_OFFSETS, np.float64)
    centre_x, centre_y = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    width, height = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    xs = (centre_x[:, None] + offsets[None] * width[:, None])[:, None, :].repeat(3, axis=1)   # (P, 3, 3)
    ys = (centre_y[:, None] + offsets[None] * height[:, None])[:, :, None].repeat(3, axis=2)  # (P, 3, 3)
    u = np.clip(xs / stride - 0.5, 0, cols - 1).reshape(-1)
    v = np.clip(ys / stride - 0.5, 0, rows - 1).reshape(-1)
    u0, v0 = np.floor(u).astype(int), np.floor(v).astype(int)
    u1, v1 = np.minimum(u0 + 1, cols - 1), np.minimum(v0 + 1, rows - 1)
    fu, fv = (u - u0)[:, None], (v - v0)[:, None]
    samples = ((1 - fu) * (1 - fv) * features[v0, u0] + fu * (1 - fv) * features[v0, u1]
               + (1 - fu) * fv * features[v1, u0] + fu * fv * features[v1, u1])
    return _unit(samples.reshape(len(boxes), 9, channels).mean(axis=1)).astype(np.float32)


def _sizes(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sqrt(area) and width / height of `(P, 4)` xyxy boxes (sides at least 1 px)."""
    width = np.maximum(boxes[:, 2] - boxes[:, 0], 1.0)
    height = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)
    return np.sqrt(width * height), width / height


def suggestion_features(scores, boxes, drawn_boxes, cosines) -> np.ndarray:
    """`(P, 4)` raw box features (the first `BOX_FEATURES` of `FEATURES`) of P suggestions.

    Args:
        scores: `(P,)` the network's scores; boxes: `(P, 4)` xyxy pixels; drawn_boxes: `(K, 4)` xyxy pixels of the
            same image; cosines: `(P,)` each suggestion's descriptor cosine with the drawn boxes' descriptor.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    drawn = np.asarray(drawn_boxes, np.float64).reshape(-1, 4)
    scores = np.clip(np.asarray(scores, np.float64).reshape(-1), SCORE_CLIP, 1 - SCORE_CLIP)
    size, aspect = _sizes(boxes)
    drawn_size, drawn_aspect = _sizes(drawn)
    return np.stack([
        np.log(scores / (1 - scores)),
        np.asarray(cosines, np.float64).reshape(-1),
        np.abs(np.log(size) - np.log(drawn_size).mean()),
        np.abs(np.log(aspect) - np.log(drawn_aspect).mean()),
    ], axis=1)


def reference_suggestion(boxes, scores, drawn_boxes) -> int | None:
    """The index of the suggestion that is a drawn object: the highest box IoU with a drawn box, at least
    `REFERENCE_IOU`, ties to the better score; None when there is none. Boxes `(P, 4)` / `(K, 4)` xyxy pixels."""
    from model.evaluation.matching import box_iou, closest_box

    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if not len(boxes):
        return None
    iou = box_iou(boxes, np.asarray(drawn_boxes, np.float64).reshape(-1, 4)).max(axis=1)
    return closest_box(iou, scores, REFERENCE_IOU)


def _fill_and_colour(lab_of, box, mask, shape) -> tuple[float, np.ndarray]:
    """One suggestion's mask fill (clipped) and mean Lab colour inside its mask (its box's when the mask is empty);
    `lab_of(y1, y2, x1, x2)` gives the Lab pixels of an image window."""
    height, width = shape
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    x1, y1 = min(max(x1, 0), width - 1), min(max(y1, 0), height - 1)
    x2, y2 = min(max(x2, x1 + 1), width), min(max(y2, y1 + 1), height)
    mask = np.asarray(mask, bool)
    count = int(mask.sum())
    fill = float(np.clip(count / max((x2 - x1) * (y2 - y1), 1), *FILL_CLIP))
    if count:
        rows, cols = np.nonzero(mask)
        top, left = rows.min(), cols.min()
        window = lab_of(top, rows.max() + 1, left, cols.max() + 1)
        return fill, window[rows - top, cols - left].mean(axis=0)
    return fill, lab_of(y1, y2, x1, x2).reshape(-1, 3).mean(axis=0)


def mask_features(image: np.ndarray, boxes, masks, reference: int | None) -> np.ndarray:
    """`(P, 2)`: `fill_change` and `colour_distance` of each suggestion against suggestion `reference` (zeros when
    None).

    Args:
        image: `(H, W, 3)` uint8 RGB the masks lie on; boxes: `(P, 4)` xyxy pixels; masks: P `(H, W)` bool.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if reference is None or not len(boxes):
        return np.zeros((len(boxes), 2))
    import cv2 as _cv2

    def lab_of(y1, y2, x1, x2):
        return _cv2.cvtColor(np.ascontiguousarray(image[y1:y2, x1:x2]).astype(np.float32) / 255.0,
                             _cv2.COLOR_RGB2LAB)

    stats = [_fill_and_colour(lab_of, box, mask, image.shape[:2]) for box, mask in zip(boxes, masks, strict=True)]
    fills = np.array([f for f, _ in stats])
    colours = np.stack([c for _, c in stats])
    return np.stack([np.abs(np.log(fills / fills[reference])),
                     np.linalg.norm(colours - colours[reference], axis=1) / LAB_SCALE], axis=1)


@dataclass(frozen=True)
class Verifier:
    """A fitted verifier: `probability(features)` for `(P, 4)` raw features (`suggestion_features`).

    Attributes:
        intercept: the logit at the features' means; weights, mean, std: `(4,)`, one per feature (`FEATURES`),
            the weights acting on (feature - mean) / std.
    """

    intercept: float
    weights: tuple[float, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __post_init__(self) -> None:
        counts = sorted(CONFIG_LENGTHS.values())
        for name in ("weights", "mean", "std"):
            values = getattr(self, name)
            if len(values) != len(self.weights) or len(values) not in counts or not np.all(np.isfinite(values)):
                raise ValueError(f"a verifier's {name} needs {' or '.join(map(str, counts))} finite numbers, one "
                                 f"per feature it reads (the first of {FEATURES}), got {values!r}")
        if min(self.std) <= 0 or not np.isfinite(self.intercept):
            raise ValueError(f"a verifier's std must be positive and its intercept finite, got {self.std!r}, "
                             f"{self.intercept!r}")

    @classmethod
    def from_config(cls, values) -> Verifier | None:
        """The verifier a model config's `detection_verifier` holds; None for an empty one (off)."""
        values = tuple(float(v) for v in values)
        if not values:
            return None
        if len(values) not in CONFIG_LENGTHS:
            raise ValueError(f"detection_verifier needs {' or '.join(map(str, sorted(CONFIG_LENGTHS)))} numbers "
                             f"(intercept, then weights, means and standard deviations of the first 4 or all of "
                             f"{FEATURES}) or none (off), got {len(values)}")
        n = CONFIG_LENGTHS[len(values)]
        return cls(values[0], values[1:1 + n], values[1 + n:1 + 2 * n], values[1 + 2 * n:])

    @property
    def reads_masks(self) -> bool:
        """Whether it reads the mask features (six features), which need the suggestions' masks and the image."""
        return len(self.weights) > BOX_FEATURES

    def to_config(self) -> tuple[float, ...]:
        """The numbers of `detection_verifier` (13 or 19)."""
        return (float(self.intercept), *map(float, self.weights), *map(float, self.mean), *map(float, self.std))

    def probability(self, features: np.ndarray) -> np.ndarray:
        """`(P,)` probabilities of `(P, F)` raw features (F = the features it reads, 4 or 6)."""
        z = (np.asarray(features, np.float64).reshape(-1, len(self.weights)) - self.mean) / self.std
        return 1.0 / (1.0 + np.exp(-(self.intercept + z @ np.asarray(self.weights))))


def logistic_fit(features: np.ndarray, right: np.ndarray, penalty: float = FIT_PENALTY,
                 max_steps: int = 50) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Logistic regression of `right` on `(N, F)` features, standardised by their mean and standard deviation, by
    Newton's method with an L2 `penalty` on the weights (not the intercept).

    Returns:
        `(intercept, weights (F,), mean (F,), std (F,))`, the weights acting on (feature - mean) / std.

    Raises:
        ValueError: fewer than 2 rows, or every row of one kind (nothing to tell apart).
    """
    x = np.asarray(features, np.float64)
    x = x.reshape(len(x), -1)
    y = np.asarray(right, np.float64).reshape(-1)
    if len(x) != len(y) or len(y) < 2 or y.min() == y.max():
        raise ValueError(f"fitting a verifier needs right and wrong suggestions; got {int(y.sum())} right of {len(y)}")
    mean, std = x.mean(axis=0), x.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    design = np.hstack([np.ones((len(x), 1)), (x - mean) / std])
    w = np.zeros(design.shape[1])
    ridge = penalty * np.eye(len(w))
    ridge[0, 0] = 0.0
    for _ in range(max_steps):
        p = 1.0 / (1.0 + np.exp(-design @ w))
        gradient = design.T @ (p - y) / len(y) + ridge @ w
        hessian = (design * (p * (1 - p))[:, None]).T @ design / len(y) + ridge
        step = np.linalg.solve(hessian + _EPSILON * np.eye(len(w)), gradient)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return float(w[0]), w[1:], mean, std


def fit_verifier(features: np.ndarray, right: np.ndarray, penalty: float = FIT_PENALTY,
                 max_steps: int = 50) -> Verifier:
    """The `Verifier` of `logistic_fit` on `(N, 4)` or `(N, 6)` raw features (`suggestion_features`, with
    `mask_features` beside them) and `(N,)` bools.

    Raises:
        ValueError: as `logistic_fit`.
    """
    x = np.asarray(features, np.float64)
    x = x.reshape(len(x), -1)
    intercept, weights, mean, std = logistic_fit(x, right, penalty, max_steps)
    return Verifier(intercept, tuple(weights), tuple(mean), tuple(std))
