"""Job functions, enqueued by the backend by dotted path. JSON-safe dict in, JSON-safe dict out.

- `interactive_job(InteractiveRequest dict) -> PredictionResult dict`
- `batch_job(BatchRequest dict) -> BatchResult dict` (posts to Label Studio itself when the backend gave up)

Both report their stage in `job.meta["progress"]` (`{"stage": str, "fraction": float}`), visible at
`/jobs/<id>`, and their timings and feature-cache use in `job.meta`.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np
from rq import get_current_job

from common.exceptions import BadRequestError, ImageFetchError
from common.jobs import (
    BatchRequest,
    BatchResult,
    InstanceRecord,
    InteractiveRequest,
    PredictionResult,
)
from common.mask_crop import MaskCrop
from common.masks import encode_mask
from common.queues import delivery_key
from model.answering import find_for_drawn_boxes, find_for_labels, scale_boxes
from model.postprocess import paste_window
from worker import runtime
from worker.models import use_project_model

__all__ = ["batch_job", "instance_records", "interactive_job"]

DELIVERY_BACKEND = "backend"
DELIVERY_POST = "post"

log = logging.getLogger(__name__)


def _progress(stage: str, fraction: float, **extra) -> None:
    job = get_current_job()
    if job is None:
        return
    job.meta["progress"] = {"stage": stage, "fraction": round(fraction, 3)}
    job.meta.update(extra)
    job.save_meta()


def instance_records(instances) -> list[InstanceRecord]:
    """The predictor's instances (masks pasted by `model.postprocess.paste_mask`) as JSON-safe records; each mask is
    encoded from the window its paste wrote, so no image-sized scan is made per instance."""
    records = []
    for item in instances:
        box = np.asarray(item.box, dtype=np.float64).reshape(4)
        mask = np.asarray(item.mask, dtype=bool)
        crop = MaskCrop.of(mask, paste_window(box, mask.shape))
        records.append(InstanceRecord(box=tuple(float(v) for v in box), score=float(item.score),
                                      mask=encode_mask(crop)))
    return records


def interactive_job(payload: dict) -> dict:
    """Find every instance like the reference boxes in one image."""
    request = InteractiveRequest.from_dict(payload)
    rt = runtime.current()
    use_project_model(rt, request.project_id)  # the project's fine-tuned active version, if it has one
    timings: dict[str, float] = {}
    started = time.perf_counter()
    _progress("fetching image", 0.0)
    # When Label Studio's image size is known, a large JPEG may decode smaller: boxes are mapped below and the
    # backend maps the answer back. The next box is likely on this image: keep it decoded.
    reduce_to = None if request.expected_size is None else rt.prediction_long_side()
    digest, image = rt.load_image(request.image, keep_decoded=True, min_long_side=reduce_to)
    timings["fetch_decode_s"] = time.perf_counter() - started
    size = (int(image.shape[0]), int(image.shape[1]))
    boxes = scale_boxes(request.reference_boxes, request.expected_size, size)

    _progress("encoding image", 0.3)
    mark = time.perf_counter()
    query, hit = rt.encode(digest, image)
    timings["encode_image_s"] = time.perf_counter() - mark

    _progress("matching", 0.6)
    mark = time.perf_counter()
    try:
        reference = rt.predictor.encode_references(image, boxes)
    except ValueError as error:
        raise BadRequestError(f"The reference box cannot be used: {error}") from None
    config = rt.predictor.config
    others = _encoded(rt, request, request.other_labels
                      if config.detection_label_claims or config.detection_label_vote else ())
    own = None
    if request.drawn_label and (config.detection_drawn_bank or config.detection_label_vote):
        own = _encoded(rt, request, (request.drawn_label,)).get(request.drawn_label.label)
    instances = find_for_drawn_boxes(rt.predictor, image, query, reference, request.thresholds, boxes,
                                     others=others, own=own)
    timings["reference_and_heads_s"] = time.perf_counter() - mark
    timings["total_s"] = time.perf_counter() - started
    timings = {k: round(v, 4) for k, v in timings.items()}
    _progress("done", 1.0, feature_cache_hit=hit, timings=timings)
    return PredictionResult(model_version=rt.version, image_size=size,
                            instances=tuple(instance_records(instances)),
                            feature_cache_hit=hit, timings=timings).to_dict()


def _encoded(rt, request: InteractiveRequest, labels) -> dict[str, list]:
    """`{label: [ReferenceEmbedding, ...]}` of `labels`' exemplars (`LabelExemplars`), encoded (cached per process):
    the project's other labels for the model's label claims (`model.answering.unclaimed`) and the drawn label's own
    for its bank joining the answer (`model.answering.with_own_bank`). An exemplar whose image cannot be loaded is
    left out with a warning: the drawn box is still answered, with the exemplars that loaded."""
    encoded: dict[str, list] = {}
    for label in labels:
        for exemplar in label.exemplars:
            try:
                encoded.setdefault(label.label, []).append(rt.reference(exemplar.image, exemplar.boxes))
            except (BadRequestError, ImageFetchError, ValueError, OSError) as error:
                log.warning("interactive project=%s: exemplar of %r at %s left out of the drawn box's answer: %s",
                            request.project_id, label.label, exemplar.image.url[:120], error)
    return {label: references for label, references in encoded.items() if references}


def batch_job(payload: dict) -> dict:
    """Pre-annotate one task with the project's exemplars, one reference per label."""
    request = BatchRequest.from_dict(payload)
    rt = runtime.current()
    use_project_model(rt, request.project_id)
    _progress("fetching image", 0.0)
    loaded = rt.load(request.image, min_long_side=rt.prediction_long_side())  # regions: in the file's size
    image = loaded.image
    size = (int(image.shape[0]), int(image.shape[1]))
    original = None if loaded.original_size == size else loaded.original_size
    hit = False
    if rt.predictor.config.detection_bank_answers:
        query, hit = rt.encode(loaded.digest, image)
        references: dict[str, list] = {}
        for index, label in enumerate(request.labels):
            _progress(f"label {label.label}", 0.2 + 0.7 * index / len(request.labels))
            references[label.label] = [rt.reference(ex.image, ex.boxes) for ex in label.exemplars]
        found = find_for_labels(rt.predictor, query, references, request.thresholds, image=image)
    else:  # the version's held-out slice said its bank costs more than it saves (model/training/finetune.py, step 5)
        log.info("batch task=%s: version %s does not pre-annotate from its bank (its card's training.bank_answers "
                 "says why): no suggestions", request.task_id, rt.version)
        found = {label.label: [] for label in request.labels}
    per_label = {label: tuple(instance_records(instances)) for label, instances in found.items()}
    result = BatchResult(task_id=request.task_id, model_version=rt.version, image_size=size, instances=per_label,
                         original_size=original)
    job = get_current_job()
    if job is not None and not _backend_collects(job):
        _post(rt, request, result)
        result = dataclasses.replace(result, posted=True)
    _progress("done", 1.0, feature_cache_hit=hit, posted=result.posted)
    return result.to_dict()


def _backend_collects(job) -> bool:
    """Claim delivery for the waiting backend; False when the backend already gave up (then we post)."""
    key = delivery_key(job.id)
    if job.connection.set(key, DELIVERY_BACKEND, nx=True, ex=24 * 3600):
        return True
    return (job.connection.get(key) or b"").decode() != DELIVERY_POST


def _post(rt, request: BatchRequest, result: BatchResult) -> None:
    from common.regions import instances_to_regions, prediction_entry  # pure module: no Flask, no TF

    client = rt.client_for(request.image)
    if client is None:
        raise BadRequestError("Cannot post the prediction: Label Studio's URL is unknown; set LABEL_STUDIO_URL.")
    regions, scores = [], []
    outputs = {item.label: item.outputs for item in request.labels}
    for label, instances in result.instances.items():
        regions += instances_to_regions(list(instances), outputs[label], label, result.image_size,
                                        result.label_studio_size, polygon_tolerance=request.polygon_tolerance)
        scores += [i.score for i in instances]
    entry = prediction_entry(regions, scores, result.model_version)
    prediction_id = client.post_prediction(request.task_id, entry["result"], entry["score"], result.model_version)
    log.info("posted prediction %s for task %s (%d regions)", prediction_id, request.task_id, len(regions))
