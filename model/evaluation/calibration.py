"""Calibrated defaults: the score threshold a checkpoint answers with when the service sets none.

`choose_threshold` picks, from one threshold sweep per development set, the threshold of the lowest mean effort over
the sets (the annotator's measure, model/evaluation/effort.py). Thresholds whose mean effort is within a tie margin
of the best count as ties. By default the highest of them wins: when unsure the product suggests less. A fine-tuned
version's threshold, chosen on a held-out slice of one or two images whose sweep is often flat over half the
range, takes the middle of its ties instead (`tie_break="middle"`, the recipe's since session 21). The margin is
`TIE_EFFORT` for a checkpoint's development sets (hundreds of objects) and one annotator action's worth for a small
set (`tie_for`: a project version's held-out slice).

`calibrate_checkpoint` runs the sweeps with the model answering as the worker does and writes a copy of the
checkpoint whose config carries the chosen drawn-box threshold (`detection_min_confidence`, or a verifier's
`detection_verifier_threshold`; any inference settings changed with it),
with the sweeps in its card. Pure choice, no TensorFlow in this module's top level.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["SWEEP", "TIE_BREAKS", "TIE_EFFORT", "Calibration", "DevelopmentSet", "calibrate_checkpoint",
           "choose_threshold", "noise_tie", "tie_for"]

SWEEP = tuple(round(float(t), 2) for t in np.arange(0.30, 0.96, 0.05))
"""Thresholds a calibration tries."""
TIE_EFFORT = 0.005
"""Mean efforts this close to the best are ties; the highest threshold among them wins (suggest less)."""
TIE_BREAKS = ("highest", "middle")
"""Which of the tied thresholds wins: the highest (suggest less), or the median one (the higher of the two middle
ones for an even count: the threshold farthest from both ends of the tied range)."""
_ROUNDING = 1e-9
"""Added to a tie margin so that a gap of exactly the margin (k/n against (k+1)/n) is a tie whatever the rounding."""


def tie_for(instances: int) -> float:
    """The tie margin on a set of `instances` objects: one annotator action's worth of effort (1 / instances), never
    less than `TIE_EFFORT`. On a project's held-out slice of one or two images (a few dozen objects), thresholds
    whose efforts differ by one action or less are not told apart by it, so the higher one is taken (suggest less).
    (Over two modes the mean moves by half an action per action in one mode: about one action per mode.)

    Raises:
        ValueError: `instances` < 1.
    """
    if instances < 1:
        raise ValueError(f"a tie margin needs at least one instance, got {instances}")
    return max(TIE_EFFORT, 1.0 / instances)


def noise_tie(effort: float, instances: int) -> float:
    """About the standard error of an effort `effort` measured on `instances` objects, `sqrt(effort / instances)`
    (each object's actions counted as a Poisson draw): a version's held-out slice of 10-30 objects measures an
    effort of 0.2 to about +/-0.1, so thresholds whose efforts differ by less are not told apart by it (the recipe's
    step 5 since session 25, docs/learning-loop.md).

    Raises:
        ValueError: `instances` < 1.
    """
    if instances < 1:
        raise ValueError(f"a tie margin needs at least one instance, got {instances}")
    return float(np.sqrt(max(float(effort), 0.0) / instances))


@dataclass(frozen=True)
class Calibration:
    """The chosen threshold and what it was chosen on.

    Attributes:
        threshold: the chosen score threshold.
        thresholds: the sweep; efforts: `{set name: effort per threshold}`; mean_effort: per threshold.
        tie: the margin within which mean efforts counted as ties; tie_break: which tie won (`TIE_BREAKS`).
        preferred: per threshold, whether it was preferred among the ties (None: no preference; `choose_threshold`).
    """

    threshold: float
    thresholds: tuple[float, ...]
    efforts: dict[str, tuple[float, ...]]
    mean_effort: tuple[float, ...]
    tie: float = TIE_EFFORT
    tie_break: str = "highest"
    preferred: tuple[bool, ...] | None = None

    def ties(self) -> tuple[float, ...]:
        """The thresholds whose mean effort is within `tie` of the best (the chosen one is one of them)."""
        return tuple(self.thresholds[i] for i in _tied(self.mean_effort, self.tie))

    def to_dict(self) -> dict:
        return {"threshold": self.threshold, "thresholds": list(self.thresholds),
                "efforts": {k: [round(v, 4) for v in vs] for k, vs in self.efforts.items()},
                "mean_effort": [round(v, 4) for v in self.mean_effort], "tie_effort": self.tie,
                "tie_break": self.tie_break} | ({} if self.preferred is None else {"preferred": list(self.preferred)})


def choose_threshold(thresholds: Sequence[float], efforts: Mapping[str, Sequence[float]], *,
                     tie: float = TIE_EFFORT, tie_break: str = "highest",
                     prefer: Sequence[bool] | None = None) -> Calibration:
    """The threshold of the lowest mean effort over the sets (module docstring).

    Args:
        thresholds: the sweep, any order; efforts: per set name, the effort at each threshold (same order).
        tie: mean efforts within this of the best are ties (default `TIE_EFFORT`; `tie_for` on a small set).
        tie_break: which tie wins, one of `TIE_BREAKS`.
        prefer: per threshold (same order), whether it is preferred: when any tie is preferred, the tie break picks
            among the preferred ties only (a version's step 5: those where its bank pays); None: no preference.

    Raises:
        ValueError: no sets, a set whose efforts (or `prefer`) do not match the thresholds, or an unknown tie break.
    """
    if tie_break not in TIE_BREAKS:
        raise ValueError(f"tie_break {tie_break!r}: use one of {', '.join(TIE_BREAKS)}")
    if not efforts:
        raise ValueError("calibration needs at least one development set")
    for name, values in efforts.items():
        if len(values) != len(thresholds):
            raise ValueError(f"set {name!r} has {len(values)} efforts for {len(thresholds)} thresholds")
    if prefer is not None and len(prefer) != len(thresholds):
        raise ValueError(f"{len(prefer)} preferences for {len(thresholds)} thresholds")
    table = np.array([list(values) for values in efforts.values()], np.float64)
    mean = table.mean(axis=0)
    tied = sorted(_tied(mean, tie), key=lambda i: thresholds[i])
    if prefer is not None and any(prefer[i] for i in tied):
        tied = [i for i in tied if prefer[i]]
    best = tied[-1] if tie_break == "highest" else tied[len(tied) // 2]
    return Calibration(float(thresholds[best]), tuple(float(t) for t in thresholds),
                       {k: tuple(float(v) for v in vs) for k, vs in efforts.items()}, tuple(float(v) for v in mean),
                       tie, tie_break, None if prefer is None else tuple(bool(p) for p in prefer))


def _tied(mean: Sequence[float], tie: float) -> np.ndarray:
    """Indices of the mean efforts within `tie` of the lowest (`_ROUNDING` included)."""
    mean = np.asarray(mean, np.float64)
    return np.flatnonzero(mean <= mean.min() + tie + _ROUNDING)


@dataclass(frozen=True)
class DevelopmentSet:
    """A labelled set to calibrate on: `name`, the `Dataset`, its classes and seeds (model/evaluation/effort_runner)."""

    name: str
    dataset: object
    classes: tuple[str, ...]
    seeds: int = 1


def calibrate_checkpoint(weights: str | Path, sets: Sequence[DevelopmentSet], out: str | Path, *,
                         config_changes: Mapping | None = None, version: str | None = None,
                         settings=None, thresholds: Sequence[float] = SWEEP, precision: str = "float32",
                         on_set=None) -> Calibration:
    """Sweep `thresholds` on `sets` with the checkpoint (with `config_changes`) answering as the worker does, and
    write the calibrated copy to `out` (weights + card).

    Args:
        settings: a `common.settings.Settings` for NMS, the cap and decoding (default: from the environment).
        precision: the precision the sweep answers in ("float32" or "bfloat16", `model.builder.PRECISIONS`): the
            service's, so the threshold is chosen on the answers users get. The copy written keeps float32 weights.
        on_set: called with `(name, EffortRun)` after each set.

    Returns:
        The `Calibration` (also in the new card's `metrics["calibration"]`).
    """
    from model.answering import AnswerThresholds
    from model.checkpoint import ModelCard, load_checkpoint, save_checkpoint
    from model.evaluation.effort_runner import plan_trials, run_effort
    from model.evaluation.service_answerer import ServiceAnswerer
    from model.predictor import Predictor

    if settings is None:
        from common.settings import Settings

        settings = Settings.from_env()
    changes = dict(config_changes or {})
    model, card = load_checkpoint(weights, precision=precision, **changes)  # bfloat16 keeps float32 variables
    predictor = Predictor(model, version=card.version, card=card, fold_batch_norm=True)
    answer_at = AnswerThresholds(min(thresholds), settings.nms_threshold, settings.max_instances)
    efforts, figures = {}, {}
    for development in sets:
        answerer = ServiceAnswerer(predictor, answer_at, decode_factor=settings.decode_factor)
        trials = plan_trials(development.dataset, development.classes, development.seeds)
        if not trials:
            raise ValueError(f"development set {development.name!r} has no image with 2 or more instances of a class")
        run = run_effort(development.dataset, trials, answerer, thresholds=tuple(thresholds))
        efforts[development.name] = [run.summary(i).effort for i in range(len(thresholds))]
        figures[development.name] = [run.summary(i).to_dict() for i in range(len(thresholds))]
        if on_set:
            on_set(development.name, run)
    calibration = choose_threshold(tuple(thresholds), efforts)
    model.config = model.config.with_drawn_box_threshold(calibration.threshold)
    new_card = ModelCard(version=version or f"{card.version}-calibrated", preset=card.preset, config={},
                         parent=card.version, training=dict(card.training), metrics=dict(card.metrics),
                         notes=card.notes)
    new_card.metrics["calibration"] = {**calibration.to_dict(), "config_changes": changes, "precision": precision,
                                       "sets": {s.name: {"classes": len(s.classes), "seeds": s.seeds}
                                                for s in sets},
                                       "figures": figures}
    save_checkpoint(model, out, new_card)
    return calibration
