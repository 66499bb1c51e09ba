"""Fine-tuning on a project's accepted annotations: a new checkpoint, its parent's metrics beside its own."""

import numpy as np
import pytest
from project_scenes import project

from model.checkpoint import ModelCard, read_card, save_checkpoint
from model.config import ModelConfig
from model.data.annotations import AnnotatedImage, Dataset, InstanceAnnotation
from model.training.finetune import (
    CHILD_LABEL_CLAIMS,
    CHILD_SIZE_TOLERANCE,
    FIXED_THRESHOLD,
    MAX_RUNS,
    NOTHING_EFFORT,
    FineTuneResult,
    FineTuneSettings,
    _run_steps,
    finetune,
    inherited_verifier,
    label_claims_record,
)
from model.training.holdout_split import split_holdout
from model.verifier import Verifier


def _square_image(seed: int, n: int = 3):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 40, (96, 128, 3), dtype=np.uint8)
    instances = []
    for i in range(n):
        x, y = 8 + 38 * i, 10 + 20 * (i % 2)
        image[y : y + 24, x : x + 24] = (230, 200, 40)
        instances.append(
            InstanceAnnotation(category_id=0, category="tile", box=np.array([x, y, x + 24, y + 24], np.float32),
                               polygons=(np.array([[x, y], [x + 24, y], [x + 24, y + 24], [x, y + 24]], np.float32),))
        )
    return AnnotatedImage(image_id=str(seed), source=lambda: image, height=96, width=128, instances=tuple(instances))


def _dataset(count: int) -> Dataset:
    return Dataset(("tile",), tuple(_square_image(s) for s in range(count)), "synthetic")


def test_split_holdout_rules():
    split = split_holdout(_dataset(5), 0.2, seed=0)
    assert len(split.train.images) == 4 and len(split.holdout.images) == 1
    assert not {i.image_id for i in split.train.images} & {i.image_id for i in split.holdout.images}
    split = split_holdout(_dataset(1), 0.2, seed=0)
    assert len(split.train.images) == 1 and len(split.holdout.images) == 0
    split = split_holdout(_dataset(2), 0.9, seed=0)
    assert len(split.train.images) == 1 and len(split.holdout.images) == 1


def _result(new_effort, parent_effort, disjoint=True):
    figures = {"new": None if new_effort is None else {"effort": new_effort, "threshold": 0.8},
               "parent": None if parent_effort is None else {"effort": parent_effort, "threshold": 0.5}}
    card = ModelCard("child", "tiny", {}, training={"holdout_split": {"disjoint": disjoint}})
    return FineTuneResult(None, card, 1, 1.0, 1, 1, figures)


def test_the_gate_refuses_a_child_with_higher_effort():
    allowed, reason = _result(0.4, 0.9).effort_gate()
    assert allowed and "not higher" in reason
    allowed, reason = _result(0.95, 0.9).effort_gate()
    assert not allowed and "parent stays active" in reason
    assert _result(0.95, 0.9).effort_gate(tolerance=0.1)[0]
    assert _result(0.9, 0.9).effort_gate()[0]  # equal effort: the child (with its calibrated threshold) is taken
    assert _result(None, None).effort_gate()[0]  # one image: nothing held out to compare on
    assert "near-copies" not in reason


def test_the_gate_says_when_the_held_out_images_share_a_clip_with_trained_ones():
    allowed, reason = _result(0.4, 0.9, disjoint=False).effort_gate()
    assert allowed and "not higher" in reason
    assert "near-copies of trained ones" in reason and "video_id or video" in reason


def test_the_gate_says_when_the_versions_weights_are_a_refit_of_the_judged_child():
    result = _result(0.4, 0.9)
    result.card.training["refit"] = {"images": 5, "steps": 150, "train_seconds": 60.0}
    allowed, reason = result.effort_gate()
    assert allowed and reason.endswith("trained again on every accepted image (refit), not judged themselves")


@pytest.mark.slow
def test_finetune_writes_a_loadable_child_with_held_out_effort_and_threshold(tiny_model, tmp_path):
    from model.checkpoint import load_checkpoint
    from model.evaluation.calibration import SWEEP

    parent = tmp_path / "parent.weights.h5"
    # a parent whose drawn boxes join their label's bank: the child does not inherit it undecided
    save_checkpoint(tiny_model, parent, ModelCard(version="tiny-v1", preset="tiny",
                                                  config={"detection_drawn_bank": True}))
    progress = []
    result = finetune(
        parent, project(5), tmp_path / "child.weights.h5", "tiny-v2",
        FineTuneSettings(max_steps=6, time_budget_s=120, holdout_fraction=0.4), on_progress=progress.append,
    )
    assert result.steps == 6 and [p.step for p in progress] == [5, 6]
    assert result.train_images == 3 and result.holdout_images == 2
    card = read_card(result.weights_path)
    assert card.version == "tiny-v2" and card.parent == "tiny-v1" and card.training["kind"] == "fine-tune"
    assert card.training["settings"]["max_steps"] == 6 and card.training["recipe"]
    # project()'s images share one layout (near-copies by thumbnail): one group, so the split falls back to images
    assert card.training["holdout_split"] == {"train_images": 3, "holdout_images": 2, "groups": 1,
                                              "holdout_groups": 0, "disjoint": False}
    threshold = card.training["score_threshold"]["value"]
    assert threshold in SWEEP and card.metrics["calibration"]["threshold"] == threshold
    # chosen on the held-out slice and its shifted copies (the default), with the slice's own choice beside it
    assert card.training["settings"]["shifted_calibration"] is True
    assert card.training["settings"]["tie_break"] == "middle" == card.metrics["calibration"]["tie_break"]
    assert "shifted copies (dim, defocus)" in card.training["score_threshold"]["chosen"]
    assert card.training["score_threshold"]["slice_only"] in SWEEP
    new, parent_figures = card.metrics["holdout"]["new"], card.metrics["holdout"]["parent"]
    assert new["threshold"] == threshold and parent_figures["threshold"] == 0.5  # the tiny preset's own
    for figures in (new, parent_figures):
        assert figures["effort"] >= 0 and set(figures["modes"]) == {"interactive", "bank"}
        assert figures["modes"]["bank"]["trials"] == 2 * 2  # (held-out image, label)
    model, loaded = load_checkpoint(result.weights_path)
    assert model.config.detection_min_confidence == threshold and loaded.version == "tiny-v2"
    pays = new["modes"]["bank"]["effort"] < NOTHING_EFFORT
    assert card.training["bank_answers"]["value"] is pays and model.config.detection_bank_answers is pays
    # 3 training images of 4 small squares, none at the frame where about 5.2 would be: the labels say the project
    # leaves cut objects out (P(0 | 5.2) < 0.01); the held-out slice's squares lie away from the frame, so both its
    # judgements are the same, and the parent, loaded again, answers the training images to break the tie
    frame = card.training["frame_convention"]
    assert frame["instances"] == 12 and frame["labels_say_skip"] is True
    assert frame["holdout_effort"]["skipping_them"] == frame["holdout_effort"]["suggesting_cut_objects"]
    assert frame["witness"]["images"] == 3 and "the held-out slice ties" in frame["why"]
    assert frame["skip"] is frame["witness"]["says_skip"] is model.config.detection_skip_border
    assert model.config.detection_drawn_bank is False and card.training["drawn_bank"]["value"] is False
    assert "not decided" in card.training["drawn_bank"]["why"]
    # a parent without a verifier gives a child without one
    assert model.config.detection_verifier == () and card.training["verifier"]["value"] is False
    assert read_card(parent).version == "tiny-v1"  # the parent is untouched


@pytest.mark.slow
def test_finetune_on_one_image_takes_the_fixed_threshold(tiny_model, tmp_path):
    from model.checkpoint import load_checkpoint

    parent = tmp_path / "parent.weights.h5"
    own = tiny_model.config
    # a parent whose own bank did not pay, with a size prior and a verifier for drawn boxes (as the shipped one)
    verifier = Verifier(0.4, (1.0, 2.0, -0.5, -0.1), (1.0, 0.8, 0.2, 0.3), (1.5, 0.1, 0.2, 0.4)).to_config()
    tiny_model.config = own.replace(detection_bank_answers=False, detection_size_tolerance=1.25,
                                    detection_verifier=verifier, detection_verifier_threshold=0.55,
                                    detection_label_claims=True)
    try:
        save_checkpoint(tiny_model, parent, ModelCard(version="tiny-v1", preset="tiny", config={}))
    finally:
        tiny_model.config = own
    parent_config = load_checkpoint(parent)[0].config
    assert parent_config.detection_bank_answers is False and parent_config.detection_size_tolerance == 1.25
    result = finetune(parent, project(1), tmp_path / "child.weights.h5", "tiny-v2",
                      FineTuneSettings(max_steps=2, time_budget_s=60))
    card = read_card(result.weights_path)
    assert result.holdout_images == 0 and card.metrics["holdout"] == {"new": None, "parent": None}
    assert card.training["score_threshold"]["value"] == FIXED_THRESHOLD and result.effort_gate()[0]
    # nothing held out to judge the bank on: the child's bank answers, whatever its parent's did
    assert card.training["bank_answers"]["value"] is True
    child_config = load_checkpoint(result.weights_path)[0].config
    assert child_config.detection_bank_answers is True
    # the child has learnt the kinds: it answers drawn boxes without its parent's size prior
    assert child_config.detection_size_tolerance == CHILD_SIZE_TOLERANCE == 0.0
    # and without the other labels' claims, which its parent had (session 29), as its card records
    assert child_config.detection_label_claims is CHILD_LABEL_CLAIMS is False
    assert card.training["label_claims"]["value"] is False and card.training["label_claims"]["parent"] is True
    # and through its parent's verifier, at the parent's threshold; batch pre-annotation keeps its own threshold
    assert child_config.detection_verifier == verifier and child_config.detection_verifier_threshold == 0.55
    assert child_config.drawn_box_threshold == 0.55 and child_config.detection_min_confidence == FIXED_THRESHOLD
    assert card.training["verifier"]["value"] is True and card.training["verifier"]["threshold"] == 0.55
    assert "weights" not in card.training["verifier"]
    # trained without the verifier's taps, loaded with them: a drawn box's answer goes through the verifier
    from model.answering import AnswerThresholds, find_for_drawn_boxes
    from model.predictor import Predictor

    child = Predictor(load_checkpoint(result.weights_path)[0], version="tiny-v2")
    image = project(1).images[0].load_image()
    box = np.array([[20, 20, 60, 60]], np.float32)
    query = child.encode_image(image)
    assert "taps" in query.features
    answer = find_for_drawn_boxes(child, image, query, child.encode_references(image, box),
                                  AnswerThresholds(0.55, 0.5, 100), box)
    assert all(0.55 <= instance.score <= 1 for instance in answer)


def test_the_childs_claims_are_the_recipes_whatever_the_parents():
    for parent in ({}, {"detection_label_claims": True}, {"detection_label_claims": False}):
        record = label_claims_record(parent)
        assert record["value"] is CHILD_LABEL_CLAIMS
        assert record["parent"] is parent.get("detection_label_claims", ModelConfig.detection_label_claims)
        assert ("parent's are on" in record["why"]) is record["parent"]


def test_a_child_inherits_its_parents_verifier_or_none():
    assert inherited_verifier({})["value"] is False
    assert inherited_verifier({"detection_verifier": []})["value"] is False
    numbers = [0.1] * 13
    parent = {"detection_verifier": numbers, "detection_verifier_threshold": 0.6}
    got = inherited_verifier(parent)
    assert got["value"] is True and got["weights"] == tuple(numbers) and got["threshold"] == 0.6
    assert "0.6" in got["why"]
    # a child whose backbone was trained too reads other taps than the verifier was fitted on
    trained_backbone = inherited_verifier(parent, "all")
    assert trained_backbone["value"] is False and "backbone" in trained_backbone["why"]


@pytest.mark.slow
def test_a_judged_child_keeps_its_own_calibrated_threshold_beside_its_parents_verifier(tiny_model, tmp_path):
    """With a held-out slice: judging, calibration and the gate run on network scores (the parent's figures are
    read at its network threshold), and the verifier, added last, keeps the parent's threshold."""
    parent = tmp_path / "parent.weights.h5"
    own = tiny_model.config
    verifier = Verifier(0.4, (1.0, 2.0, -0.5, -0.1), (1.0, 0.8, 0.2, 0.3), (1.5, 0.1, 0.2, 0.4)).to_config()
    tiny_model.config = own.replace(detection_verifier=verifier, detection_verifier_threshold=0.85)
    try:
        save_checkpoint(tiny_model, parent, ModelCard(version="tiny-v1", preset="tiny", config={}))
    finally:
        tiny_model.config = own
    result = finetune(parent, project(5), tmp_path / "child.weights.h5", "tiny-v2",
                      FineTuneSettings(max_steps=3, time_budget_s=120, holdout_fraction=0.4))
    card = read_card(result.weights_path)
    threshold = card.training["score_threshold"]["value"]
    assert result.holdout_images == 2 and card.metrics["calibration"]["threshold"] == threshold
    assert card.config["detection_min_confidence"] == threshold == card.metrics["holdout"]["new"]["threshold"]
    assert card.metrics["holdout"]["parent"]["threshold"] == own.detection_min_confidence == 0.5
    assert card.config["detection_verifier"] == list(verifier) and card.config["detection_verifier_threshold"] == 0.85
    assert card.training["verifier"] == {"value": True, "threshold": 0.85, "why": card.training["verifier"]["why"]}


@pytest.mark.parametrize(("effort", "answers"), [(0.2, True), (0.999, True), (1.0, False), (1.4, False)])
def test_the_bank_answers_only_where_it_costs_less_than_suggesting_nothing(effort, answers):
    from model.training.finetune import _bank_answers

    figures = {"threshold": 0.9, "effort": 0.5, "modes": {"interactive": {"effort": 0.1}, "bank": {"effort": effort}}}
    decision = _bank_answers(figures)
    assert decision["value"] is answers and f"{effort:.4f}" in decision["why"]
    assert _bank_answers(None)["value"] is True
    assert _bank_answers({"threshold": 0.9, "modes": {"interactive": {"effort": 2.0}}})["value"] is True


@pytest.mark.parametrize("share", [-0.1, 1.5, float("nan")])
def test_finetune_refuses_a_parent_share_outside_0_to_1_before_training(share, tmp_path):
    with pytest.raises(ValueError, match="parent-share"):
        finetune(tmp_path / "absent.weights.h5", project(2), tmp_path / "child.weights.h5", "v2",
                 FineTuneSettings(parent_share=share))


def test_finetune_without_annotations_is_refused(tiny_model, tmp_path):
    parent = tmp_path / "parent.weights.h5"
    save_checkpoint(tiny_model, parent, ModelCard(version="tiny-v1", preset="tiny", config={}))
    empty = Dataset(("tile",), (AnnotatedImage("0", lambda: np.zeros((8, 8, 3), np.uint8), 8, 8, ()),))
    with pytest.raises(ValueError, match="nothing to fine-tune"):
        finetune(parent, empty, tmp_path / "child.weights.h5", "tiny-v2")


@pytest.mark.slow
def test_parent_share_moves_the_child_back_to_its_parent(tiny_model, tmp_path, monkeypatch):
    """One run at share 0.25, its trained weights recorded as training ends: the child is exactly 3/4 of them plus
    1/4 of the parent's (one run, so no tolerance for CPU training's run-to-run differences is needed; a share other
    than 0.5 also tells the two coefficients apart, as the old share-1.0 child did)."""
    import model.training.finetune as recipe
    from model.checkpoint import load_checkpoint

    trained = []

    class RecordingTrainer(recipe.Trainer):
        def run(self):
            outcome = super().run()
            trained.append(self.model.get_weights())
            return outcome

    monkeypatch.setattr(recipe, "Trainer", RecordingTrainer)
    parent = tmp_path / "parent.weights.h5"
    save_checkpoint(tiny_model, parent, ModelCard(version="tiny-v1", preset="tiny", config={}))
    parent_weights = load_checkpoint(parent)[0].get_weights()
    result = finetune(parent, project(3), tmp_path / "child.weights.h5", "tiny-v2",
                      FineTuneSettings(max_steps=3, time_budget_s=120, parent_share=0.25))
    assert read_card(result.weights_path).training["settings"]["parent_share"] == 0.25
    child = load_checkpoint(result.weights_path)[0].get_weights()
    (end_of_training,) = trained
    moved = [i for i, (a, b) in enumerate(zip(end_of_training, parent_weights, strict=True)) if not np.allclose(a, b)]
    assert moved, "three steps of training change some weights"
    for i in moved:
        np.testing.assert_allclose(child[i], 0.75 * end_of_training[i] + 0.25 * parent_weights[i], rtol=1e-6,
                                   atol=1e-7)
        assert not np.allclose(child[i], end_of_training[i]), "the share was not applied"


@pytest.mark.parametrize("tail", [-0.1, 0.96, float("nan")])
def test_finetune_refuses_an_average_tail_outside_0_to_1_before_training(tail, tmp_path):
    with pytest.raises(ValueError, match="average-tail"):
        finetune(tmp_path / "absent.weights.h5", project(2), tmp_path / "child.weights.h5", "v2",
                 FineTuneSettings(average_tail=tail))


@pytest.mark.slow
def test_average_tail_makes_the_child_the_mean_of_the_runs_last_snapshots(tiny_model, tmp_path, monkeypatch):
    """10 steps averaged over their last 60%: snapshots at steps 5 and 10, and the child is their mean (the
    snapshots are recorded as the run takes them: two runs are not always the same trajectory)."""
    import model.training.finetune as recipe
    from model.checkpoint import load_checkpoint

    taken = []
    observe = recipe._TailAverage.observe

    def recording(self, log):
        before = self.average.count
        observe(self, log)
        if self.average.count > before:
            taken.append((log.step, self.model.get_weights()))

    monkeypatch.setattr(recipe._TailAverage, "observe", recording)
    parent = tmp_path / "parent.weights.h5"
    save_checkpoint(tiny_model, parent, ModelCard(version="tiny-v1", preset="tiny", config={}))
    result = finetune(parent, project(3), tmp_path / "child.weights.h5", "tiny-v2",
                      FineTuneSettings(max_steps=10, time_budget_s=300, average_tail=0.6, holdout_fraction=0))
    card = read_card(result.weights_path)
    assert [step for step, _ in taken] == [5, 10]
    assert card.training["tail_snapshots_averaged"] == 2 and card.training["settings"]["average_tail"] == 0.6
    (_, at5), (_, at10) = taken
    child = load_checkpoint(result.weights_path)[0].get_weights()
    moved = [i for i, (a, b) in enumerate(zip(at5, at10, strict=True)) if not np.allclose(a, b)]
    assert moved, "five more steps change some weights"
    for i in moved:
        np.testing.assert_allclose(child[i], (at5[i] + at10[i]) / 2, rtol=1e-5, atol=1e-7)


class _Weights:
    """A stand-in for the model's weight access: one array that the test sets to the step's number."""

    def __init__(self):
        self.value = np.zeros(2, np.float32)

    def get_weights(self):
        return [self.value.copy()]

    def set_weights(self, weights):
        self.value = weights[0]


@pytest.mark.parametrize(("tail", "reports", "expected"), [
    (0.5, [(5, 1), (50, 10), (55, 11), (100, 20)], [55, 100]),  # by steps: after step 50
    (0.55, [(45, 9), (50, 10), (100, 20)], [50, 100]),  # whole steps: 100 - 55 = 45, so step 45 is before the tail
    (0.5, [(10, 5), (20, 46), (23, 50)], [20, 23]),  # by time (budget 90 s, tail from 45 s); 23 is the stop step
    (0.01, [(95, 20), (100, 21)], [100]),  # a tail shorter than one interval: the last step alone
])
def test_tail_average_takes_the_reports_in_the_tail(tail, reports, expected):
    from model.training.finetune import _TailAverage
    from model.training.trainer import StepLog

    weights = _Weights()
    tail_average = _TailAverage(weights, FineTuneSettings(max_steps=100, time_budget_s=90, average_tail=tail))
    for step, seconds in reports:
        weights.value = np.full(2, step, np.float32)
        tail_average.observe(StepLog(step, {}, 0.0, seconds))
    assert tail_average.finish() == len(expected)
    assert np.allclose(weights.value, np.mean(expected))


def test_the_worker_fine_tunes_with_the_settings_of_its_environment():
    from common.settings import Settings
    from worker.training import _finetune_settings

    settings = _finetune_settings(Settings.from_env({"TRAIN_AVERAGE_TAIL": "0.3", "TRAIN_PARENT_SHARE": "0.2",
                                                     "TRAIN_RUNS": "3", "TRAIN_SHIFTED_CALIBRATION": "false",
                                                     "TRAIN_ACQUISITION_SHIFT": "true", "TRAIN_REFIT": "true",
                                                     "TRAIN_TIE_BREAK": "highest",
                                                     "TRAIN_DRAWN_BANK": "where-bank-pays"}))
    assert settings.average_tail == 0.3 and settings.parent_share == 0.2 and settings.runs == 3
    assert settings.tie_break == "highest" and settings.drawn_bank == "where-bank-pays"
    assert settings.shifted_calibration is False and settings.acquisition_shift is True and settings.refit is True
    defaults = _finetune_settings(Settings.from_env({}))
    assert defaults.average_tail == FineTuneSettings().average_tail and defaults.runs == FineTuneSettings().runs == 1
    assert defaults.shifted_calibration is FineTuneSettings().shifted_calibration is True
    assert defaults.acquisition_shift is FineTuneSettings().acquisition_shift
    assert defaults.refit is FineTuneSettings().refit
    assert defaults.drawn_bank == FineTuneSettings().drawn_bank == "off"
    assert defaults.tie_break == FineTuneSettings().tie_break == "middle"


@pytest.mark.parametrize(("runs", "tail", "tie_break", "drawn_bank", "message"), [
    (0, 0.0, "middle", "off", "runs 0 is outside 1-8"), (MAX_RUNS + 1, 0.0, "middle", "off", "TRAIN_RUNS"),
    (2, 0.5, "middle", "off", "choose one"), (1, 0.0, "lowest", "off", "TRAIN_TIE_BREAK"),
    (1, 0.0, "middle", "always", "TRAIN_DRAWN_BANK as one of off, held-out, where-bank-pays")])
def test_finetune_refuses_bad_settings_before_training(runs, tail, tie_break, drawn_bank, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        finetune(tmp_path / "absent.weights.h5", project(2), tmp_path / "child.weights.h5", "v2",
                 FineTuneSettings(runs=runs, average_tail=tail, tie_break=tie_break, drawn_bank=drawn_bank))


def test_the_environment_offers_the_recipes_drawn_bank_rules():
    from common.exceptions import SettingsError
    from common.settings import Settings
    from model.training.drawn_bank import DRAWN_BANK_RULES

    for rule in DRAWN_BANK_RULES:
        assert Settings.from_env({"TRAIN_DRAWN_BANK": rule}).train_drawn_bank == rule
    with pytest.raises(SettingsError, match="TRAIN_DRAWN_BANK='true': use one of off, held-out, where-bank-pays"):
        Settings.from_env({"TRAIN_DRAWN_BANK": "true"})


@pytest.mark.parametrize(("max_steps", "runs", "expected"), [(150, 1, [150]), (150, 2, [75, 75]),
                                                              (10, 3, [4, 3, 3]), (1, 2, [1, 1])])
def test_runs_share_the_steps(max_steps, runs, expected):
    assert [_run_steps(max_steps, runs, run) for run in range(runs)] == expected


@pytest.mark.slow
def test_two_runs_make_the_child_the_mean_of_their_weights(tiny_model, tmp_path):
    """Two runs of 3 steps each (6 shared), from the same parent with other episode orders: the child is the mean of
    the two runs' weights, the card says so, and progress counts steps over both runs."""
    from model.checkpoint import load_checkpoint

    parent = tmp_path / "parent.weights.h5"
    save_checkpoint(tiny_model, parent, ModelCard(version="tiny-v1", preset="tiny", config={}))
    runs, progress = [], []
    result = finetune(parent, project(3), tmp_path / "child.weights.h5", "tiny-v2",
                      FineTuneSettings(max_steps=6, time_budget_s=300, runs=2, holdout_fraction=0),
                      on_progress=lambda log: progress.append(log.step),
                      on_run=lambda run, weights: runs.append((run, weights)))
    card = read_card(result.weights_path)
    assert [run for run, _ in runs] == [0, 1]
    assert card.training["runs"] == 2 and card.training["steps"] == result.steps == 6
    assert progress == sorted(progress) and progress[-1] == 6, progress
    (_, first), (_, second) = runs
    parent_weights = tiny_model.get_weights()
    moved = [i for i, (a, b) in enumerate(zip(first, parent_weights, strict=True)) if not np.allclose(a, b)]
    assert moved, "a run changes some weights"
    assert any(not np.allclose(first[i], second[i]) for i in moved), "the runs start from the parent, other orders"
    child = load_checkpoint(result.weights_path)[0].get_weights()
    for i in moved:
        np.testing.assert_allclose(child[i], (first[i] + second[i]) / 2, rtol=1e-5, atol=1e-7)


@pytest.mark.slow
def test_refit_trains_again_on_every_image_and_keeps_the_judged_childs_decisions(tiny_model, tmp_path):
    """With `refit`, the judged child (trained on 3 images, judged on 2) is trained again from the parent on all 5;
    the checkpoint holds the refit weights with the judged child's threshold, frame and bank decisions, the card's
    held-out figures stay the judged child's, and progress goes on counting after the first run's steps."""
    from model.checkpoint import load_checkpoint

    parent = tmp_path / "parent.weights.h5"
    save_checkpoint(tiny_model, parent, ModelCard(version="tiny-v1", preset="tiny", config={}))
    judged, progress = [], []
    result = finetune(parent, project(5), tmp_path / "child.weights.h5", "tiny-v2",
                      FineTuneSettings(max_steps=6, time_budget_s=300, holdout_fraction=0.4, refit=True),
                      on_progress=lambda log: progress.append(log.step),
                      on_judged=lambda model: judged.append((model.get_weights(), model.config)))
    card = read_card(result.weights_path)
    assert result.train_images == 3 and result.holdout_images == 2
    assert card.training["refit"] == {"images": 5, "steps": 6, "train_seconds": card.training["refit"]["train_seconds"]}
    assert card.training["settings"]["refit"] is True and card.metrics["holdout"]["new"]["effort"] >= 0
    assert progress == [5, 6, 11, 12], progress
    assert "trained again on every accepted image (refit)" in result.effort_gate()[1]
    [(judged_weights, judged_config)] = judged
    model, _ = load_checkpoint(result.weights_path)
    assert model.config.detection_min_confidence == judged_config.detection_min_confidence \
        == card.training["score_threshold"]["value"]
    assert model.config.detection_bank_answers == judged_config.detection_bank_answers
    assert model.config.detection_skip_border == judged_config.detection_skip_border
    moved = [i for i, (a, b) in enumerate(zip(judged_weights, tiny_model.get_weights(), strict=True))
             if not np.allclose(a, b)]
    assert moved and any(not np.allclose(model.get_weights()[i], judged_weights[i]) for i in moved), \
        "the refit child is another run, not the judged child"


@pytest.mark.slow
def test_refit_with_nothing_held_out_trains_once(tiny_model, tmp_path):
    parent = tmp_path / "parent.weights.h5"
    save_checkpoint(tiny_model, parent, ModelCard(version="tiny-v1", preset="tiny", config={}))
    judged = []
    result = finetune(parent, project(1), tmp_path / "child.weights.h5", "tiny-v2",
                      FineTuneSettings(max_steps=3, time_budget_s=300, refit=True), on_judged=judged.append)
    assert judged == [] and read_card(result.weights_path).training["refit"] is None and result.steps == 3
    assert "refit" not in result.effort_gate()[1]
