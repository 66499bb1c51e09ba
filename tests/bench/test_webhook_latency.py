"""`python -m bench.webhook_latency` on a real backend and Redis: it measures both ways and leaves the queue alone.

Timings are reported, never asserted (the behaviour they stand for is tested in tests/backend/test_http.py).
"""

from __future__ import annotations

import json

from bench.webhook_latency import main


def test_measures_idle_and_busy_writes_both_files_and_the_queue_keeps_its_jobs(tmp_path):
    assert main(["--queued", "7", "--repeats", "2", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "webhook_latency.json").read_text())
    assert report["queued"] == report["queue_after"] == 7
    assert report["idle"]["n"] == report["busy"]["n"] == 2
    assert 0 < report["idle"]["min"] <= report["idle"]["median"] <= report["idle"]["max"]
    assert report["busy_over_idle"] > 0 and "measured" in report
    table = (tmp_path / "webhook_latency.md").read_text()
    assert table.startswith("| queue |") and "| 7 interactive jobs waiting |" in table
