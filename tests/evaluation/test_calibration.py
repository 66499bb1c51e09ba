"""Calibrated defaults: the threshold choice alone, then `python -m model calibrate` on a tiny set and checkpoint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from effort_scenes import write_coco_set

from model.evaluation.calibration import SWEEP, TIE_EFFORT, choose_threshold, noise_tie, tie_for

REPO = Path(__file__).resolve().parents[2]


def test_the_lowest_mean_effort_over_the_sets_wins():
    chosen = choose_threshold([0.3, 0.5, 0.7], {"a": [0.9, 0.5, 0.8], "b": [0.7, 0.6, 0.6]})
    assert chosen.threshold == 0.5 and chosen.mean_effort == pytest.approx((0.8, 0.55, 0.7))


def test_near_ties_go_to_the_higher_threshold_suggesting_less():
    near = 0.5 + TIE_EFFORT / 2
    assert choose_threshold([0.5, 0.7, 0.9], {"a": [0.5, near, 0.8]}).threshold == 0.7
    assert choose_threshold([0.9, 0.7, 0.5], {"a": [0.8, near, 0.5]}).threshold == 0.7  # any order
    assert choose_threshold([0.9, 0.7, 0.5], {"a": [0.8, near, 0.5]}).ties() == (0.7, 0.5)  # in the sweep's order


def test_the_ties_are_every_threshold_within_the_margin_and_the_chosen_is_their_highest():
    efforts = {"a": [0.3, 0.2, 0.22, 0.2 + 1 / 30, 0.4]}
    chosen = choose_threshold([0.3, 0.4, 0.5, 0.6, 0.7], efforts, tie=tie_for(30))
    assert chosen.ties() == (0.4, 0.5, 0.6) and chosen.threshold == max(chosen.ties())
    assert choose_threshold([0.3, 0.4, 0.5, 0.6, 0.7], efforts).ties() == (0.4,)


def test_the_middle_tie_break_takes_the_median_of_the_ties():
    thresholds = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    flat = {"a": [0.5, 0.2, 0.2, 0.2, 0.2, 0.2, 0.21]}  # 0.4-0.9 tied within 0.05
    assert choose_threshold(thresholds, flat, tie=0.05).threshold == 0.9
    middle = choose_threshold(thresholds, flat, tie=0.05, tie_break="middle")
    assert middle.ties() == (0.4, 0.5, 0.6, 0.7, 0.8, 0.9) and middle.threshold == 0.7  # even: the higher middle one
    assert middle.to_dict()["tie_break"] == "middle"
    odd = choose_threshold(thresholds[::-1], {"a": [0.3, 0.2, 0.2, 0.2, 0.2, 0.5, 0.6]}, tie=0.05, tie_break="middle")
    assert odd.ties() == (0.8, 0.7, 0.6, 0.5) and odd.threshold == 0.7  # any order
    alone = choose_threshold(thresholds, {"a": [0.5, 0.4, 0.1, 0.4, 0.4, 0.4, 0.4]}, tie_break="middle")
    assert alone.threshold == 0.5  # no tie: the best alone, whatever the tie break
    with pytest.raises(ValueError, match="use one of highest, middle"):
        choose_threshold(thresholds, flat, tie_break="lowest")


def test_a_small_set_ties_within_one_action_of_the_best():
    assert tie_for(30) == pytest.approx(1 / 30) and tie_for(10_000) == TIE_EFFORT
    with pytest.raises(ValueError, match="at least one instance"):
        tie_for(0)
    efforts = {"interactive": [0.2, 0.22, 0.26], "bank": [0.2, 0.22, 0.26]}
    assert choose_threshold([0.35, 0.65, 0.9], efforts).threshold == 0.35  # the default margin: 0.2 wins alone
    chosen = choose_threshold([0.35, 0.65, 0.9], efforts, tie=tie_for(30))
    assert chosen.threshold == 0.65 and chosen.to_dict()["tie_effort"] == 1 / 30
    one_action = {"a": [6 / 30, 7 / 30, 8 / 30]}  # exactly one action apart: a tie, whatever the rounding
    assert choose_threshold([0.35, 0.65, 0.9], one_action, tie=tie_for(30)).threshold == 0.65


def test_a_held_out_slice_calibrates_with_the_margin_of_its_own_size():
    from model.training.holdout_effort import HoldoutJudgement

    def rows(efforts, instances):
        return [{"effort": e, "instances": instances} for e in efforts]

    judgement = HoldoutJudgement((0.35, 0.65, 0.9), {"interactive": rows([0.2, 0.22, 0.3], 20),
                                                     "bank": rows([0.2, 0.22, 0.3], 30)})
    assert judgement.instances() == 30
    assert judgement.calibrate().threshold == 0.65  # 0.02 apart: less than one action on 30 objects
    assert judgement.calibrate("middle").threshold == 0.65  # ties 0.35 and 0.65: the higher of the two middle ones
    big = HoldoutJudgement((0.35, 0.65, 0.9), {"bank": rows([0.2, 0.22, 0.3], 1000)})
    assert big.calibrate().threshold == 0.35  # on 1000 objects 0.02 is 20 actions


def test_preferred_thresholds_win_among_the_ties_only():
    thresholds = [0.3, 0.4, 0.5, 0.6, 0.7]
    flat = {"a": [0.2, 0.2, 0.2, 0.2, 0.5]}  # 0.3-0.6 tied
    chosen = choose_threshold(thresholds, flat, tie=0.01, tie_break="middle", prefer=[True, True, False, False, True])
    assert chosen.threshold == 0.4 and chosen.to_dict()["preferred"] == [True, True, False, False, True]
    # 0.7 is preferred but not a tie; no tie preferred: the ties as without a preference
    assert choose_threshold(thresholds, flat, tie=0.01, tie_break="middle",
                            prefer=[False, False, False, False, True]).threshold == 0.5
    assert "preferred" not in choose_threshold(thresholds, flat).to_dict()
    with pytest.raises(ValueError, match="2 preferences for 5 thresholds"):
        choose_threshold(thresholds, flat, prefer=[True, False])


def test_the_noise_of_a_small_slice_is_about_the_square_root_of_effort_over_objects():
    assert noise_tie(0.1, 10) == pytest.approx(0.1) and noise_tie(0.2, 80) == pytest.approx(0.05)
    assert noise_tie(0.0, 10) == 0.0 and noise_tie(-0.01, 10) == 0.0
    with pytest.raises(ValueError, match="at least one instance"):
        noise_tie(0.2, 0)


def test_step_five_ties_as_wide_as_the_slice_noise_and_prefers_where_the_bank_pays():
    from model.training.holdout_effort import HoldoutJudgement, step_five_calibration

    thresholds = (0.5, 0.6, 0.7, 0.8, 0.9)

    def rows(efforts, instances=10):
        return [{"effort": e, "instances": instances} for e in efforts]

    # 10 objects: one action is 0.1, the noise of the lowest mean effort (0.7) about 0.26
    means = [0.9, 0.85, 0.82, 0.75, 0.7]
    judgement = HoldoutJudgement(thresholds, {"interactive": rows(means), "bank": rows(means)})
    assert judgement.calibrate("middle").ties() == (0.8, 0.9) and judgement.calibrate("middle").threshold == 0.9
    wide = step_five_calibration(judgement, None, "middle")
    assert wide.tie == pytest.approx(noise_tie(0.7, 10)) and wide.ties() == thresholds and wide.threshold == 0.7
    assert step_five_calibration(judgement, None, "middle", wide_ties=False) == judgement.calibrate("middle")
    # the bank pays only at 0.5 and 0.6 (its effort below 1.0): among the ties those are preferred
    bank = [0.9, 0.95, 1.0, 1.0, 1.0]
    paying = HoldoutJudgement(thresholds, {"interactive": rows([2 * m - b for m, b in zip(means, bank, strict=True)]),
                                           "bank": rows(bank)})
    assert paying.bank_pays() == (True, True, False, False, False)
    from model.training.holdout_effort import bank_effort_pays

    assert bank_effort_pays(0.9999) and not bank_effort_pays(0.99996)  # as the card rounds it: 1.0 does not pay
    assert step_five_calibration(paying, None, "middle").threshold == 0.6
    # copies count as objects for the one-action margin but not for the noise: the slice's own objects
    def counted(efforts, instances):
        from model.evaluation.effort import EffortSummary

        return [EffortSummary(trials=1, instances=instances, references=0, suggestions=round(e * instances),
                              dropped=0, right=0, deletions=round(e * instances), misses=0,
                              deletions_by_kind={}).to_dict() for e in efforts]

    means = [0.9, 0.85, 0.8, 0.75, 0.7]
    slice_ = HoldoutJudgement(thresholds, {"bank": counted(means, 20)})
    copies = HoldoutJudgement(thresholds, {"bank": counted(means, 40)})
    pooled = step_five_calibration(slice_, copies, "middle")
    assert pooled.tie == pytest.approx(noise_tie(0.7, 20)) and pooled.tie > tie_for(60)


def test_mismatched_or_missing_sweeps_are_refused():
    with pytest.raises(ValueError, match="at least one"):
        choose_threshold([0.5], {})
    with pytest.raises(ValueError, match="2 efforts for 3 thresholds"):
        choose_threshold([0.3, 0.5, 0.7], {"a": [0.1, 0.2]})


def test_calibrate_writes_a_checkpoint_that_answers_with_the_chosen_threshold(tmp_path):
    import keras

    from model.builder import build_model
    from model.checkpoint import ModelCard, load_checkpoint, read_card, save_checkpoint
    from model.presets import get_preset

    keras.utils.set_random_seed(0)
    model = build_model(get_preset("tiny"))
    source = save_checkpoint(model, tmp_path / "tiny.weights.h5", ModelCard("tiny-v1", "tiny", {}))
    data = write_coco_set(tmp_path / "set")
    out = tmp_path / "tiny-calibrated.weights.h5"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, "-m", "model", "calibrate", "--checkpoint", str(source), "--on", str(data), "coco", "all",
         "--set", "reference_dihedral=true", "--version", "tiny-v1-cal", "--precision", "bfloat16", "--out", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    card = read_card(out)
    calibration = card.metrics["calibration"]
    assert card.version == "tiny-v1-cal" and card.parent == "tiny-v1"
    assert calibration["threshold"] in SWEEP and calibration["config_changes"] == {"reference_dihedral": True}
    assert len(calibration["efforts"]["annotations.json:all"]) == len(SWEEP)
    loaded, _ = load_checkpoint(out)
    assert loaded.config.detection_min_confidence == calibration["threshold"]
    assert loaded.config.reference_dihedral is True
    # The sweep answered in the service's precision (here bfloat16); the copy written keeps the float32 weights.
    assert calibration["precision"] == "bfloat16"
    assert all(w.dtype == "float32" for w in loaded.weights)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True))
    bad = subprocess.run([sys.executable, "-m", "model", "calibrate", "--checkpoint", str(source), "--on", str(data),
                          "coco", "split-x", "--out", str(tmp_path / "x.weights.h5")],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert bad.returncode != 0 and "'all' or 'split-N'" in bad.stderr
