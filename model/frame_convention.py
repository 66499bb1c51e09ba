"""Whether a project labels objects cut by the image frame, read off its accepted labels.

Annotation jobs differ here: COCO labels every visible part of an object, while many counting jobs (droplets, cells,
colonies) leave out objects the frame cuts. A suggestion on a cut object is then one more deletion for the annotator,
and a one-shot model cannot know the convention. A fine-tuned child can: if the project's accepted objects, at their
sizes, should often touch the frame but almost never do (fewer than chance allows, `at_most_by_chance`), the project
leaves cut objects out, and the child's answers drop suggestions touching the frame (`model.answering`, config
`detection_skip_border`).

Boxes are `(N, 4)` xyxy pixels; image shapes `(H, W)`. Pure NumPy; tested alone (tests/model/test_frame_convention.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = ["BORDER_MARGIN", "CUT_BY_MASK", "CUT_CONTACT", "EVIDENCE_LEVEL", "LABELS_BY_TEST", "MIN_EXPECTED_AT_FRAME",
           "SKIP_RATIO", "FrameConvention", "at_most_by_chance", "cut_by_frame", "expected_at_frame", "keep_off_frame",
           "learn_frame_convention", "touches_frame"]

BORDER_MARGIN = 0.002
"""A box touches the frame when it lies within this share of the image's width (x) or height (y) of an edge."""
MIN_EXPECTED_AT_FRAME = 10.0
"""The count rule (`LABELS_BY_TEST` False): the evidence needed, about this many accepted objects would touch the
frame if cut objects were labelled."""
SKIP_RATIO = 0.1
"""The count rule: the project leaves cut objects out when at most this share of that expected number touches the
frame."""
LABELS_BY_TEST = True
"""Read the labels by a test (`at_most_by_chance` below `EVIDENCE_LEVEL`, since session 26) instead of the count rule
(`MIN_EXPECTED_AT_FRAME`, `SKIP_RATIO`, sessions 16-25): with objects small against the frame, 4 accepted images
hold too few expected at the frame for the count (sessions-cut children never read it), where none touching of 8
expected is already strong evidence (docs/learning-loop.md, session 26)."""
EVIDENCE_LEVEL = 0.01
"""Under `LABELS_BY_TEST`, the project leaves cut objects out when so few touching ones would happen by chance less
often than this if cut objects were labelled."""
CUT_CONTACT = 0.5
"""A found object whose box touches the frame is cut by it when its mask covers at least this share of the box's
extent along that edge, in the image's outermost row or column: the frame meets a cut object along its whole visible
width, an object lying against the frame at a point or a corner."""
CUT_BY_MASK = False
"""Under a skip convention, drop only found objects cut by the frame by their mask (`cut_by_frame`) instead of every
box touching it (session 16's rule). Session 25 measured both (docs/learning-loop.md)."""


def touches_frame(boxes, image_shape: tuple[int, int], margin: float = BORDER_MARGIN) -> np.ndarray:
    """`(N,)` bool: box n reaches within `margin` x the side of an edge of an `image_shape` `(H, W)` image."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    height, width = float(image_shape[0]), float(image_shape[1])
    mx, my = margin * width, margin * height
    return (boxes[:, 0] <= mx) | (boxes[:, 1] <= my) | (boxes[:, 2] >= width - mx) | (boxes[:, 3] >= height - my)


def expected_at_frame(boxes, image_shape: tuple[int, int]) -> float:
    """About how many of these objects would touch the frame if objects of their sizes lay anywhere, cut ones
    labelled: an object `w` wide whose centre is uniform over the width crosses a side edge with chance `w / W`, so
    each object counts `min(1, w / W + h / H)`."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    height, width = float(image_shape[0]), float(image_shape[1])
    chance = (boxes[:, 2] - boxes[:, 0]) / width + (boxes[:, 3] - boxes[:, 1]) / height
    return float(np.minimum(1.0, np.maximum(chance, 0.0)).sum())


@dataclass(frozen=True)
class FrameConvention:
    """What a project's accepted labels say about objects cut by the frame.

    Attributes:
        instances: accepted objects counted; touching: how many of them touch the frame; expected: how many would
            (`expected_at_frame`); skip: the project leaves cut objects out (suggestions touching the frame are
            dropped).
    """

    instances: int
    touching: int
    expected: float
    skip: bool

    def evidence(self) -> str:
        """What the labels show, in words."""
        return (f"{self.touching} of {self.instances} accepted objects touch the frame where about "
                f"{self.expected:.1f} would if cut objects were labelled")

    def to_dict(self) -> dict:
        why = self.evidence()
        if self.skip:
            why += ": the project leaves them out, so suggestions touching the frame are dropped"
        elif LABELS_BY_TEST and at_most_by_chance(0, self.expected) >= EVIDENCE_LEVEL:
            why += (f": too few to tell (needs about {-math.log(EVIDENCE_LEVEL):.1f}), cut objects are suggested")
        elif not LABELS_BY_TEST and self.expected < MIN_EXPECTED_AT_FRAME:
            why += f": too few to tell (needs about {MIN_EXPECTED_AT_FRAME:g}), cut objects are suggested"
        else:
            why += ": the project labels them, so they are suggested"
        return {"instances": self.instances, "touching": self.touching, "expected": round(self.expected, 2),
                "skip": self.skip, "why": why}


def at_most_by_chance(touching: int, expected: float) -> float:
    """P(X <= `touching`) for X ~ Poisson(`expected`): how often so few accepted objects would touch the frame if cut
    objects were labelled (the count of objects touching is a sum of rare independent events, about Poisson)."""
    if expected <= 0.0:
        return 1.0
    term = total = math.exp(-expected)
    for count in range(1, max(int(touching), 0) + 1):
        term *= expected / count
        total += term
    return min(1.0, total)


def learn_frame_convention(images: Iterable[tuple[np.ndarray, tuple[int, int]]]) -> FrameConvention:
    """The convention of accepted labels: `images` yields `(boxes (N, 4) xyxy, (H, W))` per accepted image.

    Skip iff so few touching ones would happen by chance (`at_most_by_chance`) less often than `EVIDENCE_LEVEL` if
    cut objects were labelled (without `LABELS_BY_TEST`: iff the expected number is at least `MIN_EXPECTED_AT_FRAME`
    and the touching ones are at most `SKIP_RATIO` of it). With little evidence (small objects, few images) cut
    objects stay suggested, as a one-shot model does.
    """
    instances = touching = 0
    expected = 0.0
    for boxes, shape in images:
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        instances += len(boxes)
        touching += int(touches_frame(boxes, shape).sum())
        expected += expected_at_frame(boxes, shape)
    if LABELS_BY_TEST:
        skip = at_most_by_chance(touching, expected) < EVIDENCE_LEVEL
    else:
        skip = expected >= MIN_EXPECTED_AT_FRAME and touching <= SKIP_RATIO * expected
    return FrameConvention(instances, touching, expected, bool(skip))


def cut_by_frame(boxes, masks, image_shape: tuple[int, int], margin: float = BORDER_MARGIN) -> np.ndarray:
    """`(N,)` bool: box n touches the frame (`touches_frame`) and, on an edge it touches, its mask covers at least
    `CUT_CONTACT` of the box's extent along that edge in the image's outermost row or column.

    Args:
        boxes: `(N, 4)` xyxy pixels; masks: `N` `(H, W)` bool masks of the whole `image_shape` `(H, W)` image (a
            mask None counts its box alone).
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    touching = touches_frame(boxes, image_shape, margin)
    height, width = float(image_shape[0]), float(image_shape[1])
    mx, my = margin * width, margin * height
    cut = np.zeros(len(boxes), bool)
    for n in np.flatnonzero(touching):
        mask = masks[n]
        if mask is None:
            cut[n] = True
            continue
        x1, y1, x2, y2 = boxes[n]
        # (touches this edge, mask pixels in the image's outermost line there, the box's extent along it)
        edges = ((x1 <= mx, mask[:, 0], y2 - y1), (x2 >= width - mx, mask[:, -1], y2 - y1),
                 (y1 <= my, mask[0, :], x2 - x1), (y2 >= height - my, mask[-1, :], x2 - x1))
        cut[n] = any(at and np.count_nonzero(line) >= CUT_CONTACT * max(extent, 1.0) for at, line, extent in edges)
    return cut


def keep_off_frame(found_boxes, image_shape: tuple[int, int], drawn_boxes=None, masks=None) -> np.ndarray:
    """`(P,)` bool: which found boxes to keep under a skip convention: those not touching the frame or, with
    `CUT_BY_MASK` and their `masks` given, those their mask says the frame does not cut (`cut_by_frame`). When a
    drawn box itself touches the frame the annotator is labelling a cut object, and every box is kept.

    Args:
        found_boxes: `(P, 4)` xyxy pixels; image_shape: `(H, W)` of their image; drawn_boxes: `(K, 4)` or None;
            masks: `P` `(H, W)` bool masks of the found objects, or None.
    """
    found = np.asarray(found_boxes, np.float64).reshape(-1, 4)
    if drawn_boxes is not None and touches_frame(drawn_boxes, image_shape).any():
        return np.ones(len(found), bool)
    if CUT_BY_MASK and masks is not None:
        return ~cut_by_frame(found, masks, image_shape)
    return ~touches_frame(found, image_shape)
