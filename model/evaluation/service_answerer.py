"""The model as the service answers one drawn box, for the effort measure.

`ServiceAnswerer` follows `worker.jobs.interactive_job` step by step, with the functions it uses
(`model.answering`): the image file's bytes are decoded as the worker decodes a fetched image
(`model.images.decode_image` with `min_long_side = prediction_long_side(DECODE_FACTOR, query size)`, Label Studio's
size being the annotated one), the box is moved to the decoded size (`scale_boxes`), the image is encoded once and
kept (the worker's feature cache: the first box on an image is answered cold, the next ones warm), the reference
is encoded, and `find_instances` runs with the service's thresholds. The answer is then moved back to the annotated
size, as the backend does for Label Studio. The predictor is passed in (duck-typed): no TensorFlow import here.

Given `claims` (the project's accepted exemplars per label, as the backend sends them with an interactive request),
each answer lets the labels other than the drawn one claim their objects (`model.answering.unclaimed`, when the
model's `detection_label_claims` is on) and the drawn label's own exemplars join it (`model.answering.with_own_bank`,
when the model's `detection_drawn_bank` is on).
"""

from __future__ import annotations

import cv2
import numpy as np

from model.answering import AnswerThresholds, find_for_drawn_boxes, prediction_long_side, scale_boxes
from model.evaluation.bank_effort import encode_bank
from model.evaluation.effort import Suggestions
from model.evaluation.effort_runner import QueryImage
from model.images import DEFAULT_MAX_PIXELS, decode_image

__all__ = ["ServiceAnswerer", "resized_mask"]


class ServiceAnswerer:
    """`answerer(image, reference_box)` -> the service's `Suggestions` (boxes, scores, masks) in the image's frame.

    Args:
        predictor: a `model.predictor.Predictor`, loaded as the worker loads it (`worker.runtime.load_predictor`).
        thresholds: the service's `SCORE_THRESHOLD`, `NMS_THRESHOLD` and `MAX_INSTANCES` (a threshold sweep passes
            its lowest score threshold here).
        decode_factor: the service's `DECODE_FACTOR`.
        max_pixels: the service's `MAX_IMAGE_PIXELS`.
        claims: `{label: [Exemplar, ...]}` (`model.evaluation.bank_effort.bank_from_dataset`), the project's
            accepted exemplars; each answer is given the labels other than the drawn one and the drawn one's own.
            None: none.
    """

    def __init__(self, predictor, thresholds: AnswerThresholds, *, decode_factor: int,
                 max_pixels: int = DEFAULT_MAX_PIXELS, claims: dict | None = None):
        self.predictor = predictor
        self.thresholds = thresholds
        self.decode_factor = decode_factor
        self.max_pixels = max_pixels
        self._encoded: tuple[str, np.ndarray, object] | None = None  # (key, decoded image, EncodedImage)
        self.claims = encode_bank(predictor, claims or {})

    @classmethod
    def from_settings(cls, predictor, settings, score_threshold: float | None = None,
                      claims: dict | None = None) -> ServiceAnswerer:
        """From a `common.settings.Settings` (duck-typed); `score_threshold` replaces its SCORE_THRESHOLD."""
        score = settings.score_threshold if score_threshold is None else score_threshold
        if score is None:  # SCORE_THRESHOLD unset: the model's calibrated threshold, as the worker answers
            score = predictor.config.drawn_box_threshold
        thresholds = AnswerThresholds(score, settings.nms_threshold, settings.max_instances)
        return cls(predictor, thresholds, decode_factor=settings.decode_factor, max_pixels=settings.max_image_pixels,
                   claims=claims)

    @property
    def version(self) -> str:
        return str(self.predictor.version)

    def _decoded_and_encoded(self, image: QueryImage):
        if self._encoded is None or self._encoded[0] != image.key:
            if image.path is not None:
                reduce_to = prediction_long_side(self.decode_factor, self.predictor.config.image_size)
                decoded = decode_image(image.path.read_bytes(), max_pixels=self.max_pixels, min_long_side=reduce_to)
            else:
                decoded = image.pixels
            self._encoded = (image.key, decoded, self.predictor.encode_image(decoded))
        return self._encoded[1], self._encoded[2]

    def __call__(self, image: QueryImage, reference_box: np.ndarray, label: str | None = None) -> Suggestions:
        """Args: image; reference_box `(4,)` xyxy pixels of `image.pixels`; label: the drawn box's (the other
        labels of `claims` claim their objects). Returns suggestions in that frame."""
        decoded, query = self._decoded_and_encoded(image)
        expected = image.pixels.shape[:2]
        actual = decoded.shape[:2]
        boxes = scale_boxes(reference_box, expected, actual)
        reference = self.predictor.encode_references(decoded, boxes)
        others = {other: references for other, references in self.claims.items() if other != label}
        instances = find_for_drawn_boxes(self.predictor, decoded, query, reference, self.thresholds, boxes,
                                         others=others, own=self.claims.get(label))
        if not instances:
            return Suggestions.empty()
        found_boxes = scale_boxes(np.stack([i.box for i in instances]), actual, expected)
        masks = [resized_mask(np.asarray(i.mask, bool), expected) for i in instances]
        return Suggestions(found_boxes, np.array([i.score for i in instances]), masks)


def resized_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`(h, w)` bool -> `(H, W)` bool (nearest neighbour; the same array when the sizes agree)."""
    if mask.shape == tuple(size):
        return mask
    return cv2.resize(mask.astype(np.uint8), (size[1], size[0]), interpolation=cv2.INTER_NEAREST).astype(bool)
