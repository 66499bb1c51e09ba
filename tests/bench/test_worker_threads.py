"""bench.worker_threads: which settings it compares, and its table (the measurement itself needs the real service)."""

from __future__ import annotations

from bench.worker_threads import _settings, render_markdown


def test_each_worker_count_runs_with_the_default_and_with_its_share_of_the_cores():
    assert [(workers, threads) for _, workers, threads in _settings(2)] == [(1, 0), (1, 2), (2, 0), (2, 1)]
    assert [threads for _, _, threads in _settings(1)] == [0, 1, 0, 1]  # never zero threads for a share


def test_the_table_has_one_row_per_setting_and_cold_latency_for_one_worker_only():
    stats = {"median": 0.2, "min": 0.1, "max": 0.3, "n": 2}
    rows = {name: {"images_per_s": {"median": 8.0, "min": 7.5, "max": 8.5, "n": 2},
                   **({"cold_s": stats} if workers == 1 else {})} for name, workers, _ in _settings(2)}
    result = {"cores": 2, "precision": "bfloat16", "rounds": 2, "images_per_round": 16, "rows": rows,
              "ratios": {"pinned_over_default_1_worker": 1.0, "pinned_over_default_2_workers": 1.09,
                         "two_over_one_default": 1.3, "two_over_one_pinned": 1.4}}
    table = render_markdown(result)
    assert table.count("| 1 worker(s)") == 2 and table.count("| 2 worker(s)") == 2
    assert "| 200 (100-300) |" in table and table.count("| - |") == 2
    assert "2 workers **1.09**" in table
