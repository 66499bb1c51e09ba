"""The model as batch pre-annotation answers a task, for the measure's bank mode (no box drawn).

`BankAnswerer` follows `worker.jobs.batch_job` step by step, with the functions it uses (`model.answering`): the
image file's bytes are decoded at the reduced scale a batch job decodes at (`prediction_long_side(DECODE_FACTOR,
query size)`), the image is encoded once, each label's exemplars are encoded from their own images at full size
(as `worker.runtime.Runtime.reference` does) and pooled, and `find_for_labels` answers every label with the
service's thresholds. The answer is moved back to the annotated size, as the backend does for Label Studio. The
predictor is passed in (duck-typed): no TensorFlow import here.
"""

from __future__ import annotations

import numpy as np

from model.answering import AnswerThresholds, find_for_labels, prediction_long_side, scale_boxes
from model.evaluation.bank_effort import Exemplar, encode_bank
from model.evaluation.effort import Suggestions
from model.evaluation.effort_runner import QueryImage
from model.evaluation.service_answerer import resized_mask
from model.images import DEFAULT_MAX_PIXELS, decode_image

__all__ = ["BankAnswerer"]


class BankAnswerer:
    """`answerer(image)` -> every bank label's `Suggestions` (boxes, scores, masks, labels) in the image's frame.

    Args:
        predictor: a `model.predictor.Predictor`, loaded as the worker loads it.
        bank: `{label: [Exemplar, ...]}` (`model.evaluation.bank_effort.bank_from_dataset`).
        thresholds: the service's `SCORE_THRESHOLD` (None: the model's own), `NMS_THRESHOLD`, `MAX_INSTANCES`.
        decode_factor: the service's `DECODE_FACTOR`; max_pixels: its `MAX_IMAGE_PIXELS`.
    """

    def __init__(self, predictor, bank: dict[str, list[Exemplar]], thresholds: AnswerThresholds, *,
                 decode_factor: int, max_pixels: int = DEFAULT_MAX_PIXELS):
        if not bank:
            raise ValueError("the exemplar bank is empty: the accepted data holds no instance of the judged labels")
        self.predictor = predictor
        self.thresholds = thresholds
        self.decode_factor = decode_factor
        self.max_pixels = max_pixels
        self.references = encode_bank(predictor, bank)  # once: the worker caches exemplar references per process too

    @classmethod
    def from_settings(cls, predictor, bank, settings, score_threshold: float | None = None) -> BankAnswerer:
        """From a `common.settings.Settings` (duck-typed); `score_threshold` replaces its SCORE_THRESHOLD."""
        score = settings.score_threshold if score_threshold is None else score_threshold
        if score is None:
            score = predictor.config.detection_min_confidence
        thresholds = AnswerThresholds(score, settings.nms_threshold, settings.max_instances)
        return cls(predictor, bank, thresholds, decode_factor=settings.decode_factor,
                   max_pixels=settings.max_image_pixels)

    @property
    def version(self) -> str:
        return f"{self.predictor.version} (bank of {sum(len(v) for v in self.references.values())} exemplars)"

    def __call__(self, image: QueryImage) -> Suggestions:
        """Args: image. Returns the suggestions of every label, in `image.pixels`' frame, `labels` set."""
        if image.path is not None:
            reduce_to = prediction_long_side(self.decode_factor, self.predictor.config.image_size)
            decoded = decode_image(image.path.read_bytes(), max_pixels=self.max_pixels, min_long_side=reduce_to)
        else:
            decoded = image.pixels
        query = self.predictor.encode_image(decoded)
        found = find_for_labels(self.predictor, query, self.references, self.thresholds, image=decoded)
        instances = [(label, item) for label, items in found.items() for item in items]
        if not instances:
            return Suggestions.empty()
        expected, actual = image.pixels.shape[:2], decoded.shape[:2]
        boxes = scale_boxes(np.stack([item.box for _, item in instances]), actual, expected)
        masks = [resized_mask(np.asarray(item.mask, bool), expected) for _, item in instances]
        return Suggestions(boxes, np.array([item.score for _, item in instances]), masks,
                           tuple(label for label, _ in instances))
