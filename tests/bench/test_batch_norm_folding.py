"""bench.batch_norm_folding: the before / after comparison times both predictors and measures how far outputs moved."""

from __future__ import annotations

from bench.batch_norm_folding import STAGES, compare, render_markdown


def test_compare_times_every_stage_both_ways_and_the_outputs_barely_move():
    row = compare("tiny", 128, "float32", repeats=1)
    for stage in STAGES:
        before, after = row[stage]["before"], row[stage]["after"]
        assert before["median"] > 0 and after["median"] > 0
        assert row[stage]["ratio"] == round(after["median"] / before["median"], 3)
    change = row["max_change"]
    assert change["p2_relative"] < 1e-4 and change["reference_relative"] < 1e-4
    table = render_markdown([row])
    assert "tiny@128 float32" in table and table.count("\n") == 3
