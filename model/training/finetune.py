"""The fine-tuning recipe: one project's accepted annotations -> a new model version, judged by the annotator's
effort against its parent.

One code path for the Train button and automatic training (`worker.training`) and for `python -m model finetune`:
1. split the accepted images: a held-out slice (`holdout_fraction`, at least 1 image from 2 images on; none at 1
   image) is judged, the rest trains; the slice is made of whole groups of near-copies (frames of one video), so
   the child is never judged on a frame whose siblings it trained on (`model.training.holdout_split`);
2. the child answers drawn boxes without the parent's size prior (`CHILD_SIZE_TOLERANCE`); then train on the
   training images' episodes, multiplied (`model.training.project_episodes`): same-image and
   cross-image episodes of every label, the other labels left in the images as hard negatives, and copy-paste
   scenes of the accepted cut-outs on the project's own images; with `runs` > 1 the steps and the time budget are
   shared among that many independent runs from the parent (each its own episode stream and training seed) and the
   child is the mean of their weights (a model soup); with `average_tail` > 0 the child is the mean of
   the weights over that last share of the run (every `TAIL_AVERAGE_EVERY` steps), not the last step's; then, with
   `parent_share` > 0, move the weights that share of the way back to the parent's;
3. judge the child and its parent on the held-out slice by the effort measure in both modes (one box drawn, and the
   exemplar bank alone), as the worker answers (`model.training.holdout_effort`). Where the training images'
   accepted labels say the project leaves objects cut by the image frame out (`model.frame_convention`), the child
   is judged there a second time, dropping suggestions that touch the frame, and keeps dropping them (config
   `detection_skip_border`) only if that judgement, at its own calibrated threshold, costs strictly less; when the
   two cost the same (nothing at the slice's edge), the parent answers the training images and decides
   (`model.training.frame_witness`, since session 26).
   `drawn_bank` says whether the drawn label's own exemplars join each drawn box's answer (config
   `detection_drawn_bank`): `off` (the default) never; `held-out`: the drawn mode is judged once more with the join
   and the child keeps it only if that costs strictly less; `where-bank-pays`: after step 4 the child joins them
   where its bank answers (step 5 at the calibrated threshold), its drawn mode judged again with the join and the
   threshold calibrated again. A child never inherits its parent's join undecided;
4. calibrate the child's score threshold there and on two shifted copies of each held-out image (dimmer and
   flatter, out of focus: `model.training.holdout_shift`; `shifted_calibration`, since session 17), so that it
   holds on images a little unlike the accepted ones (`step_five_calibration`: since session 25 the near ties are as
   wide as the slice's noise, `noise_tie`, and those where the bank pays are preferred), store it as the child's
   `detection_min_confidence` (the worker answers with it when SCORE_THRESHOLD is unset) and in its card. With no
   held-out slice (1 image) the threshold is `FIXED_THRESHOLD`;
5. decide whether the child's exemplar bank pre-annotates at all: where its held-out bank effort at that threshold
   is at least `NOTHING_EFFORT` (what suggesting nothing costs), the child's `detection_bank_answers` is False and
   its batch pre-annotation suggests nothing. Decided afresh for every child (a parent's False is not inherited).
6. with `refit` (off by default: it did not pay, session 19), train the child again from the parent on every
   accepted image, held-out ones included, and keep those weights with the decisions of steps 3-5 (the card's
   held-out figures and the gate stay the judged child's);
7. the saved child carries its parent's verifier, if it has one (`CHILD_VERIFIER`, since session 28): drawn boxes'
   answers re-scored by it and cut at the parent's verifier threshold; steps 3-6 and the gate run on network scores.

Whatever the parent's card says, the child answers without the size prior (`CHILD_SIZE_TOLERANCE`) and without the
other labels' claims (`CHILD_LABEL_CLAIMS`, since session 29), from step 2 on.

The card holds the recipe's settings, both versions' held-out figures and the sweeps; `FineTuneResult.effort_gate`
says whether the child may replace its parent (lower is better: a child with higher held-out effort is refused).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from model.checkpoint import ModelCard, load_checkpoint, save_checkpoint
from model.config import ModelConfig
from model.data.annotations import Dataset
from model.evaluation.calibration import TIE_BREAKS
from model.training.drawn_bank import DRAWN_BANK_RULES, decide_on_held_out, join_where_bank_pays
from model.training.holdout_effort import (
    NOTHING_EFFORT,
    bank_effort_pays,
    effort_text,
    kept_if_cheaper,
    step_five_calibration,
)
from model.training.holdout_split import split_holdout
from model.training.trainer import StepLog, Trainer, TrainSettings
from model.verifier import WITHOUT_VERIFIER

__all__ = ["CHILD_LABEL_CLAIMS", "CHILD_SIZE_TOLERANCE", "CHILD_VERIFIER", "FIXED_THRESHOLD",
           "FRAME_TIE_FOLLOWS_LABELS", "FRAME_TIE_WITNESS", "MAX_AVERAGE_TAIL", "MAX_RUNS", "NOTHING_EFFORT",
           "RUN_SEED_STRIDE", "TAIL_AVERAGE_EVERY", "FineTuneResult", "FineTuneSettings", "finetune",
           "frame_convention", "inherited_verifier", "judge_child", "label_claims_record", "parent_witness"]

FIXED_THRESHOLD = 0.7
"""The child's score threshold when nothing is held out to calibrate it on (a project of one accepted image): a
fine-tuned network's scores run high on its own kinds, and when unsure the product suggests less."""
TAIL_AVERAGE_EVERY = 5
"""Steps between the snapshots that `average_tail` averages (the trainer's progress interval)."""
MAX_AVERAGE_TAIL = 0.95
"""The largest `average_tail` (TRAIN_AVERAGE_TAIL's range in `common.settings` is the same)."""
MAX_RUNS = 8
"""The most independent training runs one fine-tune may average (TRAIN_RUNS's range in `common.settings` is the same):
they share one step count and time budget, so more runs means shorter ones."""
RUN_SEED_STRIDE = 7919
"""Run r of a fine-tune draws its episodes and training randomness from seed `seed + r * RUN_SEED_STRIDE` (run 0 is
the one-run recipe's); the held-out split depends on `seed` alone, so every run trains on the same images."""
FRAME_TIE_FOLLOWS_LABELS = False
"""Step 3's frame convention when the held-out slice, judged again with the skip, costs the same as without it (a
slice of one frame often has nothing at its edge): True keeps the skip the labels ask for, False (session 16's rule)
drops it. Session 25 measured both (docs/learning-loop.md)."""
FRAME_TIE_WITNESS = True
"""Step 3's frame convention on such a tie: True (since session 26) asks the parent on the accepted images
(`model.training.frame_witness`) and keeps the skip iff dropping its suggestions at the frame costs less there by more
than one action; False drops it (unless `FRAME_TIE_FOLLOWS_LABELS`) (docs/learning-loop.md, session 26)."""
NETWORK_SCORES = WITHOUT_VERIFIER
"""How the recipe loads the parent, for the child, its judgement and the witness: without the parent's verifier
(`model.verifier`). Judging, calibration, the frame step and the gate run on the networks' own scores; the child
carries its parent's verifier only once saved (`CHILD_VERIFIER`)."""
CHILD_VERIFIER = True
"""Whether the saved child answers drawn boxes through its parent's verifier (`detection_verifier`, at the parent's
`detection_verifier_threshold`), as the parent does: since session 28 (docs/learning-loop.md), where the 48 deciding
kept children went from 0.200 to 0.144 errors per instance with a box drawn (mean of the two modes 0.2137 -> 0.1858).
The verifier was fitted on the parent's answers: it reads the suggestion's network score (the child's own here, which
runs higher on its kinds) and its colour, fill, size and shape against the drawn object's, and the backbone taps,
which are the parent's when the recipe trains the heads only (`layers` "heads", the default); that it transfers to
children was measured, not implied. With `layers` "all" the backbone changes and the verifier is not carried over
(not measured). Batch pre-annotation keeps the child's network scores at its calibrated `detection_min_confidence`. A
parent without a verifier gives a child without one."""
CHILD_LABEL_CLAIMS = False
"""The child's `detection_label_claims`, whatever its parent's card says: with a project's exemplars, whether the
other labels claim a drawn box's suggestions (`model.answering`). Off since session 29 (docs/learning-loop.md): the
48 deciding kept children, answering through their parent's verifier, went from 0.1439 to 0.1325 errors per instance
with a box drawn without them (sessions-cut 0.191 -> 0.150, no group worse); the default parent dropped them too
(`mobile-coco128-v13`). Applied from the start, so the child is judged and calibrated as it will answer."""
CHILD_SIZE_TOLERANCE = 0.0
"""The child's `detection_size_tolerance`: its size prior is off. The prior serves a parent that has never seen the
kind and leans on the drawn box's size; a child has learnt the project's kinds, at other sizes too (copy-paste at
any size), and the prior then scores down right instances whose size differs from the drawn one's by more than its
tolerance (session 15, docs/learning-loop.md: synthetic children with a box drawn 0.27 -> 0.08 errors per
instance, coco128 unchanged)."""
RECIPE = ("copy-paste (half at any size) + same/cross-image episodes, hard negatives, effort-judged, threshold "
          "calibrated on the held-out slice and its shifted copies (ties as wide as its noise), no size prior, the "
          "project's frame convention (issue 18)")


@dataclass
class FineTuneSettings:
    """Budget and method of one fine-tuning run (defaults sized for the Train button on a 2-core CPU worker: the
    whole job, fetching and judging included, within 3 minutes for 5-20 images).

    Attributes:
        max_steps / time_budget_s: stop training at whichever comes first.
        learning_rate: Adam's.
        layers: "heads" keeps the backbone frozen (default), "all" adapts it too.
        holdout_fraction: share of the accepted images judged rather than trained on.
        augment: flips, scale and colour jitter on the real episodes.
        parent_share: after training, the child's weights move this share of the way back to its parent's
            (weight-space interpolation, as WiSE-FT: Wortsman et al. 2022): 0 keeps the trained weights, 1 the
            parent's. A fine-tune on a few images of one setting forgets what its parent knew of others; the
            interpolation keeps part of both.
        average_tail: 0 to `MAX_AVERAGE_TAIL`. The child is the uniform mean of its weights over this last share
            of the run, by steps or by the time budget, whichever is reached first: stochastic weight averaging
            of the run's tail, a snapshot every `TAIL_AVERAGE_EVERY` steps and at the last step (`_TailAverage`).
            0 keeps the last step's weights. With batch 1 and a few images, the last step's weights carry the
            noise of the last few episodes.
        runs: 1 to `MAX_RUNS` independent training runs from the parent, the steps and the time budget shared among
            them (run r gets its share of what remains); the child is the uniform mean of their weights, a model
            soup (Wortsman et al. 2022). Same total steps, so about the same time. With batch 1 and a few images,
            one run's weights carry the noise of its episode order; the mean of runs with other orders does not.
            Not combined with `average_tail`.
        shifted_calibration: step 4 chooses the threshold on the held-out slice and two shifted copies of each of
            its images (dimmer and flatter, out of focus: `model.training.holdout_shift`), so that it holds on
            images a little unlike the accepted ones; the frame step, the gate and the card's held-out figures stay
            on the slice itself.
        tie_break: which of the thresholds the held-out sweep cannot tell apart (within one action) step 4 takes:
            "middle" (the median of them, since session 21) or "highest" (suggest less;
            `model.evaluation.calibration.TIE_BREAKS`). A slice of one or two images is often answered alike over
            half the sweep; the project's next images rarely are.
        acquisition_shift: every training episode's images take a random change of light, contrast and focus
            (`model.data.augment.AcquisitionShift`, half of them unchanged), so that the child does not learn the
            accepted images' exact look; the project's next images may come from another session.
        refit: after steps 3-5 (judging, threshold, frame convention, bank decision, all on the child trained
            without the held-out slice), train the child again from the parent on every accepted image, held-out
            ones included, with the same settings, and keep that one with the judged child's decisions (the
            common refit after model selection). The card's held-out figures and the gate stay those of the judged
            child; `training.refit` records the second run. Doubles the training time.
        drawn_bank: whether the drawn label's own exemplars join a drawn box's answer (config
            `detection_drawn_bank`, `model.answering.with_own_bank`), one of `DRAWN_BANK_RULES`: "off" (never,
            whatever the parent's card says), "held-out" (the drawn mode is judged again with them, and they join
            only where the held-out effort is strictly lower), "where-bank-pays" (they join where the child's bank
            answers at its calibrated threshold, and the threshold is calibrated again with the join); see
            `model.training.drawn_bank`.
        seed: the split, the episodes and the training (run r: `seed + r * RUN_SEED_STRIDE` for the last two).
    """

    max_steps: int = 150
    time_budget_s: float = 90.0
    batch_size: int = 1
    learning_rate: float = 5e-4
    layers: str = "heads"
    holdout_fraction: float = 0.2
    augment: bool = True
    parent_share: float = 0.0
    average_tail: float = 0.0
    runs: int = 1
    shifted_calibration: bool = True
    tie_break: str = "middle"
    acquisition_shift: bool = False
    refit: bool = False
    drawn_bank: str = "off"
    seed: int = 0


@dataclass
class FineTuneResult:
    """What a run produced: the new checkpoint and its card, and the held-out figures of the child and its parent
    (`metrics = {"new": figures | None, "parent": figures | None}`, figures as `HoldoutJudgement.figures_at`)."""

    weights_path: Path
    card: ModelCard
    steps: int
    seconds: float
    train_images: int
    holdout_images: int
    metrics: dict = field(default_factory=dict)

    def effort_gate(self, tolerance: float = 0.0) -> tuple[bool, str]:
        """Whether the child may replace its parent: its held-out effort is at most the parent's + `tolerance`.

        Returns:
            `(allowed, reason)`; allowed with nothing to compare (no held-out slice: a project of one image).
        """
        new, parent = self.metrics.get("new"), self.metrics.get("parent")
        if not new or not parent:
            return True, "no held-out images to compare with the parent (a project of one image)"
        comparison = (f"held-out effort {new['effort']:.4f} (threshold {new['threshold']:g}) vs parent "
                      f"{parent['effort']:.4f} (threshold {parent['threshold']:g})")
        allowed = new["effort"] <= parent["effort"] + tolerance
        suffix = f" (tolerance {tolerance:g})" if tolerance else ""
        if (self.card.training.get("holdout_split") or {}).get("disjoint") is False:
            suffix += ("; the held-out images are near-copies of trained ones (all accepted images form one group), so "
                       "the comparison may favour the child: accept frames of more than one clip, and name each "
                       "task's clip in its data (video_id or video)")
        if self.card.training.get("refit"):
            suffix += ("; the version's weights are this child trained again on every accepted image (refit), "
                       "not judged themselves")
        return allowed, (f"{comparison}: not higher" if allowed else f"{comparison}: higher, parent stays active") + suffix


def finetune(
    parent_checkpoint: str | Path,
    dataset: Dataset,
    out_path: str | Path,
    version: str,
    settings: FineTuneSettings | None = None,
    on_progress: Callable[[StepLog], None] | None = None,
    answer_settings=None,
    on_run: Callable[[int, list], None] | None = None,
    on_judged: Callable[[object], None] | None = None,
) -> FineTuneResult:
    """Fine-tune `parent_checkpoint` on `dataset` by the recipe (module docstring); write `out_path` + card.

    Args:
        parent_checkpoint: our `.weights.h5` (its card names the preset and version).
        dataset: the project's accepted annotations (category = label).
        out_path: where the new `.weights.h5` goes (written atomically with its card).
        version: the new model version, e.g. "project-3-v4".
        on_progress: called every few steps with a `StepLog` (step, losses, seconds).
        answer_settings: the service's NMS, cap and decoding for judging (`common.settings.Settings`; default:
            its defaults).
        on_run: called after each training run with `(run index, its weights)`, before the runs are averaged
            (studies judge a soup's ingredients apart).
        on_judged: with `settings.refit`, called with the judged child's model (its threshold, frame and bank
            decisions set) before it is trained again on every image (studies keep both).

    Raises:
        ValueError: the dataset has no annotated image that can host an episode.
    """
    from model.predictor import Predictor
    from model.training.holdout_effort import judge_on_holdout

    if answer_settings is None:
        from common.settings import Settings

        answer_settings = Settings()
    settings = settings or FineTuneSettings()
    if not 0.0 <= settings.parent_share <= 1.0:  # also refuses NaN
        raise ValueError(f"parent_share {settings.parent_share} is outside 0-1: give --parent-share / "
                         "TRAIN_PARENT_SHARE between 0 (the trained weights) and 1 (the parent's)")
    if not 0.0 <= settings.average_tail <= MAX_AVERAGE_TAIL:  # also refuses NaN
        raise ValueError(f"average_tail {settings.average_tail} is outside 0-{MAX_AVERAGE_TAIL}: give --average-tail "
                         f"/ TRAIN_AVERAGE_TAIL from 0 (the last step's weights) to {MAX_AVERAGE_TAIL}")
    if not 1 <= settings.runs <= MAX_RUNS:
        raise ValueError(f"runs {settings.runs} is outside 1-{MAX_RUNS}: give --runs / TRAIN_RUNS from 1 (one run, "
                         f"the default) to {MAX_RUNS}")
    if settings.runs > 1 and settings.average_tail > 0:
        raise ValueError("runs > 1 and average_tail > 0 are two ways of averaging weights: choose one (set "
                         "TRAIN_RUNS=1 or TRAIN_AVERAGE_TAIL=0)")
    if settings.drawn_bank not in DRAWN_BANK_RULES:
        raise ValueError(f"drawn_bank {settings.drawn_bank!r}: give --drawn-bank / TRAIN_DRAWN_BANK as one of "
                         f"{', '.join(DRAWN_BANK_RULES)}")
    if settings.tie_break not in TIE_BREAKS:
        raise ValueError(f"tie_break {settings.tie_break!r}: give --tie-break / TRAIN_TIE_BREAK as one of "
                         f"{', '.join(TIE_BREAKS)}")
    started = time.monotonic()
    split = split_holdout(dataset, settings.holdout_fraction, settings.seed)
    train_set, holdout = split.train, split.holdout
    if not train_set.images:
        raise ValueError("no accepted annotation with an instance yet: nothing to fine-tune on; accept an "
                         "annotation with at least one region first")

    parent_model, parent_card = load_checkpoint(parent_checkpoint, **NETWORK_SCORES)
    # Parent and child are both judged with the bank on, whatever the parent's own step 5 said (the gate compares
    # them); otherwise each answers as it serves (the parent with its card's claims and size prior, the child
    # with the recipe's).
    parent_model.config = parent_model.config.replace(detection_bank_answers=True)
    parent_threshold = float(parent_model.config.detection_min_confidence)
    parent = Predictor(parent_model, version=parent_card.version, fold_batch_norm=True)
    parent_judgement = judge_on_holdout(parent, holdout, train_set, answer_settings,
                                        extra_thresholds=(parent_threshold,))
    del parent, parent_model

    model, _ = load_checkpoint(parent_checkpoint, **NETWORK_SCORES)  # a separate copy: the parent stays as it was
    # Step 5 decides afresh for this child; the child answers without the parent's size prior (it is judged so); the
    # drawn label's bank joins a drawn box's answer only where step 3 decides so (a parent's True is not inherited).
    model.config = model.config.replace(detection_bank_answers=True, detection_size_tolerance=CHILD_SIZE_TOLERANCE,
                                        detection_drawn_bank=False, detection_label_claims=CHILD_LABEL_CLAIMS)
    initial_weights = model.get_weights() if settings.refit and holdout.images else None
    steps, train_seconds, history, tail_snapshots = _train(model, train_set, settings, on_progress, on_run)

    child_judgement, frame, calibration, drawn_bank = judge_child(
        model, version, holdout, train_set, answer_settings, shifted_calibration=settings.shifted_calibration,
        tie_break=settings.tie_break, drawn_bank=settings.drawn_bank,
        witness=(lambda: parent_witness(parent_checkpoint, train_set, answer_settings)) if FRAME_TIE_WITNESS else None)
    threshold = float(model.config.detection_min_confidence)
    metrics = {"new": child_judgement.figures_at(threshold) if child_judgement else None,
               "parent": parent_judgement.figures_at(parent_threshold) if parent_judgement else None}
    bank_answers = _bank_answers(metrics["new"])
    model.config = model.config.replace(detection_bank_answers=bank_answers["value"])
    refit = None
    if initial_weights is not None:
        if on_judged is not None:
            on_judged(model)
        everything = Dataset(dataset.categories, train_set.images + holdout.images, dataset.name)
        model.set_weights(initial_weights)
        refit_steps, refit_seconds, history, _ = _train(model, everything, settings, on_progress, None,
                                                        progress_from=(steps, train_seconds))
        refit = {"images": len(everything.images), "steps": refit_steps, "train_seconds": round(refit_seconds, 1)}

    verifier = inherited_verifier(parent_card.config, settings.layers) if CHILD_VERIFIER else {
        "value": False, "why": "CHILD_VERIFIER is off: drawn boxes are answered on the child's network scores"}
    if verifier["value"]:
        model.config = model.config.replace(detection_verifier=tuple(verifier["weights"]),
                                            detection_verifier_threshold=verifier["threshold"])
    card = ModelCard(
        version=version,
        preset=parent_card.preset,
        config={},
        parent=parent_card.version,
        training={
            "kind": "fine-tune",
            "recipe": RECIPE,
            "settings": asdict(settings),
            "train_images": len(train_set.images),
            "holdout_images": len(holdout.images),
            "holdout_split": split.describe(),
            "labels": list(dataset.categories),
            "steps": steps,
            "train_seconds": round(train_seconds, 1),
            "layers": settings.layers,
            "tail_snapshots_averaged": tail_snapshots,
            "runs": settings.runs,
            "refit": refit,
            "final_losses": history[-1].losses if history else {},
            "score_threshold": _threshold_record(threshold, child_judgement, calibration,
                                                 settings.shifted_calibration, settings.tie_break),
            "bank_answers": bank_answers,
            "frame_convention": frame,
            "drawn_bank": drawn_bank,
            "verifier": {k: v for k, v in verifier.items() if k != "weights"},
            "label_claims": label_claims_record(parent_card.config),
        },
        metrics={"holdout": metrics,
                 "calibration": calibration.to_dict() if calibration else None,
                 "holdout_sweeps": {"new": child_judgement and child_judgement.efforts(),
                                    "parent": parent_judgement and parent_judgement.efforts()}},
    )
    seconds = time.monotonic() - started
    card.training["wall_time_s"] = round(seconds, 1)
    path = save_checkpoint(model, out_path, card)
    return FineTuneResult(
        weights_path=path, card=card, steps=steps, seconds=seconds, train_images=len(train_set.images),
        holdout_images=len(holdout.images), metrics=metrics,
    )


def _train(model, train_set: Dataset, settings: FineTuneSettings, on_progress, on_run,
           progress_from: tuple[int, float] = (0, 0.0)):
    """Step 2's training of `model` (the parent's copy) in place: `settings.runs` runs from the parent's weights,
    averaged, then the tail average and `parent_share` when set. `on_progress` counts steps and seconds over all
    runs, on from `progress_from` (the refit's second training goes on from the first's).

    Returns:
        `(steps over all runs, training seconds over all runs, the last run's step logs, tail snapshots averaged)`.
    """
    from model.data.augment import AcquisitionShift, Augmentation
    from model.training.averaging import average_weights
    from model.training.project_episodes import project_episodes

    parent_weights = model.get_weights() if settings.parent_share > 0 or settings.runs > 1 else None
    tail = _TailAverage(model, settings) if settings.average_tail > 0 else None

    run_weights, steps, train_seconds, history = [], 0, 0.0, []

    def on_step(log: StepLog) -> None:
        if tail is not None:
            tail.observe(log)
        if on_progress is not None:  # steps and seconds counted over all runs so far
            on_progress(replace(log, step=progress_from[0] + steps + log.step,
                                seconds=progress_from[1] + train_seconds + log.seconds))

    for run in range(settings.runs):
        if run:
            model.set_weights(parent_weights)
        run_seed = settings.seed + run * RUN_SEED_STRIDE
        episodes = project_episodes(train_set, augmentation=Augmentation() if settings.augment else None,
                                    acquisition=AcquisitionShift() if settings.acquisition_shift else None,
                                    seed=run_seed)
        budget = (max(1.0, settings.time_budget_s) - train_seconds) / (settings.runs - run)
        train_settings = TrainSettings(
            steps=_run_steps(settings.max_steps, settings.runs, run), batch_size=settings.batch_size,
            layers=settings.layers, optimizer="adam", learning_rate=settings.learning_rate,
            log_every=TAIL_AVERAGE_EVERY, time_budget_s=max(1.0, budget), seed=run_seed,
        )
        trainer = Trainer(model, episodes, train_settings, on_step=on_step)
        trainer.run()
        if trainer.history:
            steps += trainer.history[-1].step
            train_seconds += trainer.history[-1].seconds
            history = trainer.history
        if settings.runs > 1:
            run_weights.append(model.get_weights())
            if on_run is not None:
                on_run(run, run_weights[-1])
    tail_snapshots = tail.finish() if tail is not None else 0
    if run_weights:
        model.set_weights(average_weights(run_weights))
    if settings.parent_share > 0:
        share = settings.parent_share
        model.set_weights(average_weights([model.get_weights(), parent_weights], coefficients=(1 - share, share)))
    return steps, train_seconds, history, tail_snapshots


def judge_child(model, version: str, holdout: Dataset, train_set: Dataset, answer_settings, *,
                shifted_calibration: bool, tie_break: str = "highest", drawn_bank: str = "off",
                wide_ties: bool = True, witness=None):
    """Steps 3-4 of the recipe on trained weights: judge `model` on `holdout` (its bank from `train_set`), decide the
    frame convention and (`drawn_bank`, `FineTuneSettings.drawn_bank`'s rule) whether the drawn label's bank joins a
    drawn box's answer, calibrate the threshold; sets the model's `detection_skip_border`, `detection_drawn_bank`
    and `detection_min_confidence`.

    Args:
        shifted_calibration: calibrate on the held-out slice and its shifted copies
            (`model.training.holdout_shift.with_shifted_copies`) instead of the slice alone.
        tie_break: which tie the calibration takes (`FineTuneSettings.tie_break`); the frame step compares its two
            judgements each at its highest tie, as before the option existed.
        wide_ties: step 5's ties as wide as the slice's noise, those where the bank pays preferred
            (`step_five_calibration`, since session 25); False: session 21's one-action ties (to reproduce studies).
        witness: `() -> FrameWitness | None`, asked when the frame step ties on the held-out slice
            (`model.training.frame_witness`: the parent on the accepted images); None: a tie drops the skip.

    Returns:
        `(judgement, frame record, calibration, drawn-bank record)`: the `HoldoutJudgement` of the held-out slice
        that stands (None with nothing held out), the card's `frame_convention`, the `choose_threshold` result (None:
        the threshold is `FIXED_THRESHOLD`) and the card's `drawn_bank` (`model.training.drawn_bank`; "off": the
        model's own setting, not decided).
    """
    from model.predictor import Predictor
    from model.training.holdout_effort import INTERACTIVE, judge_on_holdout
    from model.training.holdout_shift import with_shifted_copies

    # Training is over: the judging may compute with a folded copy of the backbone.
    child = Predictor(model, version=version, fold_batch_norm=True)
    judgement = judge_on_holdout(child, holdout, train_set, answer_settings)
    skip_border, judgement, frame = _frame_step(
        frame_convention(train_set), child, judgement,
        lambda: judge_on_holdout(child, holdout, train_set, answer_settings), witness)
    record = {"value": model.config.detection_drawn_bank,
              "why": "not decided on the held-out slice (TRAIN_DRAWN_BANK off)"}

    def judge_drawn(images: Dataset, skip_first: int = 0):
        return judge_on_holdout(child, images, train_set, answer_settings, modes=(INTERACTIVE,), skip_first=skip_first)

    if drawn_bank == "held-out":
        judgement, record = decide_on_held_out(child, judgement, tie_break, lambda: judge_drawn(holdout))
    calibration = step_five_calibration(judgement, None, tie_break, wide_ties) if judgement else None
    copies = shifted = None
    if calibration is not None and shifted_calibration:
        # Only the copies are judged again: the slice's own judgement (under the frame step's decision) stands.
        shifted = with_shifted_copies(holdout)
        copies = judge_on_holdout(child, shifted, train_set, answer_settings, skip_first=len(holdout.images))
        calibration = step_five_calibration(judgement, copies, tie_break, wide_ties)
    if drawn_bank == "where-bank-pays":  # the copies' drawn boxes are judged again where they took part
        verdict = _bank_answers(judgement.figures_at(calibration.threshold)) if judgement and calibration else None
        judgement, calibration, record = join_where_bank_pays(
            child, judgement, copies, calibration, tie_break, verdict,
            lambda: (judge_drawn(holdout), copies and judge_drawn(shifted, skip_first=len(holdout.images))))
    model.config = model.config.replace(
        detection_min_confidence=calibration.threshold if calibration else FIXED_THRESHOLD,
        detection_skip_border=skip_border, detection_drawn_bank=record["value"])
    return judgement, frame, calibration, record


def parent_witness(parent_checkpoint, train_set: Dataset, answer_settings):
    """Step 3's witness (`model.training.frame_witness`): the parent at `parent_checkpoint`, loaded again (it is not
    kept in memory while the child trains), answering the training images at its own threshold."""
    from model.predictor import Predictor
    from model.training.frame_witness import frame_witness

    parent_model, parent_card = load_checkpoint(parent_checkpoint, **NETWORK_SCORES)
    return frame_witness(Predictor(parent_model, version=parent_card.version, fold_batch_norm=True), train_set,
                         answer_settings)


def frame_convention(train_set: Dataset):
    """Step 3's frame convention (`model.frame_convention.FrameConvention`) of the training images' accepted
    instances, every label, crowd regions left out."""
    from model.frame_convention import learn_frame_convention

    return learn_frame_convention(
        (image.boxes([a for a in image.instances if not a.iscrowd]), (image.height, image.width))
        for image in train_set.images)


def _frame_step(convention, child, judgement, judge_again, witness=None):
    """Step 3's frame convention: `(skip, the judgement that stands, the card's record)`.

    Args:
        convention: the training images' `FrameConvention`; child: the child's `Predictor` (its config's
            `detection_skip_border` is set for the second judgement and left as decided); judgement: the child's
            `HoldoutJudgement` without the skip, or None (nothing held out); judge_again: judges `child` again;
            witness: `() -> FrameWitness | None`, asked only when the two judgements tie (None: a tie drops the skip,
            unless `FRAME_TIE_FOLLOWS_LABELS`).
    """
    record = convention.to_dict() | {"labels_say_skip": convention.skip}
    if not convention.skip or judgement is None:
        if convention.skip:
            record["why"] = (f"{convention.evidence()}: the labels say the project leaves them out, but no held-out "
                             "image can confirm it, so cut objects are suggested")
        record["skip"] = False
        return False, judgement, record
    asked = []

    def tie_broken() -> bool:
        if FRAME_TIE_FOLLOWS_LABELS:
            return True
        said = witness() if witness is not None else None
        asked.append(said)
        return bool(said and said.says_skip)

    skip, standing, without, with_skip = kept_if_cheaper(child, "detection_skip_border", judgement, judge_again,
                                                         keep_on_tie=tie_broken)
    record["holdout_effort"] = {"suggesting_cut_objects": without, "skipping_them": with_skip}
    said = asked[0] if asked else None
    if said is not None:
        record["witness"] = said.to_dict()
        heard = (f"; the held-out slice ties, and the parent on {said.images} accepted images costs "
                 f"{said.skipping:.4f} skipping them against {said.suggesting:.4f}")
    else:
        heard = "; the held-out slice ties, and nothing else can tell" if asked else ""
    if skip:
        verdict = "confirmed on" if with_skip < without else "not contradicted by"
        record["why"] += f"; {verdict} the held-out slice (effort {with_skip:.4f} against {without:.4f}){heard}"
        return True, standing, record
    record["why"] = (f"{convention.evidence()}: the labels say the project leaves them out, but on the held-out "
                     f"slice skipping them does not cost less (effort {effort_text(with_skip)} against "
                     f"{without:.4f}){heard}, so cut objects are suggested")
    record["skip"] = False
    return False, judgement, record


def label_claims_record(parent_config: dict) -> dict:
    """The card's `training.label_claims`: `{"value": CHILD_LABEL_CLAIMS, "parent": the parent's, "why"}`."""
    parent = bool(parent_config.get("detection_label_claims", ModelConfig.detection_label_claims))
    state = "on" if CHILD_LABEL_CLAIMS else "off"
    return {"value": CHILD_LABEL_CLAIMS, "parent": parent,
            "why": f"the recipe sets the other labels' claims {state} for every child (CHILD_LABEL_CLAIMS; the "
                   f"parent's are {'on' if parent else 'off'}): session 29 measured children answering drawn boxes "
                   f"through the verifier {'worse' if CHILD_LABEL_CLAIMS else 'better'} without them"}


def inherited_verifier(parent_config: dict, layers: str = "heads") -> dict:
    """The child's verifier from its parent's card config (`CHILD_VERIFIER`): `{"value": whether it has one,
    "threshold", "weights" (the config's numbers, not written to the card's record), "why"}`. Only a child trained on
    the heads (`layers` "heads") keeps it: the verifier reads the backbone's taps, which `layers` "all" changes."""
    weights = tuple(float(v) for v in parent_config.get("detection_verifier") or ())
    if not weights:
        return {"value": False, "why": "the parent has no verifier: drawn boxes are answered on network scores"}
    if layers != "heads":
        return {"value": False, "why": f"the backbone was trained too (layers {layers!r}): the parent's verifier "
                                       "reads the parent's backbone taps, so drawn boxes are answered on network "
                                       "scores"}
    threshold = float(parent_config.get("detection_verifier_threshold", ModelConfig.detection_verifier_threshold))
    return {"value": True, "threshold": threshold, "weights": weights,
            "why": f"the parent's verifier ({len(weights)} numbers) re-scores drawn boxes' answers, cut at its "
                   f"{threshold:g}; held-out figures, calibration and the gate are on network scores; batch "
                   "pre-annotation keeps the child's calibrated threshold"}


def _threshold_record(threshold: float, judgement, calibration, shifted: bool, tie_break: str = "highest") -> dict:
    """The card's `training.score_threshold`: the value, where it was chosen and, when the held-out slice's shifted
    copies took part (`shifted`), what the slice alone would have chosen (by the same `tie_break`)."""
    from model.training.holdout_shift import SHIFTS

    if calibration is None:
        return {"value": threshold, "chosen": "fixed default (no held-out image)"}
    if not shifted:
        return {"value": threshold, "chosen": "calibrated on the held-out slice"}
    slice_only = step_five_calibration(judgement, None, tie_break).threshold
    copies = ", ".join(name for name, _ in SHIFTS)
    return {"value": threshold, "slice_only": slice_only,
            "chosen": f"calibrated on the held-out slice and its shifted copies ({copies}); the slice alone would "
                      f"choose {slice_only:g}"}


def _run_steps(max_steps: int, runs: int, run: int) -> int:
    """Run `run`'s share of `max_steps` (the first `max_steps % runs` runs take one step more); at least 1."""
    return max(1, max_steps // runs + (run < max_steps % runs))


def _bank_answers(figures: dict | None) -> dict:
    """Step 5 of the recipe: `{"value": whether the child's bank pre-annotates, "why": ...}` from its held-out
    figures at its threshold (`HoldoutJudgement.figures_at`, or None when nothing was held out)."""
    bank = (figures or {}).get("modes", {}).get("bank")
    if not bank:
        return {"value": True, "why": "no held-out bank trials to judge it on"}
    effort = float(bank["effort"])
    if not bank_effort_pays(effort):
        return {"value": False, "why": f"held-out bank effort {effort:.4f} at threshold {figures['threshold']:g} is "
                                       f"not below {NOTHING_EFFORT:g}, what suggesting nothing costs: batch "
                                       "pre-annotation suggests nothing with this version"}
    return {"value": True, "why": f"held-out bank effort {effort:.4f} at threshold {figures['threshold']:g} is below "
                                  f"{NOTHING_EFFORT:g}, what suggesting nothing costs"}


class _TailAverage:
    """Collects the fine-tune's weights over the last `average_tail` share of its run (module docstring, step 2) and
    puts their mean into the model when the run ends.

    The tail begins after step `max_steps - round(average_tail * max_steps)` or after that share of the time budget,
    whichever comes first; a snapshot is taken at each progress report in it (every `TAIL_AVERAGE_EVERY` steps and
    at the last step trained, `Trainer.on_step`). The last report always falls in the tail, so at least that step
    is taken; a tail shorter than one report interval averages that step alone (the last step's weights)."""

    def __init__(self, model, settings: FineTuneSettings) -> None:
        from model.training.averaging import RunningAverage

        self.model = model
        self.average = RunningAverage()
        self.from_step = settings.max_steps - round(settings.average_tail * settings.max_steps)
        self.from_seconds = (1.0 - settings.average_tail) * max(1.0, settings.time_budget_s)

    def observe(self, log: StepLog) -> None:
        """Take a snapshot when the progress report `log` falls in the tail."""
        if log.step > self.from_step or log.seconds > self.from_seconds:
            self.average.add(self.model.get_weights())

    def finish(self) -> int:
        """Put the mean into the model; returns how many snapshots were averaged (0: the model is left as it is)."""
        if self.average.count:
            self.model.set_weights(self.average.mean())
        return self.average.count
