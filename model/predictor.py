"""Numpy in, numpy out: what the worker uses. Encode an image once, then find instances for any reference.

    predictor = Predictor.from_checkpoint("checkpoints/mobile-coco128.weights.h5")
    query = predictor.encode_image(image)                 # uint8 (H, W, 3); cache this per image
    ref = predictor.encode_references(image, [[x1, y1, x2, y2]])
    for inst in predictor.find(query, ref):               # best first
        inst.box, inst.score, inst.mask                   # xyxy float pixels, float, (H, W) bool

Boxes are `(x1, y1, x2, y2)` pixels of the original image (x2, y2 exclusive). Every stage runs as a
`tf.function` with a fixed input shape (the padded square), so no image size ever retraces.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from model.checkpoint import ModelCard, load_checkpoint
from model.folding import fold_batch_norms
from model.images import to_rgb
from model.postprocess import boxes_to_original, paste_mask
from model.preprocess import ResizeInfo, mold, reference_inputs, resize_square
from model.size_prior import apply_size_prior, within_size_cap


@dataclass(frozen=True)
class Instance:
    """One found instance. box: (4,) float32 `(x1, y1, x2, y2)` pixels; score in [0, 1]; mask: (H, W) bool."""

    box: np.ndarray
    score: float
    mask: np.ndarray


@dataclass(frozen=True)
class EncodedImage:
    """What the network computed from one query image alone (`SiameseMaskRCNN.encode_image`: the backbone + FPN
    pyramid, with conditioning "roi" the proposals and their pooled features, with a verifier the backbone's
    stride-8 and stride-16 "taps"; bfloat16 under that precision), and how the image was resized."""

    features: dict
    info: ResizeInfo

    @property
    def pyramid(self) -> tuple:
        """The 5 pyramid levels [1, h, w, F]."""
        return tuple(self.features["pyramid"])

    @property
    def image_shape(self) -> tuple[int, int]:
        return self.info.original_shape

    @property
    def nbytes(self) -> int:
        tensors = tf.nest.flatten(self.features)
        return int(sum(int(np.prod(t.shape)) * t.dtype.size for t in tensors))


@dataclass(frozen=True)
class ReferenceEmbedding:
    """The pooled reference pyramid: vector (L, F) float32, averaged over `count` reference boxes."""

    vector: np.ndarray
    count: int

    @staticmethod
    def mean(embeddings: list[ReferenceEmbedding]) -> ReferenceEmbedding:
        """Combine references from several images (weighted by their box counts): K-shot across images."""
        if not embeddings:
            raise ValueError("need at least one reference embedding")
        total = sum(e.count for e in embeddings)
        vector = sum(e.vector * e.count for e in embeddings) / total
        return ReferenceEmbedding(np.asarray(vector, np.float32), total)


class Predictor:
    """Inference wrapper around a built `SiameseMaskRCNN` (weights already loaded).

    Args:
        model: the network; version: the model version reported to Label Studio.
        card: the checkpoint's model card, when loaded from one.
        fold_batch_norm: compute with a copy of the backbone whose BatchNormalization layers are folded into
            their convolutions (`model.folding`): the same outputs to float rounding, 2-3x faster for MobileNetV2
            on a CPU. The copy is made once, so leave it False for a model that is still being trained; the
            `from_checkpoint` and `from_preset` constructors fold.
    """

    def __init__(self, model, *, version: str = "untrained", card: ModelCard | None = None,
                 fold_batch_norm: bool = False):
        self.model = model
        self.config = model.config
        self.version = version
        self.card = card
        self.batch_norm_folded = fold_batch_norm
        # Folding copies the backbone once: right for a model whose weights no longer change (a loaded
        # checkpoint), wrong for one still in training (its predictor would keep computing with the old backbone).
        network = model.with_backbone(fold_batch_norms(model.backbone)) if fold_batch_norm else model
        self.network = network
        """The network the predictions run on: `model`, or `model` with the folded backbone."""
        cfg = self.config
        image_spec = tf.TensorSpec([1, cfg.image_size, cfg.image_size, 3], tf.float32)
        ref_spec = tf.TensorSpec([1, None, cfg.reference_size, cfg.reference_size, 3], tf.float32)
        self._encode_image = tf.function(network.encode_image, input_signature=[image_spec], reduce_retracing=True)
        self._encode_references = tf.function(network.encode_references, input_signature=[ref_spec])
        self._detect = tf.function(network.detect, reduce_retracing=True)

    # --- construction --------------------------------------------------------------------------------------

    @property
    def precision(self) -> str:
        """"bfloat16" when the network was built under that policy (`model.builder.PRECISIONS`), else "float32"."""
        return "bfloat16" if self.model.dtype_policy.name == "mixed_bfloat16" else "float32"

    @classmethod
    def from_checkpoint(cls, weights_path: str | Path, precision: str = "float32", **config_changes) -> Predictor:
        """`precision`: "float32" or "bfloat16" (faster where the CPU has AMX/AVX512_BF16; see `model.builder`).
        `config_changes`: `ModelConfig` fields to change from the card's (e.g. inference settings)."""
        model, card = load_checkpoint(weights_path, precision=precision, **config_changes)
        return cls(model, version=card.version, card=card, fold_batch_norm=True)

    @classmethod
    def from_preset(cls, name: str, precision: str = "float32", **overrides) -> Predictor:
        """An untrained network of a preset (ImageNet backbone where the preset has one)."""
        from model.builder import build_model
        from model.presets import get_preset

        config = get_preset(name, **overrides)
        return cls(build_model(config, precision=precision), version=f"{config.name}-untrained", fold_batch_norm=True)

    # --- inference -----------------------------------------------------------------------------------------

    def encode_image(self, image: np.ndarray) -> EncodedImage:
        """The cacheable features of a query image (any size; grayscale / RGBA / 16-bit accepted)."""
        cfg = self.config
        rgb = to_rgb(image)
        square, info = resize_square(rgb, cfg.image_size, cfg.image_min_dim, antialias=cfg.resize_antialias)
        features = self._encode_image(tf.constant(mold(square, cfg.mean_pixel)[None]))
        return EncodedImage(features, info)

    def encode_references(self, image: np.ndarray, boxes) -> ReferenceEmbedding:
        """Reference embedding of K boxes `(x1, y1, x2, y2)` pixels in `image` (averaged: K-shot)."""
        crops = reference_inputs(to_rgb(image), boxes, self.config)
        vector = self._encode_references(tf.constant(crops[None]))
        count = len(np.asarray(boxes, np.float64).reshape(-1, 4))  # boxes, not their dihedral views
        return ReferenceEmbedding(np.asarray(tf.cast(vector[0], tf.float32)), count)

    def find(
        self,
        query: EncodedImage,
        reference: ReferenceEmbedding,
        *,
        score_threshold: float | None = None,
        nms_threshold: float | None = None,
        max_instances: int | None = None,
        reference_boxes=None,
    ) -> list[Instance]:
        """All instances in `query` that match `reference`, best first.

        Args:
            score_threshold: minimum match probability (default: the preset's, 0.7 in the paper).
            nms_threshold: IoU above which overlapping detections are merged (default 0.5; 0 keeps no overlap).
            max_instances: at most this many (default and upper bound: the preset's `detection_max_instances`).
            reference_boxes: `(K, 4)` xyxy pixels of the references when they were drawn in this very image: the
                config's size prior (`detection_size_tolerance`, model/size_prior.py) then lowers the scores of
                boxes far from their size, and its size cap (`detection_size_cap`) drops boxes larger than that
                many times their size. None (references from other images): neither.
        """
        cfg = self.config
        score = cfg.detection_min_confidence if score_threshold is None else float(score_threshold)
        nms = cfg.detection_nms_threshold if nms_threshold is None else float(nms_threshold)
        if not (0.0 <= score <= 1.0 and 0.0 <= nms <= 1.0):
            raise ValueError(f"score_threshold and nms_threshold must be in [0, 1], got {score}, {nms}")
        limit = cfg.detection_max_instances if max_instances is None else min(int(max_instances), cfg.detection_max_instances)
        detections, masks = self._detect(
            query.features,
            tf.constant(reference.vector[None], tf.float32),
            tf.constant(query.info.normalized_window()[None]),
            tf.constant(score, tf.float32),
            tf.constant(nms, tf.float32),
            tf.constant(limit, tf.int32),  # the mask head runs on the kept detections only
        )
        detections = detections[0].numpy()
        masks = masks[0].numpy()
        # Boxes that clipping to the image window collapsed to zero width or height are no instances.
        keep = (detections[:, 5] > 0) & (detections[:, 2] > detections[:, 0]) & (detections[:, 3] > detections[:, 1])
        detections, masks = detections[keep][:limit], masks[keep][:limit]
        boxes = boxes_to_original(detections[:, :4], query.info)
        scores = detections[:, 5]
        if reference_boxes is not None and cfg.detection_size_tolerance:
            scores, passed = apply_size_prior(boxes, scores, reference_boxes, cfg.detection_size_tolerance,
                                              cfg.detection_size_falloff, score)
            order = np.argsort(-scores, kind="stable")
            order = order[passed[order]]
            boxes, scores, masks = boxes[order], scores[order], masks[order]
        if reference_boxes is not None and cfg.detection_size_cap:
            capped = within_size_cap(boxes, reference_boxes, cfg.detection_size_cap)
            boxes, scores, masks = boxes[capped], scores[capped], masks[capped]
        instances = []
        for box, box_score, mask in zip(boxes, scores, masks, strict=True):
            if box[2] - box[0] < 1 or box[3] - box[1] < 1:
                continue  # collapsed to nothing by clipping to the image
            instances.append(Instance(box, float(box_score), paste_mask(mask, box, query.image_shape)))
        return instances

    def predict(self, image: np.ndarray, boxes, **thresholds) -> list[Instance]:
        """One call for one image: references are boxes in the same image."""
        return self.find(self.encode_image(image), self.encode_references(image, boxes), reference_boxes=boxes,
                         **thresholds)
