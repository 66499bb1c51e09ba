"""Shifted copies of held-out images (`model.training.holdout_shift`) and the recipe's calibration on them."""

import numpy as np
import pytest
from project_scenes import HEIGHT, WIDTH, project

from model.training.holdout_shift import (
    DEFOCUS_SIGMA,
    DIM_BRIGHTNESS,
    DIM_CONTRAST,
    NETWORK_SIDE,
    SHIFTS,
    defocus,
    dim,
    with_shifted_copies,
)


def test_dim_flattens_towards_the_mean_then_darkens():
    image = np.zeros((4, 4, 3), np.uint8)
    image[:2] = 200
    image[2:] = 100  # mean 150
    out = dim(image)
    assert out.dtype == np.uint8 and out.shape == image.shape
    expected_bright = round(((200 - 150) * DIM_CONTRAST + 150) * DIM_BRIGHTNESS)
    expected_dark = round(((100 - 150) * DIM_CONTRAST + 150) * DIM_BRIGHTNESS)
    assert (out[:2] == expected_bright).all() and (out[2:] == expected_dark).all()
    assert out.std() < image.std() and out.mean() < image.mean()


@pytest.mark.parametrize("long_side", [NETWORK_SIDE, 2 * NETWORK_SIDE])
def test_defocus_spreads_a_point_by_sigma_scaled_to_the_network_input(long_side):
    image = np.zeros((long_side // 2, long_side, 3), np.uint8)
    centre = (long_side // 4, long_side // 2)
    image[centre] = 255
    out = defocus(image)[..., 0].astype(np.float64)
    assert out.shape == image.shape[:2] and out[centre] < 255
    row = out[centre[0]]
    positions = np.arange(row.size) - centre[1]
    sigma = np.sqrt((row * positions**2).sum() / row.sum())
    assert sigma == pytest.approx(DEFOCUS_SIGMA * long_side / NETWORK_SIDE, rel=0.1)


def test_each_held_out_image_gets_one_copy_per_shift_with_the_same_objects():
    held_out = project(2, group="clip-1")
    shifted = with_shifted_copies(held_out)
    assert shifted.categories == held_out.categories
    assert len(shifted.images) == len(held_out.images) * (1 + len(SHIFTS))
    assert shifted.images[: len(held_out.images)] == held_out.images
    copies = shifted.images[len(held_out.images):]
    assert [c.image_id for c in copies] == [f"{i.image_id}~{name}" for name, _ in SHIFTS for i in held_out.images]
    originals = {i.image_id: i for i in held_out.images}
    for copy in copies:
        original = originals[copy.image_id.split("~")[0]]
        assert copy.instances is original.instances and copy.group == "clip-1"
        pixels, before = copy.load_image(), original.load_image()
        assert pixels.shape == (HEIGHT, WIDTH, 3) and not np.array_equal(pixels, before)


@pytest.mark.slow
def test_the_recipe_calibrates_on_the_slice_and_its_shifted_copies_when_asked(tiny_model, monkeypatch):
    """`judge_child` with `shifted_calibration` chooses the threshold of a judgement over the held-out slice and its
    copies (3 x the images), and without it over the slice alone; the judgement it returns is the slice's."""
    import model.training.holdout_effort as holdout_effort
    from common.settings import Settings
    from model.training.finetune import judge_child

    judged_counts = []
    judge = holdout_effort.judge_on_holdout

    def counting(predictor, holdout, train, settings, **options):
        judged_counts.append(len(holdout.images))
        return judge(predictor, holdout, train, settings, **options)

    monkeypatch.setattr(holdout_effort, "judge_on_holdout", counting)
    monkeypatch.setattr(tiny_model, "config", tiny_model.config)  # judge_child sets it: restored after the test
    data = project(3)
    train, holdout = data.images[:2], data.images[2:]
    train_set, holdout_set = (type(data)(data.categories, images, "p") for images in (train, holdout))
    plain, _, plain_calibration, _ = judge_child(tiny_model, "v", holdout_set, train_set, Settings(),
                                              shifted_calibration=False)
    assert judged_counts == [1]
    shifted, _, calibration, _ = judge_child(tiny_model, "v", holdout_set, train_set, Settings(),
                                          shifted_calibration=True)
    assert judged_counts == [1, 1, 3]  # the copies' judgement is given all 3 images, and answers the 2 copies only
    assert shifted.instances() == plain.instances() == 4  # the slice's figures, not the copies'
    whole = judge(_predictor(tiny_model), with_shifted_copies(holdout_set), train_set, Settings())
    assert calibration.threshold == whole.calibrate().threshold == tiny_model.config.detection_min_confidence
    assert plain_calibration.threshold == plain.calibrate().threshold


def _predictor(model):
    from model.predictor import Predictor

    return Predictor(model, version="v", fold_batch_norm=True)


def test_a_judgement_of_the_copies_alone_combined_with_the_slices_is_the_judgement_of_both(tiny_model):
    """`skip_first` leaves the slice's trials out, planned as in a judgement of everything, and `combined` adds the
    slice's judgement back: the same counts, efforts and threshold as judging the slice and its copies at once."""
    from common.settings import Settings
    from model.training.holdout_effort import HoldoutJudgement, judge_on_holdout

    data = project(4)
    train_set, holdout_set = (type(data)(data.categories, images, "p") for images in (data.images[:2], data.images[2:]))
    predictor, everything = _predictor(tiny_model), with_shifted_copies(holdout_set)
    whole = judge_on_holdout(predictor, everything, train_set, Settings())
    part = judge_on_holdout(predictor, holdout_set, train_set, Settings())
    copies = judge_on_holdout(predictor, everything, train_set, Settings(), skip_first=len(holdout_set.images))
    assert copies.instances() == 2 * part.instances()
    combined = part.combined(copies)
    assert combined.efforts() == whole.efforts() and combined.instances() == whole.instances()
    for mode, rows in whole.summaries.items():
        for mine, theirs in zip(combined.summaries[mode], rows, strict=True):
            assert {k: mine[k] for k in ("deletions", "misses", "right", "trials")} == {
                k: theirs[k] for k in ("deletions", "misses", "right", "trials")}
    assert combined.calibrate() == whole.calibrate()
    assert part.combined(None) is part
    with pytest.raises(ValueError, match="different sweeps"):
        part.combined(HoldoutJudgement((0.5,), copies.summaries))
