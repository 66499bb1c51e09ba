"""Early stopping on validation classes: score the in-training weights every N steps, keep the best step's.

Validation classes are held out from training like the test classes but are a different set (the paper's COCO
split 2 when split 1 is the test split), so choosing the step on them never looks at the test classes. Each
validation runs the evaluation protocol of `python -m model evaluate --classes held-out --other-image-references`
(`model.evaluation.protocol.evaluate`, references from other images) on the first `max_images` images with a fixed
seed, so successive validations draw the same references and differ only by the weights. The network runs through
`Predictor`, i.e. its inference path (`encode_image`/`encode_references`/`detect`, BatchNorm in inference mode), and
nothing of the training state (weights, optimizer, episode generator) is touched; the best weights are copied to
host memory and put back at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from model.data.annotations import Dataset
from model.data.episodes import EpisodeSampler
from model.data.splits import paper_split
from model.evaluation.predictor_adapter import PAPER_SCORE_THRESHOLD, predictor_predict_fn
from model.evaluation.protocol import evaluate

__all__ = [
    "DEFAULT_VALIDATION_IMAGES",
    "DEFAULT_VALIDATION_RUNS",
    "EarlyStopping",
    "ValidationPoint",
    "ValidationSettings",
    "score_validation",
    "select_validation_classes",
]

DEFAULT_VALIDATION_IMAGES = 32
"""Query images per validation (the first M of the dataset; references come from all of it): bounds the cost."""
DEFAULT_VALIDATION_RUNS = 1
"""Repetitions with fresh references per validation; the same seed every time, so one run already compares steps."""
CHOSEN_BY = "validation classes (held out from training, disjoint from the test classes; the test classes were not used)"
"""Recorded in the model card: what the checkpoint's step was chosen on."""


@dataclass(frozen=True)
class ValidationSettings:
    """When and how to validate.

    Attributes:
        every: steps between validations (the last step is validated too); must be >= 1.
        max_images: query images per validation (the first M); None = all.
        runs: repetitions with fresh references (the same `seed` each validation).
        seed: seeds the references, identical for every validation so their scores are comparable.
        score_threshold: detections below this are not returned (0.7, as `python -m model evaluate`).
        patience: stop after this many validations without improvement; 0 = train all steps.
    """

    every: int
    max_images: int | None = DEFAULT_VALIDATION_IMAGES
    runs: int = DEFAULT_VALIDATION_RUNS
    seed: int = 0
    score_threshold: float = PAPER_SCORE_THRESHOLD
    patience: int = 0

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError(f"validate every N steps needs N >= 1, got {self.every}")
        if self.runs < 1 or (self.max_images is not None and self.max_images < 1):
            raise ValueError(f"validation runs and images must be >= 1, got runs={self.runs}, images={self.max_images}")
        if self.patience < 0:
            raise ValueError(f"patience must be >= 0 (0 = never stop early), got {self.patience}")
        if not 0.0 <= self.score_threshold <= 1.0:
            raise ValueError(f"validation score threshold must be in [0, 1], got {self.score_threshold}")


@dataclass(frozen=True)
class ValidationPoint:
    """One validation. box_ap50, recall, precision: fractions in [0, 1], mean over runs (precision None when
    nothing was returned); seconds: wall time of this validation."""

    step: int
    box_ap50: float
    recall: float
    precision: float | None
    seconds: float

    @property
    def rank(self) -> tuple[float, float]:
        """Higher is better: box AP50, then recall (breaks ties such as 0 AP50 early in training)."""
        return (self.box_ap50, self.recall)


def select_validation_classes(
    categories: Sequence[str],
    held_out: Collection[str],
    *,
    split: int | None = None,
    names: Sequence[str] | None = None,
) -> tuple[str, ...]:
    """The validation classes of `--validation-split` or `--validation-classes`, checked to be held out.

    Args:
        categories: the dataset's category names.
        held_out: every class kept out of training (`--split`/`--held-out`): test and validation classes.
        split: a paper COCO split (1..4) whose classes validate; exclusive with `names`.
        names: explicit validation class names.

    Returns:
        the validation classes present in `categories`, in dataset order.

    Raises:
        ValueError: neither or both given, a name is unknown, or a validation class is trained on.
    """
    if (split is None) == (names is None):
        raise ValueError("give the validation classes either as a paper split or as names (exactly one of them)")
    held_out = frozenset(held_out)
    if split is not None:
        wanted = paper_split(split).held_out
        trained = sorted(c for c in wanted - held_out if c in categories)
        if trained:
            raise ValueError(
                f"--validation-split {split}: its classes {trained} are training classes; validation classes must "
                f"be held out from training too: add {split} to --split (e.g. --split 1 {split}: split 1 = test, "
                f"split {split} = validation)"
            )
        chosen = tuple(c for c in categories if c in wanted)
        if not chosen:
            raise ValueError(f"--validation-split {split}: none of its classes is a category of the dataset")
        return chosen
    unknown = sorted(set(names) - set(categories))
    if unknown:
        raise ValueError(f"--validation-classes {unknown} are not categories of the dataset {list(categories)}")
    trained = sorted(set(names) - held_out)
    if trained:
        raise ValueError(
            f"--validation-classes {trained} are training classes; validation classes must be held out from "
            f"training too: add them to --held-out (or use a --split that holds them out)"
        )
    return tuple(c for c in categories if c in set(names))


def score_validation(predictor, dataset: Dataset, classes: Sequence[str], settings: ValidationSettings) -> dict:
    """One validation: the one-shot protocol with references from other images, on `classes`.

    Args:
        predictor: a `model.predictor.Predictor` over the in-training network.

    Returns:
        `{"box_ap50", "recall", "precision"}` means over runs (fractions; precision None when nothing returned).
    """
    predict_fn = predictor_predict_fn(predictor, score_threshold=settings.score_threshold)
    report = evaluate(
        predict_fn, dataset, classes, runs=settings.runs, seed=settings.seed, max_images=settings.max_images,
        allow_same_image_reference=False, max_examples=0, progress=False,
    )
    return {key: report[key]["mean"] for key in ("box_ap50", "recall", "precision")}


class EarlyStopping:
    """Validates a model every `settings.every` steps on `classes` and keeps the best step's weights.

    Args:
        dataset: images holding the validation classes (usually the training dataset: its validation-class
            instances are never targets or references in training).
        classes: the validation class names (`select_validation_classes`).
        settings: `ValidationSettings`.
        source: how the classes were chosen, for the card (e.g. "coco-split-2", "explicit").
        on_validation: called with each `ValidationPoint` (logs, progress bars).

    Raises:
        ValueError: the first `max_images` images hold no validation query with a reference in another image.
    """

    def __init__(
        self,
        dataset: Dataset,
        classes: Sequence[str],
        settings: ValidationSettings,
        *,
        source: str = "explicit",
        on_validation: Callable[[ValidationPoint], None] | None = None,
    ) -> None:
        self.dataset = dataset
        self.classes = tuple(classes)
        self.settings = settings
        self.source = source
        self.on_validation = on_validation
        self._predictor = None
        self.reset()
        sampler = EpisodeSampler(dataset, self.classes, allow_same_image_reference=False)
        limit = len(dataset) if settings.max_images is None else min(settings.max_images, len(dataset))
        self.num_queries = sum(len(sampler.eligible_categories(i)) for i in range(limit))
        if not self.num_queries:
            raise ValueError(
                f"the first {limit} images hold no instance of the validation classes {list(self.classes)} with a "
                f"reference in another image: raise --validation-images or choose other validation classes"
            )

    def reset(self) -> None:
        """Forget earlier validations (`Trainer.run` calls it, so one instance can serve several runs)."""
        self.curve: list[ValidationPoint] = []
        self.best: ValidationPoint | None = None
        self._best_weights: list[np.ndarray] | None = None
        self._stale = 0

    def due(self, step: int) -> bool:
        return step % self.settings.every == 0

    @property
    def should_stop(self) -> bool:
        """True once `patience` validations in a row did not improve on the best."""
        return bool(self.settings.patience) and self._stale >= self.settings.patience

    def validate(self, model, step: int) -> ValidationPoint:
        """Score the current weights of `model`; keep a copy of them when they are the best so far."""
        started = time.monotonic()
        scores = score_validation(self._predictor_of(model), self.dataset, self.classes, self.settings)
        point = ValidationPoint(
            step, float(scores["box_ap50"]), float(scores["recall"]),
            None if scores["precision"] is None else float(scores["precision"]), time.monotonic() - started,
        )
        self.curve.append(point)
        if self.best is None or point.rank > self.best.rank:
            self.best, self._stale = point, 0
            self._best_weights = [np.array(w, copy=True) for w in model.get_weights()]
        else:
            self._stale += 1
        if self.on_validation:
            self.on_validation(point)
        return point

    def restore_best(self, model) -> int | None:
        """Put the best validated weights back into `model`; returns their step (None before any validation)."""
        if self._best_weights is None:
            return None
        model.set_weights(self._best_weights)
        return self.best.step

    def card_section(self, stopped_early: bool | None = None) -> dict:
        """The model card's `training.validation`: settings, the curve, the chosen step and what chose it.

        `stopped_early`: None for a checkpoint written during training, whose weights are the current step's: the
        card then names the best step so far (`best_so_far_step`), not a choice. True/False for the final one."""
        return {
            "classes": list(self.classes),
            "source": self.source,
            "protocol": "one-shot, references from other images (as python -m model evaluate --classes held-out "
                        "--other-image-references), box AP50 on the validation classes",
            "settings": asdict(self.settings),
            "num_queries": self.num_queries,
            "curve": [
                {"step": p.step, "box_ap50": p.box_ap50, "recall": p.recall, "precision": p.precision,
                 "seconds": round(p.seconds, 1)}
                for p in self.curve
            ],
            **({"best_so_far_step": self.best.step if self.best else None} if stopped_early is None else {
                "chosen_step": self.best.step if self.best else None,
                "chosen_by": CHOSEN_BY,
                "stopped_early": stopped_early,
            }),
        }

    def _predictor_of(self, model):
        # One Predictor per model: its tf.functions read the variables, so later weights are seen without retracing.
        if self._predictor is None or self._predictor.model is not model:
            from model.predictor import Predictor  # deferred: TensorFlow

            self._predictor = Predictor(model, version="validation")
        return self._predictor
