"""bench.effort_curve: the table (one row per k, both modes, the gate's verdict) and the droplets split by clip."""

from pathlib import Path

import pytest

from bench.effort_curve import (
    DEFAULT_JUDGED,
    DROPLETS_ACCEPTED_CLIPS,
    DROPLETS_JUDGED_CLIPS,
    SetAbsent,
    clip_split,
    load_droplets,
    markdown,
    plot,
)


def test_markdown_has_one_row_per_k_with_both_modes():
    row = {"effort": 0.9, "errors_per_instance": 0.5, "recall": 0.75, "precision": None}
    report = {"measured": "2026-12-04T00:00:00Z", "checkpoint": "ck", "datasets": {"toy": [
        {"k": 0, "threshold": 0.5, "interactive": row},
        {"k": 2, "threshold": 0.95, "interactive": row, "bank": row, "steps": 80, "finetune_seconds": 100.0,
         "gate": False, "holdout_split": {"holdout_images": 2, "groups": 3, "holdout_groups": 1, "disjoint": True},
         "served": {"version": "parent", "interactive": {"errors_per_instance": 0.31},
                    "bank": {"errors_per_instance": 0.42}}},
        {"k": 5, "threshold": 0.9, "interactive": row, "gate": True,
         "holdout_split": {"holdout_images": 1, "groups": 1, "disjoint": False}},
    ]}}
    lines = markdown(report).splitlines()
    assert "## toy" in lines
    rows = [line for line in lines if line[:4] in ("| 0 ", "| 2 ", "| 5 ")]
    assert rows[0].startswith("| 0 | 0.5 | 0.90 | 0.50 | 75% | – | – |") and rows[0].endswith("| – | – |")
    assert rows[1].endswith("| 80 | 100.0 | 2 images = 1 of 3 groups | refused: the parent serves 0.31 / 0.42 |")
    assert "| 0.50 | 75% | – | 80" in rows[1]
    assert rows[2].endswith("| 1 image, not disjoint (1 group) | pass |")


def _toy(clips):
    from model.data.annotations import AnnotatedImage, Dataset

    images = tuple(AnnotatedImage(str(i), Path(f"{i}.jpg"), 8, 8) for i in range(len(clips)))
    return Dataset(("droplet",), images, "droplets"), {str(i): clip for i, clip in enumerate(clips)}


def _clips(images, clip_of):
    return {clip_of[image.image_id] for image in images}


def test_clip_split_accepts_clips_1_to_4_and_judges_clips_5_to_8():
    dataset, clip_of = _toy([1, 2, 3, 4, 5, 6, 7, 8] * 3)
    split = clip_split(dataset, clip_of, judged_count=10, seed=0)
    assert _clips(split.candidates, clip_of) <= {1, 2, 3, 4} and len(split.candidates) == 12
    assert _clips(split.judged.images, clip_of) <= {5, 6, 7, 8} and len(split.judged.images) == 10
    assert split.accepted(5).images == split.candidates[:5] and split.accepted(0) is None
    again = clip_split(dataset, clip_of, judged_count=10, seed=0)
    assert again.judged.images == split.judged.images  # fixed for every k and every run


def test_clip_split_refuses_overlapping_clips_and_frames_without_a_clip():
    dataset, clip_of = _toy([1, 5])
    with pytest.raises(ValueError, match="both accepted and judged"):
        clip_split(dataset, clip_of, 1, 0, accepted_clips=(1, 5), judged_clips=(5,))
    with pytest.raises(ValueError, match="carry no clip"):
        clip_split(dataset, {"0": 1}, 1, 0)


def test_the_real_clip_split_never_judges_an_accepted_clip(droplets_dir):
    """On `../shared/data/droplets` (skips with the reason when absent): the split the curve runs, no model."""
    dataset, clip_of = load_droplets(droplets_dir)
    split = clip_split(dataset, clip_of, DEFAULT_JUDGED, seed=0)
    assert _clips(split.candidates, clip_of) == set(DROPLETS_ACCEPTED_CLIPS)
    assert _clips(split.judged.images, clip_of) == set(DROPLETS_JUDGED_CLIPS)
    assert {i.image_id for i in split.candidates}.isdisjoint(i.image_id for i in split.judged.images)
    assert len(split.candidates) >= 10 and len(split.judged.images) == DEFAULT_JUDGED


def test_a_missing_droplets_set_raises_set_absent_with_its_path(tmp_path):
    with pytest.raises(SetAbsent, match="annotations.json is absent"):
        load_droplets(tmp_path)


def test_an_absent_droplets_set_is_skipped_with_its_reason(tmp_path, capsys):
    from bench.effort_curve import main

    assert main(["--datasets", "droplets", "--droplets-dir", str(tmp_path / "none"), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "## droplets" in printed and "Skipped: " in printed and "annotations.json is absent" in printed


def test_plot_draws_errors_per_instance_against_k(tmp_path):
    pytest.importorskip("matplotlib")
    row = {"errors_per_instance": 0.5}
    report = {"checkpoint": "ck", "datasets": {"toy": [{"k": 0, "interactive": row},
                                                       {"k": 5, "interactive": row, "bank": row}]}}
    assert plot(report, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_recipe_overrides_reach_the_report_and_its_table(tmp_path):
    """`--time-budget-s/--max-steps/--layers` change the recipe for a study; the report says so, the default says
    nothing (an absent set still writes the report, so no training runs here)."""
    import json

    from bench.effort_curve import main

    out = tmp_path / "budget"
    assert main(["--datasets", "droplets", "--droplets-dir", str(tmp_path / "none"), "--out", str(out),
                 "--time-budget-s", "600", "--max-steps", "600"]) == 0
    report = json.loads((out / "effort_curve.json").read_text())
    printed = markdown({"measured": "m", "checkpoint": "ck", "datasets": {},
                        "recipe_overrides": {"time_budget_s": 600.0, "max_steps": 600}})
    assert 'Recipe changed from the Train button\'s defaults: `{"time_budget_s": 600.0, "max_steps": 600}`' in printed
    assert "Recipe changed" not in markdown({"measured": "m", "checkpoint": "ck", "datasets": {}})
    assert report["recipe_overrides"] == {"time_budget_s": 600.0, "max_steps": 600}
    assert report["skipped"]["droplets"].endswith("elsewhere)") and report["datasets"] == {}


def _tile_dataset(count: int):
    import numpy as np

    from model.data.annotations import AnnotatedImage, Dataset, InstanceAnnotation

    images = []
    for seed in range(count):
        pixels = np.random.default_rng(seed).integers(0, 40, (96, 128, 3), dtype=np.uint8)
        instances = []
        for i in range(3):
            x, y = 8 + 38 * i, 10 + 20 * ((i + seed) % 2)
            pixels[y:y + 24, x:x + 24] = (230, 200, 40)
            square = np.array([[x, y], [x + 24, y], [x + 24, y + 24], [x, y + 24]], np.float32)
            instances.append(InstanceAnnotation(0, "tile", np.array([x, y, x + 24, y + 24], np.float32), (square,)))
        images.append(AnnotatedImage(str(seed), lambda p=pixels: p, 96, 128, tuple(instances)))
    return Dataset(("tile",), tuple(images), "tiles")


@pytest.mark.slow
def test_measure_counts_each_mode_at_its_threshold_and_over_the_sweep(tmp_path):
    import keras

    from bench.effort_curve import measure
    from model.builder import build_model
    from model.checkpoint import ModelCard, save_checkpoint
    from model.evaluation.calibration import SWEEP
    from model.presets import get_preset

    keras.utils.set_random_seed(0)
    weights = tmp_path / "tiny.weights.h5"
    save_checkpoint(build_model(get_preset("tiny")), weights, ModelCard(version="tiny", preset="tiny", config={}))
    out = measure(weights, _tile_dataset(2), _tile_dataset(3))
    assert out["threshold"] == 0.5 and out["sweep"]["thresholds"] == list(SWEEP)
    at = SWEEP.index(0.5)
    for mode in ("interactive", "bank"):
        sweep = out["sweep"][mode]
        assert len(sweep) == len(SWEEP) and all(value >= 0 for value in sweep)
        assert sweep[at] == out[mode]["errors_per_instance"]  # one answer, counted at each threshold
    assert out["interactive"]["trials"] == 2 and out["bank"]["trials"] == 2
