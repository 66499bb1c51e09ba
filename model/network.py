"""The meta-architecture: wires backbone, FPN, matching, RPN, ROIAlign and heads together.

It holds no preprocessing (see `model/preprocess.py`) and no numpy post-processing (see `model/postprocess.py`).
Inference runs in three stages so the worker can cache the expensive one:

    encode_image(images)          -> features       (everything that depends on the query alone; cacheable per image)
    encode_references(references) -> reference      (backbone + FPN + average pooling; [B, L, F])
    detect(features, reference, window, ...)        (what depends on the reference: heads, and more, see below)

Where the reference meets the image is `config.conditioning` (model/config.py):
- "pyramid" (the paper's): `features` = the query pyramid; `detect` matches every level with the reference, then
  runs the RPN, proposals, ROIAlign and both heads on the matched maps.
- "roi": the RPN runs on the query pyramid alone, so `features` also hold the proposals and their pooled features;
  `detect` matches only those pooled features with the reference (`RoiMatching`) and runs the heads.

Training uses `compute_losses(batch)`, which returns the five named losses.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from model import losses as L
from model.anchors import pyramid_anchors
from model.config import ModelConfig
from model.layers.detection import detect
from model.layers.heads import MaskHead, MatchClassifierHead
from model.layers.matching import RoiMatching, SiameseMatching, pool_reference
from model.layers.proposals import propose
from model.layers.roi_align import MIN_LEVEL, pyramid_roi_align, roi_levels
from model.layers.rpn import run_rpn
from model.targets import roi_targets

ROI_LEVELS = 4  # P2..P5 feed ROIAlign; P6 only feeds the RPN


class SiameseMaskRCNN(keras.Model):
    """Siamese Mask R-CNN.

    Args:
        config: the hyperparameters of proposals, detection and training (`ModelConfig`).
        backbone: model [B, S, S, 3] molded image -> [C2..C5]; shared by query and references.
        fpn: model [C2..C5] -> [P2..P6]; shared too.
        matching: `SiameseMatching` (conditioning "pyramid") or `RoiMatching` ("roi").
        rpn: the shared RPN model; classifier: `MatchClassifierHead`; mask_head: `MaskHead`.
    """

    def __init__(self, config: ModelConfig, backbone, fpn, matching, rpn, classifier, mask_head, **kwargs):
        super().__init__(name=kwargs.pop("name", "siamese_mask_rcnn"), **kwargs)
        self.config = config
        self.backbone = backbone
        self.fpn = fpn
        self.matching: SiameseMatching | RoiMatching = matching
        self.rpn = rpn
        self.classifier: MatchClassifierHead = classifier
        self.mask_head: MaskHead = mask_head
        anchors = pyramid_anchors(
            config.image_size, config.rpn_anchor_scales, config.rpn_anchor_ratios, config.backbone_strides
        )
        self.anchors_np = anchors
        self._anchors = tf.constant(anchors)

    def with_backbone(self, backbone) -> SiameseMaskRCNN:
        """A network that shares every part of this one but the backbone.

        The predictor uses it to compute with `model.folding.fold_batch_norms(self.backbone)`; the FPN, matching,
        RPN and heads are these very layers, so their weights are shared, not copied.
        """
        return SiameseMaskRCNN(self.config, backbone, self.fpn, self.matching, self.rpn, self.classifier,
                               self.mask_head, name=f"{self.name}_with_{backbone.name}", dtype=self.dtype_policy)

    # --- inference stages ---------------------------------------------------------------------------------

    def pyramid(self, images):
        """[B, S, S, 3] molded -> list of 5 pyramid levels [B, h, w, F] (backbone + FPN)."""
        return self.fpn(self.backbone(images, training=False), training=False)

    def encode_image(self, images) -> dict:
        """[B, S, S, 3] molded -> the image's features, everything of the query that no reference changes.

        Returns:
            "pyramid": list of 5 levels [B, h, w, F]. With conditioning "roi" also "proposals" [B, P, 4] normalised
            `(y1, x1, y2, x2)` (P = rpn_post_nms_test, zero rows padding), "valid" [B, P] bool and "rois"
            [B, P, pool, pool, F], the proposals pooled from the pyramid (in the pyramid's dtype). With a verifier
            (`detection_verifier`, model/verifier.py) also "taps": the backbone's C3 and C4 [B, h, w, C] (strides 8
            and 16), its frozen features.
        """
        taps = self.backbone(images, training=False)
        pyramid = self.fpn(taps, training=False)
        features = {"pyramid": pyramid}
        if self.config.detection_verifier:
            features["taps"] = [taps[1], taps[2]]
        if self.config.conditioning == "pyramid":
            return features
        proposals, valid = self._propose(pyramid, self.config.rpn_post_nms_test)
        rois = pyramid_roi_align(_roi_levels_float32(pyramid), proposals, self.config.pool_size, self.config.image_size)
        return {**features, "proposals": proposals, "valid": valid, "rois": tf.cast(rois, pyramid[0].dtype)}

    def encode_references(self, references):
        """[B, K, R, R, 3] molded references -> [B, L, F], the K-shot average of the pooled pyramids."""
        shape = tf.shape(references)
        flat = tf.reshape(references, tf.concat([[-1], shape[2:]], axis=0))
        pooled = pool_reference(self.pyramid(flat))  # [B*K, L, F]
        pooled = tf.reshape(pooled, tf.stack([shape[0], shape[1], pooled.shape[1], pooled.shape[2]]))
        return tf.reduce_mean(pooled, axis=1)

    def detect(self, features, reference, window, score_threshold, nms_threshold, mask_limit=None):
        """Detections and masks.

        Args:
            features: output of `encode_image`; reference: output of `encode_references`.
            window: [B, 4] normalised image region inside the padded input.
            score_threshold, nms_threshold: scalar float tensors.
            mask_limit: scalar int tensor; masks are computed for the best `mask_limit` detections only (the rest
                are zero). None: all.
        Returns:
            detections [B, D, 6] `(y1, x1, y2, x2, class_id, score)` normalised (zero rows = none);
            masks [B, D, 28, 28] float probabilities, in box coordinates.
        """
        cfg = self.config
        window = tf.cast(window, tf.float32)
        if cfg.conditioning == "pyramid":
            matched = self.matching(features["pyramid"], reference)
            proposals, valid = self._propose(matched, cfg.rpn_post_nms_test)
            pool = self._pooler(matched)
            class_rois = pool(proposals, cfg.pool_size)
        else:
            proposals, valid = features["proposals"], features["valid"]
            pool = self._pooler(features["pyramid"], reference)
            class_rois = self._match_rois(features["rois"], proposals, reference)
        # Under a bfloat16 policy (build_model(precision="bfloat16")) the convolutions compute in bfloat16; box
        # decoding, NMS and ROIAlign stay float32 (TensorFlow's NMS and crop_and_resize refuse bfloat16).
        class_logits, box_deltas = (tf.cast(t, tf.float32) for t in self.classifier(class_rois))
        detections = detect(
            proposals,
            valid,
            tf.nn.softmax(class_logits)[..., 1],
            box_deltas,
            window,
            score_threshold,
            nms_threshold,
            max_instances=cfg.detection_max_instances,
            bbox_std=cfg.bbox_std,
        )
        # The mask head is the most expensive part of the heads: run it only on the rows that hold detections
        # (detections are sorted, padding last), then pad back to the static count.
        # At least one row: oneDNN's convolution mishandles an empty batch.
        count = tf.reduce_max(tf.reduce_sum(tf.cast(detections[..., 5] > 0, tf.int32), axis=1))
        if mask_limit is not None:
            count = tf.minimum(count, tf.cast(mask_limit, tf.int32))
        count = tf.maximum(count, 1)
        masks = tf.sigmoid(tf.cast(self.mask_head(pool(detections[:, :count, :4], cfg.mask_pool_size)), tf.float32))
        masks = tf.pad(masks, [[0, 0], [0, cfg.detection_max_instances - count], [0, 0], [0, 0]])
        return detections, masks

    def call(self, inputs):
        """Keras entry point: {"image", "reference", "window"} -> (detections, masks), default thresholds."""
        features = self.encode_image(inputs["image"])
        reference = self.encode_references(inputs["reference"])
        return self.detect(
            features,
            reference,
            inputs["window"],
            tf.constant(self.config.detection_min_confidence),
            tf.constant(self.config.detection_nms_threshold),
        )

    # --- shared steps --------------------------------------------------------------------------------------

    def _propose(self, feature_maps: list, count: int):
        """RPN over P2..P6 `feature_maps` -> (proposals [B, count, 4] normalised yxyx, valid [B, count] bool)."""
        return self._proposals_from(*run_rpn(self.rpn, feature_maps), count)

    def _proposals_from(self, logits, deltas, count: int):
        """RPN outputs (logits [B, A, 2], deltas [B, A, 4]) -> the best `count` boxes after NMS, as `_propose`.

        No gradient flows from the proposals into the RPN (its losses train it)."""
        cfg = self.config
        logits, deltas = tf.cast(logits, tf.float32), tf.cast(deltas, tf.float32)
        return propose(
            tf.stop_gradient(tf.nn.softmax(logits)[..., 1]),
            tf.stop_gradient(deltas),
            self._anchors,
            pre_nms_limit=cfg.rpn_pre_nms_limit,
            post_nms_count=count,
            nms_threshold=cfg.rpn_nms_threshold,
            bbox_std=cfg.rpn_bbox_std,
        )

    def _match_rois(self, rois, boxes, reference):
        """ROIs [B, N, p, p, F] pooled from the query pyramid at `boxes` [B, N, 4] -> matched [B, N, p, p, C]:
        each compared with the reference vector ([B, L, F]) of the level it was pooled from."""
        levels = roi_levels(tf.stop_gradient(tf.cast(boxes, tf.float32)), self.config.image_size) - MIN_LEVEL
        return self.matching(rois, tf.gather(reference, levels, batch_dims=1))

    def _pooler(self, feature_maps: list, reference=None):
        """`pool(boxes [B, N, 4], size) -> [B, N, size, size, C]`, the features the heads see.

        conditioning "pyramid": `feature_maps` are the matched maps, pooled as they are. "roi": they are the query
        pyramid, and every pooled ROI is matched with `reference` afterwards."""
        cfg = self.config
        levels = _roi_levels_float32(feature_maps)  # once, for every pool() of this pooler
        if cfg.conditioning == "pyramid":
            return lambda boxes, size: pyramid_roi_align(levels, boxes, size, cfg.image_size)
        return lambda boxes, size: self._match_rois(
            pyramid_roi_align(levels, boxes, size, cfg.image_size), boxes, reference
        )

    # --- training ------------------------------------------------------------------------------------------

    def compute_losses(self, batch: dict) -> dict:
        """The five weighted-later losses of one batch.

        Args:
            batch: "image" [B, S, S, 3] molded; "reference" [B, K, R, R, 3] molded; "rpn_match" [B, A] int32;
                "rpn_deltas" [B, A, 4] (with conditioning "roi" the RPN targets are all objects of the active
                classes, see `model.training.batches`); "gt_boxes" [B, G, 4] normalised (zero rows = padding);
                "gt_masks" [B, G, m, m] mini-masks.
        Returns:
            {"rpn_class", "rpn_bbox", "mrcnn_class", "mrcnn_bbox", "mrcnn_mask"}: scalar tensors.
        """
        cfg = self.config
        pyramid = self.pyramid(batch["image"])
        reference = self.encode_references(batch["reference"])
        if cfg.conditioning == "pyramid":
            rpn_input = self.matching(pyramid, reference)
            pool = self._pooler(rpn_input)
        else:
            rpn_input = pyramid
            pool = self._pooler(pyramid, reference)
        logits, deltas = run_rpn(self.rpn, rpn_input)  # once: its losses below, its proposals here
        proposals, valid = self._proposals_from(logits, deltas, cfg.rpn_post_nms_train)

        def sample(args):
            return roi_targets(
                *args,
                num_rois=cfg.train_rois,
                positive_ratio=cfg.roi_positive_ratio,
                bbox_std=cfg.bbox_std,
                mask_size=cfg.mask_shape,
            )

        rois, labels, target_deltas, target_masks, weights = tf.map_fn(
            sample,
            (proposals, valid, batch["gt_boxes"], batch["gt_masks"]),
            fn_output_signature=(
                tf.TensorSpec([cfg.train_rois, 4], tf.float32),
                tf.TensorSpec([cfg.train_rois], tf.int32),
                tf.TensorSpec([cfg.train_rois, 4], tf.float32),
                tf.TensorSpec([cfg.train_rois, cfg.mask_shape, cfg.mask_shape], tf.float32),
                tf.TensorSpec([cfg.train_rois], tf.float32),
            ),
        )
        class_logits, box_deltas = self.classifier(pool(rois, cfg.pool_size))
        # Only positive ROIs have a mask loss, and `roi_targets` puts them first: skip the mask head on the rest.
        positives = int(cfg.train_rois * cfg.roi_positive_ratio)
        mask_logits = self.mask_head(pool(rois[:, :positives], cfg.mask_pool_size))
        return {
            "rpn_class": L.rpn_class_loss(batch["rpn_match"], logits),
            "rpn_bbox": L.rpn_bbox_loss(batch["rpn_match"], batch["rpn_deltas"], deltas),
            "mrcnn_class": L.mrcnn_class_loss(labels, class_logits, weights),
            "mrcnn_bbox": L.mrcnn_bbox_loss(labels, target_deltas, box_deltas),
            "mrcnn_mask": L.mrcnn_mask_loss(labels[:, :positives], target_masks[:, :positives], mask_logits),
        }

    def regularization_loss(self) -> tf.Tensor:
        """matterport's L2 term over the trainable kernels (not BN gamma/beta, not biases)."""
        kernels = [w for w in self.trainable_weights if w.path.endswith("kernel")]
        return L.l2_regularization([w.value for w in kernels], self.config.weight_decay)

    # --- weights by name -----------------------------------------------------------------------------------

    def named_weight_layers(self) -> dict[str, keras.layers.Layer]:
        """Every weight-holding layer by its (paper / matterport) name, e.g. "res2a_branch2a", "fpn_distance_P2"."""
        found: dict[str, keras.layers.Layer] = {}
        for layer in self._flatten_layers(include_self=False, recursive=True):
            if layer.weights and not isinstance(layer, keras.Model) and not layer._layers:
                if layer.name in found and found[layer.name] is not layer:
                    raise RuntimeError(f"two layers are named {layer.name!r}; names must be unique")
                found[layer.name] = layer
        return found

    def dummy_inputs(self, batch: int = 1, references: int = 1) -> dict:
        """Zero inputs of the right shapes, used to build the weights."""
        cfg = self.config
        return {
            "image": np.zeros((batch, cfg.image_size, cfg.image_size, 3), np.float32),
            "reference": np.zeros((batch, references, cfg.reference_size, cfg.reference_size, 3), np.float32),
            "window": np.tile(np.array([[0, 0, 1, 1]], np.float32), (batch, 1)),
        }


def _roi_levels_float32(pyramid: list) -> list:
    """P2..P5 of `pyramid` in float32, what ROIAlign pools from (crop_and_resize refuses bfloat16)."""
    return [tf.cast(level, tf.float32) for level in pyramid[:ROI_LEVELS]]
