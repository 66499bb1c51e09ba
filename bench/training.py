"""Training speed on CPU: seconds per gradient step per preset (the product's fine-tuning stage: `heads`).

Each preset trains in a fresh process (`bench.probe`) with the real `Trainer` loop (its prefetch thread builds
batches from synthetic one-shot episodes while the step runs). The first step includes tracing the step function
and is reported apart; the median of the following steps is the speed.
"""

from __future__ import annotations

import itertools

from bench.plan import Plan
from bench.probe import probe_within
from bench.timing import Deadline, Stats

__all__ = ["run_training", "synthetic_episodes", "train_button_estimate", "training_point"]

EPISODE_SHAPE = (480, 640)
EPISODE_COPIES = 6
EPISODE_POOL = 4
"""Distinct synthetic images cycled through (building them is not what is measured)."""
PROBE_TIMEOUT_S = 600.0
TRAIN_BUTTON_PRESET = "mobile"
"""The preset projects fine-tune by default (the shipped checkpoint)."""


def synthetic_episodes(seed: int):
    """An endless iterator of one-shot `Episode`s on synthetic scenes (reference: another copy of the object)."""
    from bench.scenes import make_scene
    from model.data.episodes import Episode

    pool = []
    for index in range(EPISODE_POOL):
        scene = make_scene(*EPISODE_SHAPE, EPISODE_COPIES, seed=seed + index)
        pool.append(Episode(query_image=scene.image, gt_boxes=scene.boxes, gt_masks=scene.masks(),
                            reference_image=scene.image, reference_box=scene.boxes[1], category="object",
                            category_id=0, query_id=f"q{index}", reference_id=f"q{index}"))
    return itertools.cycle(pool)


def training_point(preset: str, steps: int, warmup: int, batch: int, seed: int) -> dict:
    """(In a probe process.) `warmup + steps` heads-stage steps of `preset`; seconds per step."""
    from bench.models import build_predictor
    from model.training.trainer import Trainer, TrainSettings

    # The benchmark model of the preset (the shipped checkpoint's network for `mobile`, as a project fine-tunes it).
    model = build_predictor(preset, {}, seed, "float32").model
    config = model.config
    settings = TrainSettings(steps=warmup + steps, batch_size=batch, layers="heads", optimizer="adam",
                             learning_rate=1e-4, log_every=1, seed=seed)
    history = Trainer(model, synthetic_episodes(seed), settings).run()
    ends = [log_entry.seconds for log_entry in history]
    durations = [ends[0]] + [b - a for a, b in itertools.pairwise(ends)]
    recorded = durations[warmup:] or durations[-1:]
    return {"preset": preset, "image_size": config.image_size, "batch_size": batch, "stage": "heads",
            "first_step_s": round(durations[0], 3), "step_s": Stats.of(recorded).to_dict(3),
            "final_loss": round(history[-1].total, 4)}


def run_training(plan: Plan, deadline: Deadline) -> dict:
    """Seconds per step for each training preset of the plan (fresh process each)."""
    results: dict = {"presets": {}}
    for preset in plan.training_presets:
        results["presets"][preset] = probe_within("training", {
            "preset": preset, "steps": plan.training_steps, "warmup": 1, "batch": plan.training_batch,
            "seed": plan.seed}, deadline, PROBE_TIMEOUT_S)
    results["train_button_to_new_version"] = train_button_estimate(results["presets"].get(TRAIN_BUTTON_PRESET))
    return results


def train_button_estimate(measured: dict | None) -> str:
    """The Train button's wall time is not measured in this run (a default fine-tuning run alone takes minutes, more
    than the run's budget allows; `python -m bench.train_button` measures it on the real service); estimate its training
    part from the measured batch-1 step time and the default budget."""
    from common.settings import Settings

    settings = Settings.from_env({})
    steps, budget = settings.train_max_steps, settings.train_time_budget
    text = (f"not measured in this run (see `python -m bench.train_button` for a measurement on the real service): "
            f"the default budget is "
            f"TRAIN_MAX_STEPS={steps} steps or TRAIN_TIME_BUDGET={budget:g} s of training, plus fetching the images "
            "and the held-out evaluation")
    if measured and "step_s" in measured and measured.get("batch_size") == 1:
        seconds = min(steps * measured["step_s"]["median"], budget)
        text += (f"; at the {TRAIN_BUTTON_PRESET} step time measured here that is about {seconds:.0f} s of "
                 "training (estimate)")
    return text
