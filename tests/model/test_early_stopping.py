"""Early stopping in the trainer: validations at the right steps, the best step's weights in the checkpoint, the
validation curve in the card, and clear errors for contradictory options.

The scores are scripted by replacing only `score_validation` (the evaluator call); one test runs the real evaluator.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model.data.annotations import AnnotatedImage, Dataset, InstanceAnnotation
from model.data.episodes import EpisodeSampler
from model.training import early_stopping as early_stopping_module
from model.training.early_stopping import EarlyStopping, ValidationSettings, select_validation_classes
from model.training.trainer import Trainer, TrainSettings

CATEGORIES = ("square", "bar", "spot")
"""Train, validation and test class of the synthetic data."""
COLOURS = {"square": (230, 200, 40), "bar": (40, 90, 230), "spot": (220, 40, 40)}
SIZES = {"square": (30, 30), "bar": (40, 20), "spot": (24, 24)}
LAYOUTS = (
    {"square": (8, 8), "bar": (60, 10), "spot": (20, 60)},
    {"square": (70, 50), "bar": (10, 60), "spot": (96, 10)},
    {"square": (40, 30), "bar": (80, 70), "spot": (8, 8)},
)
HEIGHT, WIDTH = 96, 128


def _pixels(layout: dict) -> np.ndarray:
    image = np.full((HEIGHT, WIDTH, 3), 25, np.uint8)
    for name, (x, y) in layout.items():
        w, h = SIZES[name]
        image[y : y + h, x : x + w] = COLOURS[name]
    return image


def synthetic_dataset() -> Dataset:
    """Three 96x128 images, each with one square, one bar and one spot (box-only annotations)."""
    images = []
    for index, layout in enumerate(LAYOUTS):
        instances = tuple(
            InstanceAnnotation(
                CATEGORIES.index(name), name,
                np.array([x, y, x + SIZES[name][0], y + SIZES[name][1]], np.float32),
            )
            for name, (x, y) in layout.items()
        )
        pixels = _pixels(layout)
        images.append(AnnotatedImage(f"im{index}", lambda p=pixels: p, HEIGHT, WIDTH, instances))
    return Dataset(CATEGORIES, tuple(images), name="synthetic")


def _trainer(dataset, steps, stopper=None, **settings):
    import keras

    from model.builder import build_model
    from model.presets import get_preset

    keras.utils.set_random_seed(3)
    model = build_model(get_preset("tiny"))
    episodes = iter(EpisodeSampler(dataset, ("square",), seed=0))
    options = {"steps": steps, "layers": "heads", "learning_rate": 1e-3, "log_every": 1} | settings
    return Trainer(model, episodes, TrainSettings(**options), early_stopping=stopper)


def _script_scores(monkeypatch, box_ap50s):
    """Replace the evaluator call by a scripted sequence; record each call's step order and weights."""
    calls = []

    def scripted(predictor, dataset, classes, settings):
        calls.append([np.array(w) for w in predictor.model.get_weights()])
        value = box_ap50s[len(calls) - 1]
        return {"box_ap50": value, "recall": value / 2, "precision": None}

    monkeypatch.setattr(early_stopping_module, "score_validation", scripted)
    return calls


def _same_weights(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_validations_run_every_n_steps_and_the_checkpoint_holds_the_best_steps_weights(monkeypatch, tmp_path):
    from model.checkpoint import ModelCard, load_checkpoint

    calls = _script_scores(monkeypatch, [0.1, 0.5, 0.2])
    stopper = EarlyStopping(synthetic_dataset(), ("bar",), ValidationSettings(every=2), source="explicit")
    trainer = _trainer(stopper.dataset, 5, stopper)
    out = tmp_path / "model.weights.h5"
    trainer.run(out, ModelCard(version="tiny-es", preset="tiny", config={}))

    assert [p.step for p in stopper.curve] == [2, 4, 5]  # every 2 steps, and the last step
    assert not _same_weights(calls[1], calls[2])  # training went on after the best step
    assert _same_weights(trainer.model.get_weights(), calls[1])
    model, card = load_checkpoint(out)
    assert _same_weights(model.get_weights(), calls[1])
    validation = card.training["validation"]
    assert card.training["steps"] == 4 and card.training["steps_trained"] == 5
    assert validation["chosen_step"] == 4 and validation["classes"] == ["bar"] and not validation["stopped_early"]
    assert [(p["step"], p["box_ap50"], p["recall"]) for p in validation["curve"]] == [
        (2, 0.1, 0.05), (4, 0.5, 0.25), (5, 0.2, 0.1)]
    assert "validation classes" in validation["chosen_by"] and "test classes were not used" in validation["chosen_by"]


def test_patience_stops_after_k_validations_without_improvement(monkeypatch):
    _script_scores(monkeypatch, [0.3, 0.2, 0.3, 0.9])
    stopper = EarlyStopping(synthetic_dataset(), ("bar",), ValidationSettings(every=1, patience=2))
    trainer = _trainer(stopper.dataset, 10, stopper)
    trainer.run()
    assert [p.step for p in stopper.curve] == [1, 2, 3]  # a tie is no improvement: the earlier step stays best
    assert stopper.best.step == 1 and stopper.should_stop
    final, during = stopper.card_section(stopped_early=True), stopper.card_section()
    assert final["chosen_step"] == 1 and final["stopped_early"] is True
    # A checkpoint written during training holds the current weights: its card names no choice.
    assert during["best_so_far_step"] == 1 and "chosen_step" not in during
    # The same instance serves a second run from scratch (nothing of the first run's curve or weights).
    _script_scores(monkeypatch, [0.5, 0.6])
    trainer.settings = dataclasses.replace(trainer.settings, steps=2)
    trainer.run()
    assert [p.step for p in stopper.curve] == [1, 2] and stopper.best.step == 2


def test_the_real_evaluator_scores_reproducibly_and_leaves_the_training_state_alone(tmp_path):
    from model.checkpoint import read_card

    stopper = EarlyStopping(synthetic_dataset(), ("bar",), ValidationSettings(every=2, score_threshold=0.0))
    trainer = _trainer(stopper.dataset, 2, stopper)
    trainer.run(tmp_path / "model.weights.h5")
    (point,) = read_card(tmp_path / "model.weights.h5").training["validation"]["curve"]
    assert point["step"] == 2 and 0.0 <= point["box_ap50"] <= 1.0 and 0.0 <= point["recall"] <= 1.0

    def state():
        return ([np.array(w) for w in trainer.model.get_weights()],
                [v.numpy() for v in trainer.optimizer.variables], trainer.rng.bit_generator.state)

    weights, slots, rng = state()
    again = stopper.validate(trainer.model, 2)  # the same seed: the same references, the same score
    assert (again.box_ap50, again.recall, again.precision) == (point["box_ap50"], point["recall"], point["precision"])
    after_weights, after_slots, after_rng = state()
    assert _same_weights(weights, after_weights) and _same_weights(slots, after_slots) and rng == after_rng


def test_validation_classes_must_be_held_out():
    held_out = {"bar", "spot"}
    assert select_validation_classes(CATEGORIES, held_out, names=["bar"]) == ("bar",)
    with pytest.raises(ValueError, match=r"\['square'\] are training classes.*--held-out"):
        select_validation_classes(CATEGORIES, held_out, names=["square"])
    with pytest.raises(ValueError, match="not categories"):
        select_validation_classes(CATEGORIES, held_out, names=["unicorn"])


def test_validation_needs_a_query_in_the_first_images():
    background = AnnotatedImage("empty", lambda: np.zeros((HEIGHT, WIDTH, 3), np.uint8), HEIGHT, WIDTH)
    dataset = synthetic_dataset()
    with pytest.raises(ValueError, match="raise --validation-images"):
        EarlyStopping(Dataset(CATEGORIES, (background, *dataset.images)), ("bar",),
                      ValidationSettings(every=1, max_images=1))
    single = Dataset(CATEGORIES, dataset.images[:1])
    with pytest.raises(ValueError, match="another image"):
        EarlyStopping(single, ("bar",), ValidationSettings(every=1))


# --- the train command ---------------------------------------------------------------------------------------


def _write_yolo_seg(root: Path, names: tuple[str, ...] = CATEGORIES) -> None:
    """The synthetic dataset as a yolo-seg folder (box polygons); `names` (3 or more) renames its categories."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "classes.txt").write_text("\n".join(names) + "\n")
    for index, layout in enumerate(LAYOUTS):
        Image.fromarray(_pixels(layout)).save(root / "images" / f"im{index}.png")
        lines = []
        for name, (x, y) in layout.items():
            w, h = SIZES[name]
            corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
            coords = " ".join(f"{px / WIDTH:.5f} {py / HEIGHT:.5f}" for px, py in corners)
            lines.append(f"{CATEGORIES.index(name)} {coords}")
        (root / "labels" / f"im{index}.txt").write_text("\n".join(lines) + "\n")


@pytest.fixture()
def train_args(tmp_path):
    data = tmp_path / "data"
    _write_yolo_seg(data)
    return ["train", "--data", str(data), "--format", "yolo-seg", "--preset", "tiny", "--out", str(tmp_path / "run")]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--held-out", "bar", "--validate-every", "2"], "--validate-every needs validation classes"),
        (["--held-out", "bar", "--validation-classes", "bar"], "--validate-every is 0"),
        (["--held-out", "bar", "--validate-every", "2", "--validation-classes", "square"],
         "['square'] are training classes"),
        (["--held-out", "bar", "--validate-every", "2", "--validation-split", "2"],
         "--validation-split 2 is not held out from training"),
    ],
)
def test_train_refuses_contradictory_validation_options(train_args, options, message, capsys):
    from model.cli import main

    assert main([*train_args, *options]) == 2
    assert message in capsys.readouterr().err


def test_validation_split_must_be_one_of_the_held_out_splits(tmp_path, capsys):
    from model.cli import main
    from model.data.splits import COCO_CLASSES, paper_split

    data = tmp_path / "coco-named"
    _write_yolo_seg(data, COCO_CLASSES)  # square = person (split 1), bar = bicycle (2), spot = car (3)
    args = ["train", "--data", str(data), "--format", "yolo-seg", "--out", str(tmp_path / "run")]
    assert main([*args, "--split", "1", "--validate-every", "2", "--validation-split", "2"]) == 2
    assert "give it to --split as well (e.g. --split 1 2 --validation-split 2)" in capsys.readouterr().err
    chosen = select_validation_classes(COCO_CLASSES, paper_split(1).held_out | paper_split(2).held_out, split=2)
    assert chosen[:2] == ("bicycle", "bus") and set(chosen) == paper_split(2).held_out


def test_train_command_keeps_the_best_step_and_logs_the_curve(train_args, monkeypatch, tmp_path):
    from model.cli import main

    _script_scores(monkeypatch, [0.4, 0.1])
    code = main([*train_args, "--held-out", "bar", "spot", "--steps", "2", "--layers", "heads",
                 "--validate-every", "1", "--validation-classes", "bar"])
    assert code == 0
    card = json.loads((tmp_path / "run" / "model.card.json").read_text())
    training = card["training"]
    assert training["validation_classes"] == ["bar"] and training["test_classes"] == ["spot"]
    assert training["steps"] == 1 and training["validation"]["chosen_step"] == 1
    assert [p["step"] for p in training["validation"]["curve"]] == [1, 2]
    logged = [json.loads(line) for line in (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logged if "validation" in r] == [1, 2]
