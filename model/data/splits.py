"""Class splits for the one-shot protocol: which categories are seen in training and which are held out.

The paper (model-spec §5.1) holds out every 4th of the 80 COCO classes in their contiguous order: split k (1..4)
holds out matterport's 1-based internal ids `4*i + k`, i = 0..19, i.e. positions `4*i + k - 1` of `COCO_CLASSES`.
Splits are stored as category *names*, so they apply to any dataset that uses COCO names (COCO JSON, coco128-seg).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["COCO_CLASSES", "ClassSelection", "ClassSplit", "paper_split"]

COCO_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
)  # fmt: skip
"""The 80 COCO classes in the contiguous order (sorted COCO category ids), as in coco128-seg's classes.txt."""

PAPER_SPLITS = (1, 2, 3, 4)
_SPLIT_STRIDE = 4
_HELD_OUT_PER_SPLIT = 20


class ClassSelection(StrEnum):
    """Which classes an evaluation or training run uses (`--classes` of the CLI)."""

    TRAIN = "train"
    HELD_OUT = "held-out"
    ALL = "all"


@dataclass(frozen=True)
class ClassSplit:
    """A set of held-out category names; every other category is a training class.

    Attributes:
        held_out: names never used as targets or references in training episodes.
        name: for reports, e.g. "coco-split-1" or "custom".
    """

    held_out: frozenset[str]
    name: str = "custom"

    @classmethod
    def from_names(cls, held_out: Collection[str], name: str = "custom") -> ClassSplit:
        """An explicit held-out list (for data that is not COCO)."""
        return cls(frozenset(held_out), name)

    def train_classes(self, categories: Sequence[str]) -> tuple[str, ...]:
        """The categories of `categories` not held out, in dataset order."""
        return tuple(c for c in categories if c not in self.held_out)

    def held_out_classes(self, categories: Sequence[str]) -> tuple[str, ...]:
        """The held-out categories present in `categories`, in dataset order."""
        return tuple(c for c in categories if c in self.held_out)

    def select(self, categories: Sequence[str], selection: ClassSelection | str) -> tuple[str, ...]:
        """The active classes for `selection` ("train", "held-out" or "all")."""
        selection = ClassSelection(selection)
        if selection is ClassSelection.TRAIN:
            return self.train_classes(categories)
        if selection is ClassSelection.HELD_OUT:
            return self.held_out_classes(categories)
        return tuple(categories)

    def check_against(self, categories: Sequence[str]) -> None:
        """ValueError when a held-out name is not a category of the dataset (a typo would silently train on it)."""
        unknown = sorted(self.held_out - set(categories))
        if unknown:
            raise ValueError(
                f"held-out classes {unknown} are not categories of the dataset {list(categories)}"
            )


def paper_split(k: int) -> ClassSplit:
    """The paper's COCO split k (1..4): holds out internal ids 4*i + k (1-based), i = 0..19.

    Example: split 1 holds out person, airplane, boat, parking meter, dog, ... (model-spec §5.1 table).
    """
    if k not in PAPER_SPLITS:
        raise ValueError(f"paper split must be one of {PAPER_SPLITS}, got {k!r}")
    held_out = [COCO_CLASSES[_SPLIT_STRIDE * i + k - 1] for i in range(_HELD_OUT_PER_SPLIT)]
    return ClassSplit(frozenset(held_out), name=f"coco-split-{k}")
