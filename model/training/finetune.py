"""Fine-tune a checkpoint on one project's accepted annotations, and judge it against its parent.

This is the model side of "learning from accepted labels": the worker's training job builds a `Dataset` from the
project's annotation store (Label Studio results), calls `finetune`, and decides from the returned metrics whether
the new version becomes active.

Episodes: the reference is one accepted instance, the targets are every instance of the same label in another
accepted image (the same image only when a label occurs in one image alone). By default the backbone stays frozen
and the rest adapts, within a step and time budget. A held-out slice of the images (seeded, at least one image when
there are two or more) measures the new version and its parent with the same references.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.checkpoint import ModelCard, load_checkpoint, save_checkpoint
from model.data.annotations import Dataset
from model.data.episodes import EpisodeSampler
from model.training.trainer import StepLog, Trainer, TrainSettings

SUMMARY_KEYS = ("box_ap50", "mask_ap50", "recall", "precision")


@dataclass
class FineTuneSettings:
    """Budget and method of one fine-tuning run (defaults sized for a CPU worker: a few minutes).

    Attributes:
        max_steps / time_budget_s: stop at whichever comes first.
        layers: "heads" keeps the backbone frozen (default; safer on a handful of images), "all" adapts it too.
        holdout_fraction: share of the images kept out of training to compare the new version with its parent.
        eval_runs: repetitions of the one-shot evaluation on the held-out slice (fresh references each).
    """

    max_steps: int = 150
    time_budget_s: float = 300.0
    batch_size: int = 1
    learning_rate: float = 1e-4
    layers: str = "heads"
    holdout_fraction: float = 0.2
    eval_runs: int = 2
    augment: bool = True
    seed: int = 0


@dataclass
class FineTuneResult:
    """What a run produced: the new checkpoint, and the held-out metrics of the new version and its parent."""

    weights_path: Path
    card: ModelCard
    steps: int
    seconds: float
    train_images: int
    holdout_images: int
    metrics: dict = field(default_factory=dict)

    def not_worse_than_parent(self, key: str = "box_ap50", tolerance: float = 0.0) -> bool:
        """True when the new version's held-out `key` is at least the parent's minus `tolerance`.

        With no held-out slice (a project of one image) there is nothing to compare: True.
        """
        new, parent = self.metrics.get("new"), self.metrics.get("parent")
        if not new or not parent:
            return True
        return new[key]["mean"] >= parent[key]["mean"] - tolerance


def split_holdout(dataset: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """Split images into (train, holdout); the holdout has round(fraction * n) >= 1 images when n >= 2."""
    annotated = [img for img in dataset.images if img.instances]
    n = len(annotated)
    if n < 2 or fraction <= 0:
        return Dataset(dataset.categories, tuple(annotated), dataset.name), Dataset(dataset.categories, (), dataset.name)
    count = min(n - 1, max(1, round(fraction * n)))
    order = np.random.default_rng(seed).permutation(n)
    held = {int(i) for i in order[:count]}
    train = tuple(img for i, img in enumerate(annotated) if i not in held)
    holdout = tuple(img for i, img in enumerate(annotated) if i in held)
    return Dataset(dataset.categories, train, dataset.name), Dataset(dataset.categories, holdout, dataset.name)


def _sampler(dataset: Dataset, settings: FineTuneSettings) -> EpisodeSampler:
    from model.data.augment import Augmentation

    augmentation = Augmentation() if settings.augment else None
    try:
        return EpisodeSampler(dataset, allow_same_image_reference=False, augmentation=augmentation, seed=settings.seed)
    except ValueError:  # every label lives in a single image: the reference has to come from it
        return EpisodeSampler(dataset, allow_same_image_reference=True, augmentation=augmentation, seed=settings.seed)


def _evaluate(predictor, holdout: Dataset, reference_pool: Dataset, runs: int, seed: int) -> dict | None:
    """One-shot metrics on the held-out images, references drawn from train + holdout images."""
    from model.evaluation.predictor_adapter import predictor_predict_fn
    from model.evaluation.protocol import evaluate

    if not holdout.images:
        return None
    pool = Dataset(reference_pool.categories, holdout.images + reference_pool.images, reference_pool.name)
    report = evaluate(
        predictor_predict_fn(predictor, score_threshold=predictor.config.detection_min_confidence),
        pool, runs=runs, seed=seed, max_images=len(holdout.images), progress=False,
    )
    return {k: {"mean": report[k]["mean"], "ci95": report[k]["ci95"]} for k in SUMMARY_KEYS} | {
        "queries": report["num_queries"]}


def finetune(
    parent_checkpoint: str | Path,
    dataset: Dataset,
    out_path: str | Path,
    version: str,
    settings: FineTuneSettings | None = None,
    on_progress: Callable[[StepLog], None] | None = None,
) -> FineTuneResult:
    """Fine-tune `parent_checkpoint` on `dataset`, write `out_path` (+ card), and measure both on a held-out slice.

    Args:
        parent_checkpoint: our `.weights.h5` (its card names the preset and version).
        dataset: the project's accepted annotations (category = label).
        out_path: where the new `.weights.h5` goes (written atomically with its card).
        version: the new model version, e.g. "project-3-v4".
        on_progress: called every few steps with a `StepLog` (step, losses, seconds).
    Raises:
        ValueError: the dataset has no annotated image that can host an episode.
    """
    from model.predictor import Predictor

    settings = settings or FineTuneSettings()
    started = time.monotonic()
    train_set, holdout = split_holdout(dataset, settings.holdout_fraction, settings.seed)
    if not train_set.images:
        raise ValueError("no accepted annotation with an instance yet: nothing to fine-tune on")
    sampler = _sampler(train_set, settings)

    parent_model, parent_card = load_checkpoint(parent_checkpoint)
    parent = Predictor(parent_model, version=parent_card.version, fold_batch_norm=True)
    parent_metrics = _evaluate(parent, holdout, train_set, settings.eval_runs, settings.seed)

    model, _ = load_checkpoint(parent_checkpoint)  # a separate copy: the parent stays as it was
    train_settings = TrainSettings(
        steps=settings.max_steps, batch_size=settings.batch_size, layers=settings.layers,
        optimizer="adam", learning_rate=settings.learning_rate, log_every=5,
        time_budget_s=max(1.0, settings.time_budget_s - (time.monotonic() - started)), seed=settings.seed,
    )
    trainer = Trainer(model, iter(sampler), train_settings, on_step=on_progress)
    trainer.run()
    steps = trainer.history[-1].step if trainer.history else 0
    # Training is over: the evaluation may compute with a folded copy of the backbone.
    new_metrics = _evaluate(Predictor(model, version=version, fold_batch_norm=True), holdout, train_set,
                            settings.eval_runs, settings.seed)

    card = ModelCard(
        version=version,
        preset=parent_card.preset,
        config={},
        parent=parent_card.version,
        training={
            "kind": "fine-tune",
            "train_images": len(train_set.images),
            "holdout_images": len(holdout.images),
            "labels": list(dataset.categories),
            "steps": steps,
            "layers": settings.layers,
            "final_losses": trainer.history[-1].losses if trainer.history else {},
        },
        metrics={"holdout": {"new": new_metrics, "parent": parent_metrics}},
    )
    seconds = time.monotonic() - started
    card.training["wall_time_s"] = round(seconds, 1)
    path = save_checkpoint(model, out_path, card)
    return FineTuneResult(
        weights_path=path, card=card, steps=steps, seconds=seconds, train_images=len(train_set.images),
        holdout_images=len(holdout.images), metrics={"new": new_metrics, "parent": parent_metrics},
    )
