"""How the service answers a drawn box, as pure functions the worker's jobs and the effort measure share.

`worker/jobs.py` answers an interactive request in these steps: decode the image's JPEG at a reduced scale when it
is much larger than the model needs (`prediction_long_side`), move the drawn boxes from Label Studio's image size to
the decoded one (`scale_boxes`), encode the image and the references, and `find_instances` with the request's
thresholds. `model.evaluation.service_answerer` plays the same steps on dataset images, so the effort measure scores
what an annotator gets. Batch pre-annotation (no box drawn) answers every label of the exemplar bank on one encoded
image with `find_for_labels`, each label's exemplars pooled by `pooled_reference`; `model.evaluation.bank_answerer`
plays it for the bank mode of the measure. Nothing here imports TensorFlow: the predictor is passed in.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

__all__ = ["REFERENCE_IOU", "AnswerThresholds", "confident_copies", "expanded_reference", "find_for_drawn_boxes",
           "find_for_labels", "find_instances", "off_frame", "pooled_reference", "prediction_long_side",
           "reference_gate", "one_label_per_object", "scale_boxes", "seeded_bank_answer", "unclaimed",
           "with_own_bank", "outvoted", "verified", "VOTE_FLOOR"]


@dataclass(frozen=True)
class AnswerThresholds:
    """The three values an answer is found with (the service's are `SCORE_THRESHOLD`, `NMS_THRESHOLD` and
    `MAX_INSTANCES` of `common.settings`; `common.jobs.Thresholds` has the same fields)."""

    score_threshold: float | None  # None: the model's calibrated one (`ModelConfig.drawn_box_threshold` for a drawn box)
    nms_threshold: float
    max_instances: int


def prediction_long_side(decode_factor: int, query_size: int) -> int | None:
    """The `min_long_side` a prediction decodes its JPEG at (`model.images.decode_image`).

    Args:
        decode_factor: the `DECODE_FACTOR` setting; 0 decodes at full size.
        query_size: the model's square input side (`config.image_size`).

    Returns:
        `decode_factor * query_size` pixels, or None for full size. The model never sees more than its query size,
        and masks pasted at twice it keep all the 28x28 mask head has.
    """
    return decode_factor * query_size if decode_factor else None


def scale_boxes(boxes, expected: tuple[int, int] | None, actual: tuple[int, int]) -> np.ndarray:
    """Boxes measured on an image of size `expected` moved to the decoded image's size `actual`.

    Args:
        boxes: `(K, 4)` xyxy pixels of the `expected` `(H, W)` frame (or anything that reshapes to it).
        expected: `(H, W)` the boxes were measured on (Label Studio's), or None: already in `actual`'s frame.
        actual: `(H, W)` of the decoded image.

    Returns:
        `(K, 4)` float32 xyxy pixels of `actual`.
    """
    array = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    if expected is None or tuple(expected) == tuple(actual):
        return array
    sy, sx = actual[0] / expected[0], actual[1] / expected[1]
    return array * np.asarray([sx, sy, sx, sy], dtype=np.float32)


def find_instances(predictor, query, reference, thresholds, reference_boxes=None) -> list:
    """At most `thresholds.max_instances` instances like `reference` in `query`, best first.

    Args:
        predictor: a `model.predictor.Predictor`; query: its `EncodedImage`; reference: its `ReferenceEmbedding`.
        thresholds: anything with `score_threshold`, `nms_threshold` and `max_instances` (`AnswerThresholds`,
            `common.jobs.Thresholds`).
        reference_boxes: `(K, 4)` xyxy pixels of the encoded image when the references were drawn in it (an
            interactive box): the model's size prior applies. None for references from other images.

    Returns:
        The predictor's `Instance`s (box xyxy pixels of the encoded image, score, `(H, W)` bool mask).
    """
    return predictor.find(query, reference, score_threshold=thresholds.score_threshold,
                          nms_threshold=thresholds.nms_threshold, max_instances=thresholds.max_instances,
                          reference_boxes=reference_boxes)


REFERENCE_IOU = 0.5
"""A found instance is the reference object itself when its box overlaps a drawn box this much (IoU)."""


def _on_drawn(found_boxes, reference_boxes) -> np.ndarray:
    """`(P, K)` bool: found box p is drawn object k (box IoU >= `REFERENCE_IOU`). Both `(N, 4)` xyxy pixels."""
    return _overlapping(found_boxes, reference_boxes, REFERENCE_IOU)


def _overlapping(a_boxes, b_boxes, iou_threshold: float) -> np.ndarray:
    """`(A, B)` bool: box a and box b are one object (IoU >= `iou_threshold`; boxes that do not touch never are,
    even at 0). Both `(N, 4)` xyxy pixels (or anything that reshapes to it)."""
    from model.box_ops import iou_matrix_np

    a = np.asarray(a_boxes, np.float32).reshape(-1, 4)[:, [1, 0, 3, 2]]  # yxyx
    b = np.asarray(b_boxes, np.float32).reshape(-1, 4)[:, [1, 0, 3, 2]]
    iou = iou_matrix_np(a, b)
    return (iou > 0) & (iou >= iou_threshold)


def _greedily_kept(instances: list, iou_threshold: float, labels: list | None = None) -> list[int]:
    """Indices of `instances` (best score first) kept greedily: each is dropped when it is one object
    (`_overlapping`) with an already kept one, of another label when `labels` (one per instance) are given."""
    if not instances:
        return []
    boxes = np.stack([np.asarray(i.box, np.float32) for i in instances])
    overlaps = _overlapping(boxes, boxes, iou_threshold)
    kept: list[int] = []
    for j in range(len(instances)):
        if not any(overlaps[j, k] and (labels is None or labels[k] != labels[j]) for k in kept):
            kept.append(j)
    return kept


def find_for_drawn_boxes(predictor, image: np.ndarray, query, reference, thresholds, boxes,
                         others: dict | None = None, own: list | None = None) -> list:
    """The answer to reference boxes drawn in `image` itself (an interactive request).

    When the model tiles small references (`detection_small_tiles`, `model.tiling`) and these are small, the image
    is answered in magnified windows; otherwise `find_instances` on the whole image's `query`, with the size prior.
    The model's reference gate (`detection_reference_gate`) judges the drawn objects' own scores even when they lie
    under the score threshold (it looks at the answer at the lower of the two, then keeps what reaches the
    threshold), so that an answer at any threshold is the one at a lower threshold cut there, as the effort
    measure's sweeps assume.

    With `detection_expand_score` on, the confident copies of a first answer (at most `detection_expand_count`,
    each scoring at least it, none on a drawn box) join the drawn boxes as references, and the image is answered
    again with that K-shot reference (`expanded_reference`); the size prior stays the drawn boxes'. With
    `detection_skip_border` on, suggestions touching the image frame are dropped (`off_frame`). With
    `detection_label_claims` on and `others` given, the project's other labels claim their objects
    (`unclaimed`). With `detection_drawn_bank` on and `own` given, the drawn label's own exemplars join the answer
    before the claims (`with_own_bank`); then an answer the reference gate withdrew is the bank's alone. With
    `detection_label_vote` on and both `own` and `others` given, the labels' exemplars vote (`outvoted`). With a
    verifier (`detection_verifier`), all of that runs on the network's scores from `model.verifier.CANDIDATE_FLOOR`
    up (two other rules for the claims were measured and left off: `CLAIMS_AT_NETWORK_THRESHOLD`,
    `CLAIMS_ON_CONFIDENT_ONLY`), and last the verifier re-scores the answer and cuts it at the request's threshold, else at the model's
    `detection_verifier_threshold` (`verified`).

    Args:
        image: `(H, W, 3)` uint8, the image `query` encodes; boxes: `(K, 4)` xyxy pixels of it.
        others: `{label: [ReferenceEmbedding, ...]}`, the exemplars of the project's labels other than the drawn
            one (None or empty: no claims).
        own: `[ReferenceEmbedding, ...]`, the drawn label's own exemplars (None or empty: no bank joins).

    Returns:
        The predictor's `Instance`s in `image`'s pixels, best first.
    """
    verifier = _verifier_of(predictor)
    if verifier is not None:  # every step below on the network's scores from the verifier's floor; its cut last
        from model.verifier import CANDIDATE_FLOOR

        asked = (predictor.config.drawn_box_threshold if thresholds.score_threshold is None
                 else float(thresholds.score_threshold))
        thresholds = AnswerThresholds(CANDIDATE_FLOOR, thresholds.nms_threshold, thresholds.max_instances)
    answer = _gated_answer(predictor, image, query, reference, thresholds, boxes)
    if own and predictor.config.detection_drawn_bank:
        answer = with_own_bank(predictor, image, query, answer or [], own, thresholds)
    if not answer:
        return []
    if others and predictor.config.detection_label_claims:
        answer = _claimed_answer(predictor, query, answer, others, thresholds, verifier, image)
    if own and others and predictor.config.detection_label_vote:
        answer = outvoted(predictor, query, answer, own, others, thresholds)
    if verifier is not None and answer:
        answer = verified(verifier, query, answer, boxes, asked, image=image)
    return answer


_DRAWN = ("the drawn label",)
"""The drawn label's key where its answer sits among labels' answers (a tuple: no label string can equal it)."""


def with_own_bank(predictor, image: np.ndarray, query, instances: list, own: list, thresholds) -> list:
    """A drawn box's answer joined by its label's exemplar bank: the label's exemplars answer the image as batch
    pre-annotation answers one label (pooled, seeded when the model says so), and over both answers, best score
    first, a suggestion overlapping a kept one (box IoU >= the NMS threshold) is dropped; at most
    `thresholds.max_instances` are kept. Greedy by score, so the answer at a threshold is the answer at a lower one
    cut there. The version's `detection_bank_answers` (a verdict on batch pre-annotation) does not act here: the
    threshold a version answers drawn boxes with is calibrated on answers joined this way.

    Args:
        image: `(H, W, 3)` uint8, the image `query` encodes; instances: the drawn answer, best first.
        own: the drawn label's `ReferenceEmbedding`s (one per exemplar).
        thresholds: as `find_instances`.

    Returns:
        The joined instances, best first (boxes xyxy pixels of the encoded image).
    """
    ranked = sorted(instances + _bank_answer(predictor, query, own, thresholds, image), key=lambda i: -float(i.score))
    return [ranked[j] for j in _greedily_kept(ranked, thresholds.nms_threshold)][:thresholds.max_instances]


def unclaimed(predictor, query, instances: list, others: dict, thresholds, image: np.ndarray | None = None) -> list:
    """A drawn box's answer without the objects another label of the project claims: each other label is answered
    on the same encoded image from its pooled exemplars (as batch pre-annotation answers it: no size prior), and
    `one_label_per_object` runs over the drawn answer and theirs. A suggestion of the drawn label is dropped when an
    overlapping one (box IoU >= the NMS threshold) of another label scores higher. Greedy by score, so the answer
    at a threshold is the answer at a lower one cut there; an unclaimed suggestion keeps its score.

    With the model's `detection_claims_seed` on and the image given, each other label's answer is seeded in the
    image (`seeded_bank_answer`): a reference drawn in the image scores its copies higher than exemplars from other
    images do, so without the seed a drawn box's confident answer outscores the other labels on their own objects.

    Args:
        query: the predictor's `EncodedImage`; instances: the drawn answer, best first (boxes in its pixels).
        others: `{label: [ReferenceEmbedding, ...]}`, the other labels' exemplars (none of them the drawn label).
        thresholds: as `find_instances` (the other labels are answered with them).
        image: `(H, W, 3)` uint8, the image `query` encodes (needed to seed; None answers with the exemplars alone).

    Returns:
        The instances of `instances` no other label claims, best first.
    """
    seed = predictor.config.detection_claims_seed if image is not None else 0.0
    found = {_DRAWN: instances}
    for label, references in others.items():
        pooled = pooled_reference(references)
        found[label] = (seeded_bank_answer(predictor, image, query, pooled, thresholds, seed) if seed
                        else find_instances(predictor, query, pooled, thresholds))
    return one_label_per_object(found, thresholds.nms_threshold)[_DRAWN]


VOTE_FLOOR = 0.05
"""The score each label's exemplars answer at when they vote (`outvoted`): fixed, so a vote never depends on the
threshold an answer is asked at."""


def outvoted(predictor, query, instances: list, own: list, others: dict, thresholds,
             floor: float = VOTE_FLOOR) -> list:
    """A drawn box's answer without the suggestions another label's exemplars vote for more than the drawn label's
    own do. Every label's pooled exemplars answer the image at `VOTE_FLOOR` (all from other images, so their scores
    stand on equal footing, unlike the drawn answer's); a label's vote for a suggestion is the best score of its
    answer overlapping it (box IoU >= the NMS threshold; 0 when none). A suggestion is dropped when another label's
    vote is higher than the drawn label's. The votes do not depend on the asked threshold, so the answer at a
    threshold is the answer at a lower one cut there; a kept suggestion keeps its score.

    Args:
        query: the predictor's `EncodedImage`; instances: the drawn answer, best first (boxes in its pixels).
        own: the drawn label's `ReferenceEmbedding`s; others: `{label: [ReferenceEmbedding, ...]}` of the others.
        thresholds: the answer's (their NMS threshold and cap are the votes').
        floor: the score the labels' exemplars answer at when they vote.

    Returns:
        The instances of `instances` no other label outvotes, best first.
    """
    if not instances:
        return instances
    voting = AnswerThresholds(floor, thresholds.nms_threshold, thresholds.max_instances)
    found = np.stack([np.asarray(i.box, np.float32) for i in instances])
    own_vote = _votes(found, find_instances(predictor, query, pooled_reference(own), voting), voting.nms_threshold)
    best_other = np.zeros(len(instances))
    for references in others.values():
        answer = find_instances(predictor, query, pooled_reference(references), voting)
        best_other = np.maximum(best_other, _votes(found, answer, voting.nms_threshold))
    return [i for i, mine, theirs in zip(instances, own_vote, best_other, strict=True) if not theirs > mine]


def _votes(found_boxes: np.ndarray, answer: list, iou_threshold: float) -> np.ndarray:
    """`(P,)` for `(P, 4)` xyxy boxes: the best score of `answer`'s instances overlapping each (IoU >= the threshold,
    boxes that do not touch never count), 0 where none does."""
    if not answer:
        return np.zeros(len(found_boxes))
    overlapping = _overlapping(found_boxes, np.stack([np.asarray(i.box, np.float32) for i in answer]), iou_threshold)
    scores = np.array([float(i.score) for i in answer])
    return np.where(overlapping, scores[None, :], 0.0).max(axis=1)


def _asked_score(predictor, thresholds) -> float:
    """The score threshold an answer is cut at: the request's, else the model's calibrated one."""
    if thresholds.score_threshold is None:
        return float(predictor.config.detection_min_confidence)
    return float(thresholds.score_threshold)


CLAIMS_AT_NETWORK_THRESHOLD = False
"""With a verifier, whether the other labels claim objects only with answers at the model's network threshold
(`detection_min_confidence`) instead of from the verifier's floor, where a right suggestion the network scores low,
which the verifier keeps, is dropped wherever another label's exemplars score its object higher. Off: session 28
measured it on 48 children (0.1858 -> 0.1850, 0.010 asked; docs/learning-loop.md). Without a verifier the claims
always run at the answer's own threshold."""


CLAIMS_ON_CONFIDENT_ONLY = False
"""With a verifier, whether the claims judge only the drawn answer's suggestions the network scores at least its
threshold (`detection_min_confidence`; the other labels then answer there too), leaving the others to the verifier.
Off: session 28 measured it on 48 children (no gain; docs/learning-loop.md)."""


def _claiming(predictor, thresholds, verifier):
    """The thresholds the other labels' claiming answers are found with (`CLAIMS_AT_NETWORK_THRESHOLD`,
    `CLAIMS_ON_CONFIDENT_ONLY`)."""
    if verifier is None or not (CLAIMS_AT_NETWORK_THRESHOLD or CLAIMS_ON_CONFIDENT_ONLY):
        return thresholds
    network = max(float(predictor.config.detection_min_confidence), float(thresholds.score_threshold))
    return AnswerThresholds(network, thresholds.nms_threshold, thresholds.max_instances)


def _claimed_answer(predictor, query, answer: list, others: dict, thresholds, verifier, image) -> list:
    """`unclaimed` as `find_for_drawn_boxes` applies it: the other labels answered at `_claiming`'s thresholds, and
    with `CLAIMS_ON_CONFIDENT_ONLY` only the suggestions scoring at least that threshold judged (best first)."""
    claiming = _claiming(predictor, thresholds, verifier)
    if verifier is None or not CLAIMS_ON_CONFIDENT_ONLY:
        return unclaimed(predictor, query, answer, others, claiming, image=image)
    confident = [i for i in answer if i.score >= claiming.score_threshold]
    unsure = [i for i in answer if i.score < claiming.score_threshold]
    kept = unclaimed(predictor, query, confident, others, claiming, image=image) if confident else []
    return sorted(kept + unsure, key=lambda i: -i.score)


def _verifier_of(predictor):
    """The model's `Verifier` (model/verifier.py), or None when it has none."""
    values = predictor.config.detection_verifier
    if not values:
        return None
    from model.verifier import Verifier

    return Verifier.from_config(values)


def verified(verifier, query, instances: list, boxes, threshold: float, image: np.ndarray | None = None) -> list:
    """A drawn box's answer re-scored by `verifier`: each instance's score becomes the verifier's probability
    (its features read off the query's frozen backbone taps and, for a verifier of six features, its mask against
    the drawn object's on `image`; `model.verifier`), the answer re-ordered by it and cut at `threshold`. The masks
    and boxes are the network's.

    Args:
        query: the `EncodedImage` (with "taps": the model has a verifier); instances: the network's answer, best
            first, boxes and masks in the image's pixels; boxes: `(K, 4)` xyxy pixels of the drawn boxes;
            image: `(H, W, 3)` uint8, the image `query` encodes (needed by a verifier that reads masks).

    Returns:
        The instances whose probability is at least `threshold`, most probable first.
    """
    from model.images import to_rgb
    from model.verifier import (
        box_descriptors,
        canvas_boxes,
        mask_features,
        reference_suggestion,
        suggestion_features,
        unit_feature_map,
    )

    if "taps" not in query.features:
        raise ValueError("this answer needs a verifier's backbone taps, but the image was encoded by a network built "
                         "without a verifier: load the checkpoint with detection_verifier in its config (from its "
                         "card), not set on a predictor afterwards")
    fine, coarse = (np.asarray(tap[0], np.float32) for tap in query.features["taps"])
    features = unit_feature_map(fine, coarse)
    info = query.info
    offset = (info.window[1], info.window[0])
    found = np.stack([np.asarray(i.box, np.float64) for i in instances])
    drawn = np.asarray(boxes, np.float64).reshape(-1, 4)
    drawn_descriptor = box_descriptors(features, canvas_boxes(drawn, info.scale, offset)).mean(axis=0)
    drawn_descriptor /= max(float(np.linalg.norm(drawn_descriptor)), 1e-6)
    cosines = box_descriptors(features, canvas_boxes(found, info.scale, offset)) @ drawn_descriptor
    scores = np.array([float(i.score) for i in instances])
    features = suggestion_features(scores, found, drawn, cosines)
    if verifier.reads_masks:
        if image is None:
            raise ValueError("this model's verifier reads the suggestions' masks: pass the image the answer is on")
        reference = reference_suggestion(found, scores, drawn)
        features = np.hstack([features, mask_features(to_rgb(image), found, [i.mask for i in instances], reference)])
    probability = verifier.probability(features)
    order = np.argsort(-probability, kind="stable")
    return [dataclasses.replace(instances[j], score=float(probability[j])) for j in order
            if probability[j] >= threshold]


def _gated_answer(predictor, image: np.ndarray, query, reference, thresholds, boxes) -> list | None:
    """`find_for_drawn_boxes`' answer, or None when the reference gate withdrew it (whatever the threshold)."""
    cfg = predictor.config
    asked = _asked_score(predictor, thresholds)
    looked = min([asked] + [v for v in (cfg.detection_reference_gate, cfg.detection_expand_score) if v])
    wide = AnswerThresholds(looked, thresholds.nms_threshold, thresholds.max_instances)
    instances = _answer(predictor, image, query, reference, wide, boxes)
    gate = cfg.detection_reference_gate
    if gate and not (instances and reference_gate(np.stack([i.box for i in instances]),
                                                  np.array([i.score for i in instances]), boxes, gate)):
        return None
    if instances and cfg.detection_expand_score:
        expanded = expanded_reference(predictor, image, reference, boxes, instances, cfg.detection_expand_score,
                                      cfg.detection_expand_count)
        if expanded is not None:
            instances = _answer(predictor, image, query, expanded, wide, boxes)
    return off_frame(predictor, [i for i in instances if i.score >= asked], image.shape[:2], boxes)


def off_frame(predictor, instances: list, image_shape: tuple[int, int], drawn_boxes=None) -> list:
    """`instances` without those touching the image frame when the model's `detection_skip_border` is on (a
    project that leaves objects cut by the frame out, `model.frame_convention`); all of them when it is off or a
    drawn box (`(K, 4)` xyxy pixels of the `(H, W)` image, or None) touches the frame itself."""
    if not predictor.config.detection_skip_border or not instances:
        return instances
    from model.frame_convention import keep_off_frame

    keep = keep_off_frame(np.stack([np.asarray(i.box, np.float32) for i in instances]), image_shape, drawn_boxes,
                          masks=[i.mask for i in instances])
    return [i for i, kept in zip(instances, keep, strict=True) if kept]


def _answer(predictor, image: np.ndarray, query, reference, thresholds: AnswerThresholds, boxes) -> list:
    """One pass: tiled when the plan says so (small references), else the whole encoded image with the size prior."""
    from model.tiling import find_tiled, tile_plan

    plan = tile_plan(predictor.config, image.shape[:2], boxes)
    if plan is None:
        return find_instances(predictor, query, reference, thresholds, reference_boxes=boxes)
    return find_tiled(predictor, image, reference, plan, score_threshold=thresholds.score_threshold,
                      nms_threshold=thresholds.nms_threshold, max_instances=thresholds.max_instances,
                      reference_boxes=boxes)


def confident_copies(found_boxes: np.ndarray, scores: np.ndarray, reference_boxes, min_score: float,
                     count: int) -> np.ndarray:
    """The boxes of a first answer that may serve as extra references: scoring at least `min_score`, none on a
    drawn box (box IoU < `REFERENCE_IOU` with every one), the best `count`.

    Args:
        found_boxes: `(P, 4)` xyxy pixels, best first; scores: `(P,)`; reference_boxes: `(K, 4)` xyxy pixels.

    Returns:
        `(M, 4)` float32 xyxy pixels, M <= `count`, in the answer's order.
    """
    found = np.asarray(found_boxes, np.float32).reshape(-1, 4)
    if len(found) == 0 or count <= 0:
        return np.zeros((0, 4), np.float32)
    on_reference = _on_drawn(found, reference_boxes).any(axis=1)
    keep = (np.asarray(scores, np.float64).reshape(-1) >= min_score) & ~on_reference
    return found[keep][:count]


def expanded_reference(predictor, image: np.ndarray, reference, boxes, instances: list, min_score: float,
                       count: int):
    """The drawn boxes' reference joined by the answer's confident copies (`confident_copies`), as one K-shot
    `ReferenceEmbedding` (weighted by box counts), or None when no copy is confident enough."""
    extra = confident_copies(np.stack([i.box for i in instances]), np.array([i.score for i in instances]), boxes,
                             min_score, count)
    if len(extra) == 0:
        return None
    return type(reference).mean([reference, predictor.encode_references(image, extra)])


def reference_gate(found_boxes: np.ndarray, scores: np.ndarray, reference_boxes, gate: float) -> bool:
    """Whether an answer to boxes drawn in the image may stand: the model found every drawn object itself with a
    score of at least `gate`. When it does not recognise the very object it was shown, its other suggestions are
    guesses, and an annotator is better served by none (the product suggests less when unsure).

    Args:
        found_boxes: `(P, 4)` xyxy pixels; scores: `(P,)`; reference_boxes: `(K, 4)` xyxy pixels (K >= 1).

    Returns:
        True when each reference has a found box of IoU >= `REFERENCE_IOU` scoring >= `gate`.
    """
    found = np.asarray(found_boxes, np.float32).reshape(-1, 4)
    if len(found) == 0:
        return False
    confident = _on_drawn(found, reference_boxes) & (np.asarray(scores, np.float64).reshape(-1, 1) >= gate)
    return bool(confident.any(axis=0).all())


def pooled_reference(references: list):
    """One label's exemplars as one K-shot reference: the only one, or `ReferenceEmbedding.mean` of several
    (weighted by their box counts), as batch pre-annotation pools the exemplar bank.

    Args:
        references: the predictor's `ReferenceEmbedding`s, one per exemplar (each of one or more boxes).

    Raises:
        ValueError: no reference (a label without exemplars cannot be answered).
    """
    if not references:
        raise ValueError("a label needs at least one exemplar to be answered: accept an annotation with it first")
    return references[0] if len(references) == 1 else type(references[0]).mean(references)


def find_for_labels(predictor, query, references_by_label: dict, thresholds, image: np.ndarray | None = None
                    ) -> dict[str, list]:
    """Batch pre-annotation of one image: every label answered with its pooled exemplars, no box drawn (no size
    prior: the references come from other images). With the model's `detection_bank_seed` on and the image given,
    each label's answer is seeded in the image itself (`seeded_bank_answer`). With `detection_bank_answers` off
    (a version whose held-out slice said the bank does not pay) every label gets no instances. With
    `detection_skip_border` on, suggestions touching the image frame are dropped (`off_frame`).

    Args:
        query: the predictor's `EncodedImage` of the image.
        references_by_label: `{label: [ReferenceEmbedding, ...]}` (the exemplars of each label, encoded).
        thresholds: as `find_instances`.
        image: `(H, W, 3)` uint8, the image `query` encodes (needed to seed; None answers with the bank alone).

    Returns:
        `{label: [Instance, ...]}` in `references_by_label`'s order, each list best first; boxes are xyxy pixels of
        the encoded image.
    """
    if not predictor.config.detection_bank_answers:
        return {label: [] for label in references_by_label}
    found = {label: _bank_answer(predictor, query, references, thresholds, image)
             for label, references in references_by_label.items()}
    if predictor.config.detection_one_label:
        found = one_label_per_object(found, thresholds.nms_threshold)
    return found


def _bank_answer(predictor, query, references: list, thresholds, image: np.ndarray | None) -> list:
    """One label's answer from its exemplars, pooled, seeded in the image when the model says so and the image is
    given, without suggestions on the frame when the model skips them."""
    reference = pooled_reference(references)
    seed = predictor.config.detection_bank_seed if image is not None else 0.0
    if seed:
        answer = seeded_bank_answer(predictor, image, query, reference, thresholds, seed)
    else:
        answer = find_instances(predictor, query, reference, thresholds)
    return off_frame(predictor, answer, query.image_shape)


def one_label_per_object(found: dict[str, list], iou_threshold: float) -> dict[str, list]:
    """Each object answered under one label only: over every label's instances, best score first, an instance whose
    box overlaps an already kept instance of ANOTHER label (box IoU >= `iou_threshold`) is dropped. Greedy by score,
    so the result at a threshold is the result at a lower one cut there.

    Args:
        found: `{label: [Instance, ...]}` (boxes xyxy pixels of one image), each list best first.
        iou_threshold: the overlap that makes two boxes one object (the service's NMS threshold).

    Returns:
        `{label: [Instance, ...]}` with the same labels in the same order, each list still best first.
    """
    entries = sorted(((float(i.score), n, label, i) for label, items in found.items() for n, i in enumerate(items)),
                     key=lambda e: -e[0])
    out: dict[str, list] = {label: [] for label in found}
    for j in _greedily_kept([e[3] for e in entries], iou_threshold, labels=[e[2] for e in entries]):
        out[entries[j][2]].append(entries[j][3])
    return out


def seeded_bank_answer(predictor, image: np.ndarray, query, reference, thresholds, seed_score: float, *,
                       cap: bool = False) -> list:
    """The bank's answer for one label, seeded in the image: the pooled exemplars find the kind, the image's own
    instance of it finds the others.

    The network is strongest with a reference drawn in the image itself (same lighting, scale and background), and
    weakest with one pooled from other images. So the bank answers first; when its best suggestion scores at least
    `seed_score`, that suggestion is taken as a box drawn in the image, and the image is answered again exactly as
    an interactive request (`find_for_drawn_boxes`: the size prior, tiles for small references, the reference
    gate). If the gate withdraws that answer (the network does not recognise its own seed), the bank's answer stands;
    an answer with nothing above the threshold is not withdrawn. An answer at a threshold is the answer at a lower
    one cut there: neither the seed nor the gate's verdict depends on the threshold.

    Args:
        image: `(H, W, 3)` uint8, the image `query` encodes; reference: the label's pooled `ReferenceEmbedding`.
        thresholds: as `find_instances`; seed_score: the score the bank's best suggestion needs to seed (> 0).
        cap: instead of `seed_score`, any best suggestion that reaches the asked threshold seeds (a lower one could
            not show under the cap), and no score of the second answer exceeds the seed's own bank score (the
            kind's presence is the bank's evidence; the second answer only finds its siblings).

    Returns:
        The predictor's `Instance`s in `image`'s pixels, best first, at most `thresholds.max_instances`.
    """
    asked = _asked_score(predictor, thresholds)
    needed = asked if cap else seed_score
    looked = AnswerThresholds(min(asked, needed), thresholds.nms_threshold, thresholds.max_instances)
    first = find_instances(predictor, query, reference, looked)
    if not first or first[0].score < needed:
        return [i for i in first if i.score >= asked]
    box = np.asarray(first[0].box, np.float32).reshape(1, 4)
    second = _gated_answer(predictor, image, query, predictor.encode_references(image, box), thresholds, box)
    if second is None:
        return [i for i in first if i.score >= asked]
    if cap:
        ceiling = float(first[0].score)
        second = [dataclasses.replace(i, score=min(float(i.score), ceiling)) for i in second]
    return second
