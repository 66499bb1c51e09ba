"""The training loop: episodes in, checkpoints with model cards out.

Stages follow the paper: `heads` trains everything but the backbone (FPN, matching, RPN, heads), `all` trains every
layer; BatchNorm always runs in inference mode. The loop runs on CPU or one GPU unchanged; on several GPUs of one
machine wrap model building and `Trainer` construction in `tf.distribute.MirroredStrategy().scope()` (see docs/training-and-evaluation.md).
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from model.checkpoint import ModelCard, save_checkpoint
from model.training.batches import collate, episode_to_example

if TYPE_CHECKING:
    from model.training.early_stopping import EarlyStopping

STAGES = ("heads", "all")
OPTIMIZERS = ("sgd", "adam")
PREFETCH_BATCHES = 4


@dataclass
class TrainSettings:
    """How long and how to train.

    Attributes:
        steps: gradient steps in total; heads_steps: of which the first are heads-only (the paper: 1000 of 160k).
        layers: "heads" (backbone frozen throughout) or "all" (heads_steps heads-only, then everything).
        optimizer: "sgd" (the paper's: momentum 0.9, lr 0.02 * batch / 12) or "adam" (faster on small data).
        time_budget_s: stop early (cleanly, with a checkpoint) after this many seconds; 0 = no budget.
        checkpoint_every: steps between checkpoints (0 = only at the end).
        snapshot_every: steps between snapshots kept beside the checkpoint, `snapshots/step-NNNNNN.weights.h5`
            (+ card), for choosing a step afterwards by a measure too slow to run inside training; 0 = none.
    """

    steps: int = 1000
    batch_size: int = 1
    layers: str = "all"
    heads_steps: int = 0
    optimizer: str = "adam"
    learning_rate: float = 1e-4
    gradient_clip_norm: float = 5.0
    checkpoint_every: int = 0
    snapshot_every: int = 0
    log_every: int = 10
    time_budget_s: float = 0.0
    seed: int = 0
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.layers not in STAGES:
            raise ValueError(f"layers must be one of {STAGES}, got {self.layers!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"steps and batch_size must be >= 1, got {self.steps}, {self.batch_size}")


@dataclass
class StepLog:
    step: int
    losses: dict[str, float]
    total: float
    seconds: float


def snapshot_path(out_path: str | Path, step: int) -> Path:
    """Where `Trainer` keeps the snapshot of `step` for a run whose checkpoint is `out_path`."""
    return Path(out_path).parent / "snapshots" / f"step-{step:06d}.weights.h5"


def _prefetch(make_batch: Callable[[], dict], depth: int) -> Iterator[dict]:
    """Build batches in a background thread (image decoding and targets overlap the gradient step)."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce():
        while not stop.is_set():
            try:
                item = make_batch()
            except Exception as exc:  # surfaced in the consumer with its traceback
                item = exc
            while not stop.is_set():
                try:
                    buffer.put(item, timeout=0.5)
                    break
                except queue.Full:
                    continue

    thread = threading.Thread(target=produce, daemon=True, name="batch-prefetch")
    thread.start()
    try:
        while True:
            item = buffer.get()
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()


class Trainer:
    """Runs `TrainSettings` on a model with an endless iterator of episodes.

    Args:
        model: a built `SiameseMaskRCNN`; episodes: iterator of `Episode`; settings: `TrainSettings`.
        on_step: called with a `StepLog` every `log_every` steps and at the last step trained (also when the time
            budget ends the run between two of them): progress bars, job progress in the worker.
        early_stopping: validates every N steps (and at the last step) and makes the final checkpoint hold the
            best validated step's weights; None = the last step's weights.
    """

    def __init__(
        self,
        model,
        episodes: Iterator,
        settings: TrainSettings,
        on_step: Callable[[StepLog], None] | None = None,
        early_stopping: EarlyStopping | None = None,
    ):
        self.model = model
        self.episodes = episodes
        self.settings = settings
        self.on_step = on_step
        self.early_stopping = early_stopping
        self.rng = np.random.default_rng(settings.seed)
        tf.random.set_seed(settings.seed)
        if settings.optimizer == "sgd":
            self.optimizer = tf.keras.optimizers.SGD(settings.learning_rate, momentum=model.config.momentum)
        else:
            self.optimizer = tf.keras.optimizers.Adam(settings.learning_rate)
        self.loss_weights = dict(model.config.loss_weights)
        self.history: list[StepLog] = []
        self._step_fn = None
        self._stage = None

    def _make_batch(self) -> dict:
        examples = [
            episode_to_example(next(self.episodes), self.model.config, self.model.anchors_np, self.rng)
            for _ in range(self.settings.batch_size)
        ]
        return collate(examples)

    def _set_stage(self, stage: str) -> None:
        if stage == self._stage:
            return
        if not self.optimizer.built:
            # Build slots for every variable once, so switching from heads to all keeps the optimizer state.
            self.model.backbone.trainable = True
            self.optimizer.build(self.model.trainable_variables)
        self.model.backbone.trainable = stage == "all"
        variables = self.model.trainable_variables
        clip = self.settings.gradient_clip_norm
        weights = self.loss_weights
        model = self.model
        optimizer = self.optimizer

        @tf.function(reduce_retracing=True)
        def step(batch):
            with tf.GradientTape() as tape:
                losses = model.compute_losses(batch)
                total = tf.add_n([weights[k] * v for k, v in losses.items()]) + model.regularization_loss()
            grads = tape.gradient(total, variables)
            grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables, strict=True)]
            grads = [tf.clip_by_norm(g, clip) for g in grads]  # per-tensor, as Keras' clipnorm
            optimizer.apply_gradients(zip(grads, variables, strict=True))
            return losses, total

        self._step_fn = step
        self._stage = stage

    def train_step(self, batch: dict) -> tuple[dict[str, float], float]:
        """One gradient step on a collated batch; returns the five losses and the weighted total."""
        losses, total = self._step_fn({k: tf.constant(v) for k, v in batch.items()})
        return {k: float(v) for k, v in losses.items()}, float(total)

    def run(self, out_path: str | Path | None = None, card: ModelCard | None = None, start_step: int = 0) -> list[StepLog]:
        """Train until `settings.steps` (or the time budget, or early stopping's patience); save checkpoints to
        `out_path` if given. With `early_stopping`, the model ends with (and the last checkpoint holds) the best
        validated step's weights.

        Returns:
            the logged steps.
        """
        s = self.settings
        stopper = self.early_stopping
        if stopper:
            stopper.reset()
        started = time.monotonic()
        batches = _prefetch(self._make_batch, PREFETCH_BATCHES)
        window: list[tuple[dict, float]] = []
        step = start_step
        for step in range(start_step + 1, s.steps + 1):
            stage = "heads" if (s.layers == "heads" or step <= s.heads_steps) else "all"
            self._set_stage(stage)
            losses, total = self.train_step(next(batches))
            if not math.isfinite(total):
                raise FloatingPointError(f"loss became {total} at step {step}: lower the learning rate")
            window.append((losses, total))
            out_of_time = bool(s.time_budget_s) and time.monotonic() - started > s.time_budget_s
            if step % s.log_every == 0 or step == s.steps or out_of_time:  # the last step trained is always logged
                mean = {k: float(np.mean([w[0][k] for w in window])) for k in losses}
                log = StepLog(step, mean, float(np.mean([w[1] for w in window])), time.monotonic() - started)
                self.history.append(log)
                window.clear()
                if self.on_step:
                    self.on_step(log)
            if stopper and stopper.due(step):
                stopper.validate(self.model, step)
            if out_path and s.checkpoint_every and step % s.checkpoint_every == 0 and step < s.steps:
                self.save(out_path, card, step, time.monotonic() - started)
            if out_path and s.snapshot_every and step % s.snapshot_every == 0:
                self.save(snapshot_path(out_path, step), card, step, time.monotonic() - started)
            if stopper and stopper.should_stop:
                break
            if out_of_time:
                break
        last_step = step
        if stopper and step > start_step:
            if not stopper.curve or stopper.curve[-1].step != step:
                stopper.validate(self.model, step)  # the last weights compete too
            step = stopper.restore_best(self.model)
        if out_path:
            self.save(out_path, card, step, time.monotonic() - started, last_step=last_step)
        return self.history

    def save(
        self, out_path: str | Path, card: ModelCard | None, step: int, seconds: float, last_step: int | None = None
    ) -> Path:
        """Write the model's weights and `card`; `step` is the step of the weights (the chosen one with early
        stopping), `last_step` the last trained step when that differs."""
        card = card or ModelCard(version=f"{self.model.config.name}-trained", preset=self.model.config.name, config={})
        card.training = {
            **card.training,
            "steps": step,
            "steps_trained": step if last_step is None else last_step,
            "wall_time_s": round(seconds, 1),
            "settings": asdict(self.settings),
            "final_losses": self.history[-1].losses if self.history else {},
            "final_losses_step": self.history[-1].step if self.history else None,  # the last logged step
        }
        if self.early_stopping:
            final = last_step is not None
            card.training["validation"] = self.early_stopping.card_section(
                stopped_early=(last_step < self.settings.steps) if final else None)
        return save_checkpoint(self.model, out_path, card)
