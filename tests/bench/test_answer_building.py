"""bench.answer_building: the synthetic masks and one tiny run (no timing is asserted)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.answer_building import STAGES, main, make_masks, render_markdown, run


@pytest.mark.parametrize("kind", ["ellipse", "blotchy"])
def test_masks_are_seeded_and_inside_the_image(kind):
    masks = make_masks((48, 64), 5, kind, seed=3)
    assert masks.shape == (5, 48, 64) and masks.dtype == bool
    assert all(mask.any() for mask in masks)
    assert np.array_equal(masks, make_masks((48, 64), 5, kind, seed=3))


def test_unknown_mask_kind_is_refused():
    with pytest.raises(ValueError, match="ellipse"):
        make_masks((8, 8), 1, "square")


def test_a_tiny_run_times_every_stage_and_renders(tmp_path, capsys):
    results = run(sides=(64,), count=3, repeats=1)
    stages = results["sizes"]["64x48"]["blotchy"]
    assert set(stages) == set(STAGES) and all(s["median"] >= 0 for s in stages.values())
    assert "| 64x48 | ellipse |" in render_markdown(results)
    assert (
        main(["--sides", "64", "--instances", "2", "--repeats", "1", "--json", str(tmp_path / "r.json")]) == 0
    )
    assert (tmp_path / "r.json").exists() and "| 64x48 | blotchy |" in capsys.readouterr().out
