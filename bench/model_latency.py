"""Direct, in-process model latency with a stage breakdown (no HTTP, no queue): the floor the service is compared to.

One cold call = decode the image bytes, `encode_image`, `encode_references`, `find` (heads, mask pasting, and
whatever else depends on the reference), then what the service adds to every answer: COCO RLE of each mask
(worker) and Label Studio regions (backend: boxes, brush RLE, polygons). A warm call reuses the encoded image (the
feature cache) and does everything from `encode_references` on.

What `encode_image` and `find` hold depends on the network's `conditioning` (`model/network.py`), and so do the
stages (`STAGES_BY_CONDITIONING`; a stage a mode does not have is absent from its results):
- "pyramid" (the paper's): `encode_image` = preprocessing + backbone + FPN; `find` = matching every pyramid level
  with the reference + RPN + proposals ("matching_rpn"), then the heads and mask pasting;
- "roi": `encode_image` = preprocessing + backbone + FPN + RPN + proposals + ROI pooling ("rpn_rois": the RPN sees
  the image alone, so this is cached with it); `find` = matching the pooled ROIs with the reference, the heads
  ("heads" includes that ROI matching) and mask pasting.

Stages that run inside one `tf.function` are separated by probes:
- preprocessing is timed by calling `resize_square` + `mold` alone;
- "pyramid": backbone = `encode_image` - preprocessing; matching + RPN + proposals is timed with a probe
  `tf.function` built from the model's own steps; heads = `find` - mask pasting - that probe;
- "roi": backbone + FPN is timed with a probe `tf.function` of `model.pyramid`; rpn_rois = `encode_image` -
  preprocessing - that probe; heads = `find` - mask pasting;
- mask pasting is summed inside `find` with `bench.timing.Accumulator`.
Probes run outside the timed calls. The "model call" (what the end-to-end latency is divided by) is
`encode_image` + `encode_references` + `find`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bench.service import output_controls
from bench.timing import Accumulator, Stats, stopwatch

__all__ = ["STAGES_BY_CONDITIONING", "STAGES_COLD", "CallTimes", "DirectPipeline", "summarize_calls"]

STAGES_COLD = ("decode", "preprocess", "backbone", "rpn_rois", "reference", "matching_rpn", "heads", "paste", "rle",
               "regions_box", "regions_brush", "regions_polygon")
"""Every stage of a cold call in either conditioning, in pipeline order (seconds each). "backbone" is backbone +
FPN; "rpn_rois" (roi only) is RPN + proposals + ROI pooling on the image; "matching_rpn" (pyramid only) is matching
+ RPN + proposals per reference; "heads" is the classifier, detection and mask head (with roi: and matching the
ROIs with the reference)."""
STAGES_BY_CONDITIONING = {
    "pyramid": tuple(s for s in STAGES_COLD if s != "rpn_rois"),
    "roi": tuple(s for s in STAGES_COLD if s != "matching_rpn"),
}
"""The stages a cold call of each `ModelConfig.conditioning` has."""


@dataclass
class CallTimes:
    """Seconds per stage of one call, the model-call total, and what was found."""

    stages: dict[str, float] = field(default_factory=dict)
    model_call: float = 0.0
    instances: int = 0
    regions: int = 0


class DirectPipeline:
    """The service's work on one image, in this process, with timings.

    Args:
        predictor: a `model.predictor.Predictor`.
        max_instances: the instance limit (score threshold is 0).
        polygon_tolerance: as the backend's setting.
    """

    def __init__(self, predictor, max_instances: int, polygon_tolerance: float = 1.5):
        self.predictor = predictor
        self.max_instances = int(max_instances)
        self.polygon_tolerance = polygon_tolerance
        self.conditioning = predictor.config.conditioning
        network = predictor.network  # what the predictor computes with (its backbone may be BN-folded)
        self._probe = _matching_rpn_probe(network) if self.conditioning == "pyramid" else None
        self._pyramid = _fixed_size_function(network, network.pyramid)
        self._body = _fixed_size_function(network, lambda x: network.backbone(x, training=False))

    # --- one call ------------------------------------------------------------------------------------------

    def cold(self, data: bytes, box) -> tuple[CallTimes, object, np.ndarray]:
        """Everything for a new image: returns (times, the encoded image, the decoded image).

        `box` is one `(x1, y1, x2, y2)` or K of them (K-shot).
        """
        from model.images import decode_image
        from model.preprocess import mold, resize_square

        cfg = self.predictor.config
        times = CallTimes()
        with stopwatch() as t:
            image = decode_image(data)
        times.stages["decode"] = t[0]
        with stopwatch() as t:
            square, _ = resize_square(image, cfg.image_size, cfg.image_min_dim, antialias=cfg.resize_antialias)
            molded = mold(square, cfg.mean_pixel)
        times.stages["preprocess"] = t[0]
        with stopwatch() as t:
            query = self.predictor.encode_image(image)
        encode_s = t[0]
        network_s = max(0.0, encode_s - times.stages["preprocess"])
        if self.conditioning == "pyramid":
            times.stages["backbone"] = network_s
        else:  # encode_image also ran the RPN, the proposals and ROI pooling: take backbone + FPN apart
            times.stages["backbone"] = min(network_s, self._forward(self._pyramid, molded))
            times.stages["rpn_rois"] = network_s - times.stages["backbone"]
        warm = self.warm(query, image, box)
        times.stages.update(warm.stages)
        times.model_call = encode_s + warm.model_call
        times.instances, times.regions = warm.instances, warm.regions
        return times, query, image

    def warm(self, query, image: np.ndarray, box, regions: bool = True) -> CallTimes:
        """Another box (or K boxes) on an already encoded image (what a feature-cache hit leaves to do).

        `regions=False` skips building Label Studio regions (their cost does not depend on cold or warm).
        """
        import tensorflow as tf

        from common.regions import instances_to_regions
        from worker.jobs import instance_records

        times = CallTimes()
        boxes = np.asarray(box, np.float32).reshape(-1, 4)
        with stopwatch() as t:
            reference = self.predictor.encode_references(image, boxes)
        times.stages["reference"] = t[0]
        probed = 0.0
        if self._probe is not None:  # pyramid: matching + RPN + proposals run in `find`, per reference
            with stopwatch() as t:
                self._probe(list(query.pyramid), tf.constant(reference.vector[None], tf.float32))
            times.stages["matching_rpn"] = probed = t[0]
        with Accumulator("model.predictor", "paste_mask") as paste, stopwatch() as t:
            instances = self.predictor.find(query, reference, score_threshold=0.0, max_instances=self.max_instances)
        times.stages["paste"] = paste.seconds
        times.stages["heads"] = max(0.0, t[0] - paste.seconds - probed)
        times.model_call = times.stages["reference"] + t[0]
        with stopwatch() as t:
            records = instance_records(instances)  # as the worker encodes them
        times.stages["rle"] = t[0]
        size = image.shape[:2]
        count = 0
        for control in output_controls() if regions else ():
            with stopwatch() as t:
                count += len(instances_to_regions(records, (control,), "Object", size, size, self.polygon_tolerance))
            times.stages[f"regions_{control.type.removesuffix('labels').replace('rectangle', 'box')}"] = t[0]
        times.instances, times.regions = len(instances), count
        return times

    def trace_counts(self) -> dict[str, int | None]:
        """How often each of the predictor's `tf.function`s was traced (1 each means no retracing)."""
        counts = {}
        for name in ("_encode_image", "_encode_references", "_detect"):
            function = getattr(self.predictor, name, None)
            getter = getattr(function, "experimental_get_tracing_count", None)
            counts[name.lstrip("_")] = int(getter()) if getter else None
        return counts

    # --- floors --------------------------------------------------------------------------------------------

    def backbone_only(self, image: np.ndarray) -> float:
        """Seconds of the backbone body alone (C2..C5; no FPN, no preprocessing) on the molded query."""
        return self._forward(self._body, self._molded(image))

    def backbone_fpn_only(self, image: np.ndarray) -> float:
        """Seconds of backbone + FPN alone (`model.pyramid`; no preprocessing, and with conditioning "roi" no RPN)
        on the molded query."""
        return self._forward(self._pyramid, self._molded(image))

    def _molded(self, image: np.ndarray) -> np.ndarray:
        from model.preprocess import mold, resize_square

        cfg = self.predictor.config
        square, _ = resize_square(image, cfg.image_size, cfg.image_min_dim, antialias=cfg.resize_antialias)
        return mold(square, cfg.mean_pixel)

    @staticmethod
    def _forward(function, molded: np.ndarray) -> float:
        """Seconds of one call of a probe of the network on a molded [S, S, 3] image, outputs fetched."""
        import tensorflow as tf

        tensor = tf.constant(molded[None])
        with stopwatch() as t:
            _ = [o.numpy() for o in function(tensor)]
        return t[0]


def _matching_rpn_probe(model):
    """A `tf.function`: matching + RPN + proposals, the first half of `SiameseMaskRCNN.detect` with conditioning
    "pyramid", for timing."""
    import tensorflow as tf

    cfg = model.config

    @tf.function(reduce_retracing=True)
    def probe(pyramid, reference):
        return model._propose(model.matching(pyramid, reference), cfg.rpn_post_nms_test)

    def run(pyramid, reference):
        boxes, valid = probe(pyramid, reference)
        return boxes.numpy(), valid.numpy()

    return run


def _fixed_size_function(model, function):
    """`function` (molded [1, S, S, 3] -> list of tensors) as a `tf.function` at the query's fixed size."""
    import tensorflow as tf

    cfg = model.config
    spec = tf.TensorSpec([1, cfg.image_size, cfg.image_size, 3], tf.float32)
    return tf.function(function, input_signature=[spec])


def summarize_calls(calls: list[CallTimes]) -> dict:
    """Median and range per stage and of the model call (seconds), plus instance and region counts."""
    stages = sorted({name for call in calls for name in call.stages}, key=_stage_order)
    return {
        "stages": {name: Stats.of([c.stages[name] for c in calls if name in c.stages]).to_dict()
                   for name in stages},
        "model_call": Stats.of([c.model_call for c in calls]).to_dict(),
        "instances": int(np.median([c.instances for c in calls])),
        "regions": int(np.median([c.regions for c in calls])),
    }


def _stage_order(name: str) -> int:
    return STAGES_COLD.index(name) if name in STAGES_COLD else len(STAGES_COLD)
