"""Step 3's witness: when the held-out slice cannot tell whether to drop suggestions touching the image frame, the
parent answers the accepted images and says whether its suggestions there are objects the labels leave out.

Why: a project's labels can say it leaves objects cut by the frame out (`model.frame_convention`), but the recipe
keeps that skip only where it does not cost on the held-out slice, and a slice of one frame often has nothing at its
edge: both judgements are equal and the tie tells nothing. The accepted images themselves hold more frame edge. The
child trained on them, so it is no witness there; the **parent** never saw them and answers them as it answers any
new image. With one box drawn per (image, label) with 2 or more instances, its suggestions that touch the frame
are either labelled objects lying against the edge (dropping them costs misses) or objects the labels leave out
(dropping them saves deletions). The skip is kept iff dropping them costs less, at the parent's own threshold, by more
than one action over the objects answered (`ONE_ACTION_TIE`, the recipe's near tie; without it, by any amount).

The parent answers as the worker does, without the project's exemplars (they are the images being answered). At
most `WITNESS_IMAGES` images are answered, twice each (with and without the skip).
"""

from __future__ import annotations

from dataclasses import dataclass

from model.data.annotations import Dataset
from model.evaluation.calibration import tie_for
from model.training.holdout_effort import INTERACTIVE, judge_on_holdout

__all__ = ["ONE_ACTION_TIE", "WITNESS_IMAGES", "FrameWitness", "frame_witness"]

WITNESS_IMAGES = 8
"""The most accepted images the parent answers for step 3's witness (the first of the training images): enough frame
edge to tell, and at most about 16 answers' time in the Train button's budget."""
ONE_ACTION_TIE = True
"""The witness says "skip" only when skipping costs less by more than one action over the objects it answered
(`tie_for`, the recipe's near tie, since session 26); False: by any amount, which let one action on 4 images decide
(docs/learning-loop.md, session 26)."""


@dataclass(frozen=True)
class FrameWitness:
    """The parent's efforts on the accepted images at its threshold, suggesting objects at the frame and skipping them.

    Attributes:
        images: images answered; threshold: the parent's score threshold; suggesting, skipping: effort (references
            included) without and with suggestions touching the frame dropped; tie: the margin skipping must win by
            (0: any; `tie_for` the objects answered under `ONE_ACTION_TIE`); instances: the objects answered.
    """

    images: int
    threshold: float
    suggesting: float
    skipping: float
    tie: float = 0.0
    instances: int = 0

    @property
    def says_skip(self) -> bool:
        """Dropping suggestions at the frame costs less by more than `tie`: they are objects the labels leave out."""
        return round(self.suggesting - self.skipping, 4) > round(self.tie, 4)

    def to_dict(self) -> dict:
        return {"images": self.images, "instances": self.instances, "threshold": self.threshold,
                "suggesting_cut_objects": round(self.suggesting, 4), "skipping_them": round(self.skipping, 4),
                "tie": round(self.tie, 4), "says_skip": self.says_skip}


def frame_witness(parent, accepted: Dataset, answer_settings) -> FrameWitness | None:
    """Ask the `parent` (`model.predictor.Predictor`, its config's `drawn_box_threshold` its threshold; its
    `detection_skip_border` is set for the second answer and put back) on the first `WITNESS_IMAGES` of the
    `accepted` images, one box drawn per (image, label) with 2+ instances.

    Returns:
        The `FrameWitness`, or None when no image holds 2 instances of a label (nothing to answer).
    """
    images = Dataset(accepted.categories, accepted.images[:WITNESS_IMAGES], accepted.name)
    no_exemplars = Dataset(accepted.categories, (), accepted.name)
    threshold = round(parent.config.drawn_box_threshold, 4)
    was = parent.config.detection_skip_border
    efforts, instances = [], 0
    try:
        for skip in (False, True):
            parent.config = parent.config.replace(detection_skip_border=skip)
            judgement = judge_on_holdout(parent, images, no_exemplars, answer_settings, modes=(INTERACTIVE,),
                                         extra_thresholds=(threshold,))
            if judgement is None:
                return None
            answered = judgement.figures_at(threshold)["modes"][INTERACTIVE]
            efforts.append(float(answered["effort"]))
            instances = int(answered["instances"])
    finally:
        parent.config = parent.config.replace(detection_skip_border=was)
    tie = tie_for(instances) if ONE_ACTION_TIE else 0.0
    return FrameWitness(len(images.images), threshold, efforts[0], efforts[1], tie, instances)
